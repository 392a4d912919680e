"""Foreground `nsnet run`: stdio and exit code pass through, Ctrl-C reaches the
command, --rm removes the sandbox afterwards."""

import os
import pty
import signal
import subprocess
import sys

import pytest

from .helpers import wait_until
from .run_support import cli, nsnet_argv, ps, read_until, record, running_host

rhost = pytest.fixture(running_host)

TRAP_INT = ("import signal, sys, time\n"
            "signal.signal(signal.SIGINT, lambda *a: (print('got INT', flush=True), sys.exit(42)))\n"
            "print('ready', flush=True)\n"
            "time.sleep(20)\n")


def test_stdio_and_exit_code_pass_through(rhost):
    h = rhost
    r = cli(h, "run", "--name", "job", "--", "sh", "-c", "cat; echo err >&2; exit 7", input="hello\n")
    assert (r.returncode, r.stdout, r.stderr) == (7, "hello\n", "err\n")
    row = ps(h)["job"]
    assert (row["state"], row["exit_code"], row["detached"]) == ("exited", 7, False)
    assert h.prefix + "job" in h.sandbox_namespaces()  # kept without --rm
    r = cli(h, "run", "--sandbox", "job", "--name", "killed", "--", "sh", "-c", "kill -TERM $$")
    assert r.returncode == 143
    r = cli(h, "logs", "job")
    assert r.returncode == 2 and "foreground" in r.stderr


def test_rm_removes_sandbox_and_record(rhost):
    h = rhost
    cli(h, "network", "create", "lan", "--subnet", "10.93.0.0/24", check=True)
    r = cli(h, "run", "--rm", "--name", "once", "--network", "lan", "--", "sh", "-c", "ip -o -4 addr show eth0; exit 5")
    assert r.returncode == 5 and "10.93.0.2/24" in r.stdout, r.stderr
    assert h.prefix + "once" not in h.sandbox_namespaces()
    assert "once" not in ps(h) and h.engine.store.endpoints(network="lan") == []
    assert wait_until(lambda: h.host_links() == ["lo", "nsbr-lan"], timeout=10)


def test_ctrl_c_on_a_terminal_reaches_the_command(rhost):
    h = rhost
    pid, master = pty.fork()
    if pid == 0:  # a new session with the pty as its terminal, like a shell's job
        try:
            argv = nsnet_argv()
            os.execve(argv[0], [*argv, "run", "--name", "tty", "--", sys.executable, "-c", TRAP_INT], h.env)
        finally:
            os._exit(99)
    try:
        out = read_until(master, b"ready", 15)
        assert b"ready" in out
        os.write(master, b"\x03")  # Ctrl-C: the line discipline signals the foreground group
        out += read_until(master, b"got INT", 10)
        _, status = os.waitpid(pid, 0)
        assert b"got INT" in out
        assert os.waitstatus_to_exitcode(status) == 42
    finally:
        os.close(master)
        with _ignore():
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


def test_sigint_to_nsnet_without_a_terminal_is_forwarded(rhost):
    h = rhost
    p = subprocess.Popen([*nsnet_argv(), "run", "--name", "piped", "--", sys.executable, "-c", TRAP_INT], env=h.env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert p.stdout.readline() == b"ready\n"
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=15)
        assert p.returncode == 42 and out == b"got INT\n", err
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(5)
    assert record(h, "piped")["exit_code"] == 42


class _ignore:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return True
