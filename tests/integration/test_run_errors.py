"""Bad input to run / logs / stop: one line on stderr, a non-zero exit, and
nothing left over (kernel, store, process records)."""

import os

import pytest

from .helpers import wait_until
from .run_support import cli, ps, record, running_host
from .snapshot import full_snapshot

rhost = pytest.fixture(running_host)


@pytest.fixture
def lan(rhost):
    cli(rhost, "network", "create", "lan", "--subnet", "10.95.0.0/24", check=True)
    cli(rhost, "sandbox", "create", "existing", check=True)
    return rhost


def everything(h) -> dict:
    return {**full_snapshot(h), "records": sorted(os.listdir(os.path.join(h.state_dir, "processes")))
            if os.path.isdir(os.path.join(h.state_dir, "processes")) else []}


@pytest.fixture
def bad_exe(tmp_path):
    path = tmp_path / "not-a-program"
    path.write_bytes(b"\x00\x01 not an executable format")
    path.chmod(0o755)
    return str(path)


CASES = [
    (["run", "--sandbox", "nope", "--", "true"], 3, "sandbox 'nope' not found"),
    (["run", "--network", "nonet", "--", "true"], 3, "network 'nonet' not found"),
    (["run", "--network", "lan", "--", "no-such-command-xyz"], 127, "no-such-command-xyz: command not found"),
    (["run", "--env", "NOEQUALS", "--", "true"], 2, "expected KEY=VALUE"),
    (["run", "--env", "1X=y", "--", "true"], 2, "not a valid variable name"),
    (["run", "--log-max-size", "lots", "--", "true"], 2, "expected a size"),
    (["run", "--workdir", "/no/such/dir", "--", "true"], 3, "is not a directory"),
    (["run", "--rm", "--sandbox", "existing", "--", "true"], 2, "cannot be used with --sandbox"),
    (["run", "--network", "lan", "--sandbox", "existing", "--", "true"], 2, "network connect"),
    (["run", "-p", "80:80", "--sandbox", "existing", "--", "true"], 2, "nsnet publish"),
    (["run", "--network", "lan", "-p", "eighty", "--", "true"], 2, "publish 'eighty'"),
    (["run", "--network", "lan", "-p", "70000:80", "--", "true"], 2, "out of range"),
    (["run", "--network", "none", "-p", "8080:80", "--", "true"], 2, "needs a network"),
    (["run", "--network", "none:10.1.0.2", "--", "true"], 2, "--network none has no addresses"),
    (["run", "--network", "none", "--network", "nonet", "--", "true"], 3, "network 'none' not found"),
    (["run", "--init", "--", "true"], 2, "--init only makes sense"),
    (["run", "--name", "existing", "--", "true"], 4, "sandbox 'existing' already exists"),
    (["run", "--name", "bad/name", "--", "true"], 2, "invalid characters"),
    (["run"], 2, None),
    (["stop", "ghost"], 3, "process 'ghost' not found"),
    (["logs", "ghost"], 3, "process 'ghost' not found"),
    (["rm", "ghost"], 3, "process 'ghost' not found"),
    (["stop", "--timeout", "-1", "ghost"], 2, "--timeout"),
]


@pytest.mark.parametrize("args,code,message", CASES, ids=[" ".join(c[0]) for c in CASES])
def test_bad_input_changes_nothing(lan, args, code, message):
    before = everything(lan)
    r = cli(lan, *args)
    assert r.returncode == code, r.stderr
    if message:
        assert r.stderr.count("\n") == 1 and r.stderr.startswith("nsnet: error: ") and message in r.stderr
    assert everything(lan) == before


@pytest.mark.parametrize("mode", [[], ["--detach"], ["--isolate-pid"], ["--detach", "--isolate-pid"]],
                         ids=["foreground", "detached", "isolated", "detached-isolated"])
def test_a_command_that_cannot_start_leaves_no_sandbox(lan, bad_exe, mode):
    """The file exists (so run creates the sandbox) but exec fails: everything is undone."""
    before = everything(lan)
    r = cli(lan, "run", *mode, "--name", "doomed", "--network", "lan", "--", bad_exe)
    assert r.returncode == 126
    assert r.stderr == f"nsnet: error: {bad_exe}: cannot execute: Exec format error\n"
    # The sandbox's namespace is gone at once; the kernel frees its veths a moment later.
    assert lan.prefix + "doomed" not in lan.sandbox_namespaces()
    assert wait_until(lambda: everything(lan) == before, timeout=10), everything(lan)


def test_a_running_name_is_not_taken_twice_and_stop_needs_a_running_process(lan):
    h = lan
    cli(h, "run", "-d", "--name", "one", "--", "sleep", "60", check=True)
    first = record(h, "one")
    before = everything(h)
    r = cli(h, "run", "-d", "--name", "one", "--sandbox", "existing", "--", "sleep", "1")
    assert r.returncode == 4 and "already running" in r.stderr
    assert everything(h) == before and record(h, "one") == first
    cli(h, "stop", "one", check=True)
    r = cli(h, "stop", "one")
    assert r.returncode == 4 and r.stderr == "nsnet: error: process 'one' is not running\n"
    # Once it exited, the name is free again (the old record and logs are replaced).
    r = cli(h, "run", "--name", "one", "--sandbox", "existing", "--", "true")
    assert r.returncode == 0 and ps(h)["one"]["sandbox"] == "existing"
