"""The one place errors meet the user (cli/exits.py): one line, the right
exit code, never a traceback unless asked for."""

import pytest

from nsnet.cli.exits import exit_code
from nsnet.errors import Conflict, InvalidInput, KernelError, NotFound, PermissionDenied, RollbackError


@pytest.mark.parametrize("exc,code", [
    (InvalidInput("bad"), 2), (NotFound("bad"), 3), (Conflict("bad"), 4), (PermissionDenied("bad"), 5),
    (KernelError("bad", 17), 6), (RollbackError("bad"), 7), (PermissionError(1, "Operation not permitted"), 5),
    (FileNotFoundError(2, "No such file or directory"), 1), (ValueError("bad"), 1),
])
def test_one_line_and_its_code(capsys, monkeypatch, exc, code):
    monkeypatch.delenv("NSNET_DEBUG", raising=False)
    assert exit_code(exc) == code
    err = capsys.readouterr().err
    assert err.startswith("nsnet: error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_a_bug_says_so_and_shows_its_traceback_only_when_asked(capsys, monkeypatch):
    def boom():
        raise KeyError("x")

    try:
        boom()
    except KeyError as exc:
        monkeypatch.delenv("NSNET_DEBUG", raising=False)
        assert exit_code(exc) == 1
        assert "unexpected KeyError" in capsys.readouterr().err
        monkeypatch.setenv("NSNET_DEBUG", "1")
        assert exit_code(exc) == 1
        assert "Traceback" in capsys.readouterr().err


def test_a_commands_own_exit_code_passes(capsys):
    assert [exit_code(SystemExit(c)) for c in (0, 7, None, "text")] == [0, 7, 0, 1]
    assert exit_code(KeyboardInterrupt()) == 130
    assert capsys.readouterr().out == ""
