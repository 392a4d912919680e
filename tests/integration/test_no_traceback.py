"""No input makes nsnet print a traceback or a bug report (issue #15, item 8):
every bad input of bad_inputs.py goes through the command line's own entry
point, in this process (fast: no interpreter start-up per case), against one
lab. Each answer is at most one error line on stderr with a documented exit
code, and neither the store nor the kernel changes."""

import io
import os
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nsnet.cli import table
from nsnet.cli.main import main

from .bad_inputs import ARGV, FILE_COMMANDS, FILES
from .helpers import Host
from .snapshot import kernel_snapshot
from .test_errors import CASES as CHECKED  # the same lab: their codes hold here too

ALL = ARGV + [(argv, code) for argv, code, _ in CHECKED]

BUG = "a bug: please report it"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    h = Host("tb")
    files = tmp_path_factory.mktemp("files")
    for name, data in FILES.items():
        (files / name).write_bytes(data)
    h.engine.network_create("n", subnet="10.70.0.0/24")
    h.engine.sandbox_create("red", networks=["n"])
    h.engine.sandbox_create("blue")
    h.files, h.out = files, str(files / "out")
    kernel = kernel_snapshot(h)
    try:
        yield h
        assert kernel_snapshot(h) == kernel, "a bad input changed the kernel"
    finally:
        h.destroy()


def run(lab, argv: list[str]) -> tuple[int, str]:
    """main(argv) as the installed command runs it; (exit code, stderr)."""
    saved = os.environ.get("NSNET_HOST_NETNS"), os.environ.get("NSNET_STATE_DIR"), sys.stdout, sys.stderr
    os.environ.update(NSNET_HOST_NETNS=lab.name, NSNET_STATE_DIR=lab.state_dir)
    # Streams with a byte buffer underneath, as a real process has (`logs` writes bytes).
    sys.stdout, sys.stderr = (io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="backslashreplace")
                              for _ in range(2))
    try:
        code = main(argv)
        sys.stderr.flush()
        return code, sys.stderr.buffer.getvalue().decode()
    finally:
        for key, value in zip(("NSNET_HOST_NETNS", "NSNET_STATE_DIR"), saved[:2], strict=True):
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        sys.stdout, sys.stderr = saved[2:]


def assert_refused_cleanly(lab, argv: list[str], code: int | None, may_pass: bool = False) -> None:
    before = lab.engine.store.snapshot()
    got, err = run(lab, argv)
    assert "Traceback" not in err and BUG not in err, err
    errors = [line for line in err.splitlines() if line.startswith("nsnet: error: ")]
    assert all(line.startswith(("nsnet: error: ", "nsnet: warning: ")) for line in err.splitlines()), err
    if got == 0 and may_pass:
        assert errors == []
    else:
        assert len(errors) == 1 and err.endswith("\n"), err
        assert got == code if code is not None else 1 <= got <= 9, (got, err)
    assert lab.engine.store.snapshot() == before


def _fill(argv: list[str], lab, file: str = "") -> list[str]:
    return [a.replace("{file}", file).replace("{out}", lab.out) for a in argv]


@pytest.mark.parametrize("argv,code", ALL, ids=[repr(" ".join(a))[1:-1][:50] for a, _ in ALL])
def test_bad_argv(lab, argv, code):
    assert_refused_cleanly(lab, _fill(argv, lab), code)


@pytest.mark.parametrize("name", sorted(FILES))
def test_bad_file_through_every_command(lab, name):
    """Each file through every command that reads one. A command may accept a
    file the others refuse (`down` needs only the name; `check` only what
    exists): it must then say nothing on stderr."""
    for argv in FILE_COMMANDS:
        assert_refused_cleanly(lab, _fill(argv, lab, str(lab.files / name)), None, may_pass=True)


def _commands(node, path=()):
    for name, sub in node.commands.items():
        if hasattr(sub, "handler"):
            yield (*path, name)
        else:
            yield from _commands(sub, (*path, name))


def test_every_command_has_bad_input_in_the_table():
    """A new command comes with its bad inputs (bad_inputs.py)."""
    tried = {tuple(argv[:n]) for argv, _ in ALL for n in (1, 2, 3)}
    missing = [" ".join(path) for path in _commands(table.COMMANDS) if path not in tried]
    assert missing == []


VALUES = st.one_of(st.text(max_size=20), st.sampled_from(["10.70.0.0/24", "127.0.0.0/24", "n", "red", "-", "--",
                                                          "80:80", "99999", "٨٠", "\n", "eth0", "0"]))


@given(st.sampled_from([["sandbox", "create", "{v}", "--dry-run"],
                        ["sandbox", "create", "x", "--network", "{v}", "--dry-run"],
                        ["sandbox", "create", "x", "--network", "n", "-p", "{v}", "--dry-run"],
                        ["network", "create", "{v}", "--dry-run"],
                        ["network", "create", "m", "--subnet", "{v}", "--dry-run"],
                        ["network", "create", "m", "--gateway", "{v}", "--dry-run"],
                        ["network", "connect", "n", "blue", "--ip", "{v}", "--dry-run"],
                        ["network", "connect", "n", "blue", "--alias", "{v}", "--dry-run"],
                        ["link", "add", "red", "blue", "--subnet", "{v}", "--dry-run"],
                        ["route", "add", "red", "{v}", "via", "10.70.0.1", "--dry-run"],
                        ["publish", "red", "{v}", "--dry-run"],
                        ["sandbox", "inspect", "{v}"], ["explain", "{v}"], ["port", "{v}"]]), VALUES)
def test_any_value_of_any_option(lab, argv, value):
    """Whatever a user types as a value: accepted (a dry run: nothing changes)
    or refused in one line."""
    assert_refused_cleanly(lab, [a.replace("{v}", value) for a in argv], None, may_pass=True)
