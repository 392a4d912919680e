"""Where nsnet's state lives, and the only code that reads or writes it (the
modules: docs/design.md). Import the module you need: this package's own import
stays empty, so that `nsnet ps` and the supervisor (python -I -S) load
processes.py alone.
"""
