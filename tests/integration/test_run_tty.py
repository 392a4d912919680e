"""`nsnet run -t` / `-it`: the command gets a pseudo-terminal of its own, as
with `docker run -it`; keys typed at nsnet's terminal (Ctrl-C included)
reach it, its exit code passes through, and nsnet's terminal comes back as
it was."""

import os
import pty
import signal
import subprocess
import termios

import pytest

from .run_support import cli, nsnet_argv, ps, read_until, running_host

rhost = pytest.fixture(running_host)


def test_t_gives_the_command_a_terminal(rhost):
    h = rhost
    r = subprocess.run([*nsnet_argv(), "run", "--rm", "-t", "--", "sh", "-c", "tty; exit 3"], env=h.env,
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    assert r.returncode == 3, r.stderr
    assert r.stdout.startswith(b"/dev/pts/") and r.stdout.endswith(b"\r\n")  # a terminal's line ending
    plain = cli(h, "run", "--rm", "--", "tty")
    assert (plain.returncode, plain.stdout) == (1, "not a tty\n")


def test_t_with_an_isolated_pid_view(rhost):
    r = subprocess.run([*nsnet_argv(), "run", "--rm", "-t", "--isolate-pid", "--", "sh", "-c", "tty && exit 4"],
                       env=rhost.env, stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    assert r.returncode == 4 and r.stdout.startswith(b"/dev/pts/"), r.stderr


def test_it_from_a_pipe_feeds_the_terminal(rhost):
    r = subprocess.run([*nsnet_argv(), "run", "--rm", "-it", "--", "sh"], env=rhost.env,
                       input=b"echo $((6*7))\nexit 5\n", capture_output=True, timeout=30)
    assert r.returncode == 5 and b"42\r\n" in r.stdout, (r.stdout, r.stderr)


def test_it_on_a_terminal_passes_keys_and_restores_the_terminal(rhost):
    h = rhost
    script = "trap 'echo got-int; exit 9' INT; echo ready; while :; do sleep 0.1; done"
    pid, master = pty.fork()
    if pid == 0:  # nsnet on a terminal, as at a shell
        try:
            argv = nsnet_argv()
            os.execve(argv[0], [*argv, "run", "--name", "itj", "-it", "--", "sh", "-c", script], h.env)
        finally:
            os._exit(99)
    try:
        before = termios.tcgetattr(master)
        out = read_until(master, b"ready", 15)
        assert b"ready" in out
        raw = termios.tcgetattr(master)
        assert not raw[3] & termios.ICANON and not raw[3] & termios.ECHO  # nsnet's terminal in raw mode
        os.write(master, b"\x03")  # as typed: in raw mode it travels as a byte to the command's terminal
        out += read_until(master, b"got-int", 10)
        _, status = os.waitpid(pid, 0)
        assert b"got-int" in out and os.waitstatus_to_exitcode(status) == 9, out
        assert termios.tcgetattr(master) == before
        assert ps(h)["itj"]["exit_code"] == 9
    finally:
        os.close(master)
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except OSError:
            pass


def test_t_cannot_be_detached(rhost):
    r = cli(rhost, "run", "-dt", "--", "true")
    assert r.returncode == 2 and r.stderr.startswith("nsnet: error: ") and "--detach" in r.stderr
