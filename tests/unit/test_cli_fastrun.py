"""The `nsnet run` fast path (cli/fastrun.py): what it parses, it parses as
click does; everything else goes to click; errors read the same."""

import inspect
import os
import subprocess
import sys

import pytest

from nsnet.cli import fastrun, main, start

SIGNATURE = inspect.signature(start.run_command)

SAME = [
    ["run", "--", "echo", "hi"],
    ["run", "echo", "hi", "-d"],
    ["run", "-d", "--", "--"],
    ["run", "-d", "x", "--", "y"],
    ["run", "--", "--", "x"],
    ["--json", "run", "-d", "--", "x"],
    ["--state-dir", "/s", "--host-netns=h", "--store", "etcd://a:1", "run", "--rm", "--", "x", "-y"],
    ["--state-dir=/s", "--json", "--state-dir", "/t", "run", "x"],
    ["run", "-d", "--name", "web", "--network", "lan", "--network=db:10.0.0.5", "-p", "8080:80",
     "--publish=9000:90/udp", "-e", "A=1", "--env", "B=2", "-w", "/tmp", "--", "socat", "-v", "STDIO"],
    ["run", "--sandbox", "sb", "--isolate-pid", "--no-init", "--log-max-size", "1M", "--log-max-files", "5", "x"],
    ["run", "--name", "a", "--name=b", "--rm", "--rm", "--detach", "x"],
    ["run", "--name=", "--workdir=", "x"],
    ["run", "--log-max-files=0", "x"],
]

TO_CLICK = [
    [], ["ps"], ["run"], ["run", "-d"], ["run", "-d", "--"], ["--json"], ["sandbox", "ls"], ["run", "--help"],
    ["run", "-h"], ["--help", "run", "x"], ["--version"], ["run", "--foo", "--", "x"], ["run", "-dp", "1:2", "x"],
    ["run", "-p8080:80", "x"], ["run", "--name", "-d", "x"], ["run", "--name"], ["run", "--name", "--", "x"],
    ["run", "--det", "x"], ["run", "-", "x"], ["run", "--log-max-files", " 3", "x"],
    ["run", "--log-max-files", "3_0", "x"], ["run", "--log-max-files", "-1", "x"], ["run", "--json", "x"],
    ["--state-dir", "run", "x"], ["--state-dir"], ["--dry-run", "run", "x"], ["logs", "run"], ["exec", "run", "x"],
    ["run", "--log-max-files=x", "x"], ["-p=1", "run", "x"], ["run", "-p=1:2", "x"],
]


def recorded(monkeypatch, module, argv_call):
    calls = []

    def record(ctx, *args, **kwargs):
        bound = SIGNATURE.bind(ctx, *args, **kwargs).arguments
        bound.pop("ctx")
        calls.append(({"host_netns": ctx.host_netns, "state_dir": ctx.state_dir, "as_json": ctx.as_json,
                       "store": ctx.store}, bound))

    monkeypatch.setattr(module, "run_command", record)
    code = argv_call()
    assert code == 0
    (call,) = calls
    return call


@pytest.fixture(autouse=True)
def no_env(monkeypatch):
    for var in ("NSNET_HOST_NETNS", "NSNET_STATE_DIR", "NSNET_STORE"):
        monkeypatch.delenv(var, raising=False)


@pytest.mark.parametrize("argv", SAME)
def test_fast_parse_equals_click(monkeypatch, argv):
    call = fastrun.parse_run(argv)
    assert call is not None
    via_click = recorded(monkeypatch, sys.modules["nsnet.cli.run"], lambda: main.main(list(argv)))
    via_fast = recorded(monkeypatch, start, lambda: fastrun.main(*call))
    assert via_fast == via_click


@pytest.mark.parametrize("argv", TO_CLICK)
def test_what_it_does_not_understand_goes_to_click(argv):
    assert fastrun.parse_run(argv) is None


def cli(*args, fast: bool, env=None):
    """The installed launcher (fast path) or the click CLI itself."""
    launcher = [os.path.join(os.path.dirname(sys.executable), "nsnet")]
    argv = launcher if fast else [sys.executable, "-m", "nsnet.cli.main"]
    return subprocess.run([*argv, *args], capture_output=True, text=True, timeout=60, env=env)


@pytest.mark.parametrize("args", [
    ["run", "--name", "bad name", "--", "true"],
    ["run", "--no-init", "--", "true"],
    ["run", "-d", "--", "--"],
    ["run", "-p", "nonsense", "--network", "n", "--", "true"],
    ["run", "-e", "NOEQUALS", "--", "true"],
    ["run", "--log-max-size", "huge", "--", "true"],
    ["run", "-w", "relative", "--", "true"],
    ["run", "--network", ":1.2.3.4", "--", "true"],
    ["run", "-p", "8080:80", "--", "true"],
])
def test_errors_read_the_same(tmp_path, args):
    env = dict(os.environ, NSNET_STATE_DIR=str(tmp_path))
    assert fastrun.parse_run(args) is not None
    fast, slow = cli(*args, fast=True, env=env), cli(*args, fast=False, env=env)
    assert (fast.returncode, fast.stdout, fast.stderr) == (slow.returncode, slow.stdout, slow.stderr)
    assert fast.returncode == 2 and fast.stderr.startswith("nsnet: error: ")


def test_help_still_comes_from_click():
    out = cli("run", "--help", fast=True)
    assert out.returncode == 0 and "Run CMD in a sandbox" in out.stdout and "--isolate-pid" in out.stdout
