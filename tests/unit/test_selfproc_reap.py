"""kernel/selfproc's collection of children: bounded, and never of another's."""

import os
import subprocess
import sys
import time

import pytest

from nsnet.kernel import selfproc


def test_reap_waits_for_a_child_that_is_still_leaving():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.05)"])
    selfproc.reap(child.pid, 5.0)
    with pytest.raises(ChildProcessError):  # collected: no zombie left
        os.waitpid(child.pid, os.WNOHANG)


def test_reap_gives_up_at_its_timeout_and_leaves_a_running_child_alone():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        start = time.monotonic()
        selfproc.reap(child.pid, 0.05)
        assert time.monotonic() - start < 2
        assert child.poll() is None
    finally:
        child.kill()
        child.wait()


def test_reap_of_a_process_not_ours_returns_at_once():
    start = time.monotonic()
    selfproc.reap(1, 5.0)
    assert time.monotonic() - start < 1


def test_reap_ended_keeps_the_running_and_drops_the_collected():
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        deadline = time.monotonic() + 10
        while _state(done.pid) != "Z" and time.monotonic() < deadline:
            time.sleep(0.01)
        pids = [done.pid, running.pid]
        selfproc.reap_ended(pids)
        assert pids == [running.pid]
    finally:
        running.kill()
        running.wait()


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def test_pid_from_names_a_running_process_only_with_each_word_in_its_argv(tmp_path):
    pidfile = tmp_path / "pid"
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", "nsnet.x", "/state"])
    try:
        pidfile.write_text(f"{child.pid}\n")
        deadline = time.monotonic() + 10  # Popen returns once exec closed its pipe: argv is set a moment after
        while _argv(child.pid) == b"" and time.monotonic() < deadline:
            time.sleep(0.005)
        assert selfproc.pid_from(str(pidfile), b"nsnet.x", b"/state") == child.pid
        assert selfproc.pid_from(str(pidfile), b"nsnet.x", b"/other") is None
        assert selfproc.pid_from(str(pidfile), b"nsnet") is None  # a word, not a part of one
    finally:
        child.kill()
        child.wait()
    assert selfproc.pid_from(str(pidfile), b"nsnet.x") is None  # gone
    pidfile.write_text("not a pid")
    assert selfproc.pid_from(str(pidfile)) is None
    assert selfproc.pid_from(str(tmp_path / "missing")) is None


def _argv(pid: int) -> bytes:
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read()


def test_reap_says_whether_the_child_was_collected():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert selfproc.reap(child.pid, 0.05) is False
    finally:
        child.kill()
    assert selfproc.reap(child.pid, 5.0) is True
    assert selfproc.reap(1, 5.0) is True  # not ours: nothing to wait for
