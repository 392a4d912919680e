"""`python -m bench.report`: a results file that cannot be read is one line and exit 2, not a traceback."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[2]))  # the repository: bench/ is no installed package
from bench import report


def test_an_unreadable_results_file_is_one_line(tmp_path, capsys):
    bad = tmp_path / "r.json"
    bad.write_text("{not json")
    for path in (str(tmp_path / "missing.json"), str(bad)):
        assert report.main([path]) == 2
        err = capsys.readouterr().err
        assert err.startswith("bench.report: cannot read ") and err.count("\n") == 1, err


def test_help_is_help_not_a_results_file(capsys):
    with pytest.raises(SystemExit) as exit_:
        report.main(["--help"])
    assert exit_.value.code == 0 and "results" in capsys.readouterr().out
