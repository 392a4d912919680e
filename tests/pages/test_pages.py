"""The anchor of the docs' tests: conftest.py collects README.md and docs/*.md
here (Sybil), so that `pytest tests` runs them. Nothing else lives here."""
