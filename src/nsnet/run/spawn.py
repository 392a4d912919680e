"""The parent side of a start.

Detached: the caller forks S1, which starts a new session and forks S2, then
exits (so S2 is nobody's zombie, even under a long-lived API caller). S2 is
the supervisor: it forks the command (see launch.py) with stdout/stderr on
pipes, learns whether the exec worked, marks the record running, reports to
the caller, and execs a small interpreter (supervise.py) that stays the
command's parent: it keeps the logs and records the exit code.

Foreground: the caller forks the command itself (through a relay for
--isolate-pid) and waits for it (foreground.py).
"""

import errno
import json
import os
import select
import signal
import sys
import time

from ..kernel import selfproc
from ..state.processes import ProcessRecords
from . import launch as launch_mod
from . import procfs
from .errors import StartError

HANDSHAKE_SECONDS = 15.0
STAGES = {
    "setup": "could not prepare the process",
    "pidns": "could not create a PID namespace",
    "netns": "could not enter the sandbox",
    "proc": "could not mount /proc in the new PID namespace",
    "workdir": "could not change to the working directory",
    "exec": "could not execute the command",
    "handshake": "the process did not report back in time",
}


def read_messages(fd: int, timeout: float = HANDSHAKE_SECONDS) -> list[list[str]]:
    """Lines from a handshake pipe until EOF (all writers closed or exec'd)."""
    data = b""
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return [line.split() for line in data.decode().splitlines()] + [["err", "0", "handshake"]]
            chunk = os.read(fd, 4096)
            if not chunk:
                return [line.split() for line in data.decode().splitlines()]
            data += chunk
    finally:
        os.close(fd)


def start_error(argv0: str, err: int, stage: str) -> StartError:
    if stage == "exec" and err == errno.ENOENT:
        return StartError(f"{argv0}: command not found", 127)
    if stage == "exec" and err in (errno.EACCES, errno.ENOEXEC, errno.EISDIR, errno.EPERM):
        return StartError(f"{argv0}: cannot execute: {os.strerror(err)}", 126)
    detail = f": {os.strerror(err)}" if err else ""
    return StartError(f"{argv0}: {STAGES.get(stage, stage)}{detail}", 126)


def _error_in(messages) -> tuple[int, str] | None:
    for msg in messages:
        if msg and msg[0] == "err":
            return int(msg[1]), msg[2]
    return None


# -- detached ----------------------------------------------------------------

def start_detached(launch: launch_mod.Launch, cfg: dict) -> dict:
    """cfg: state_dir, name, max_size, max_files, rm, rm_argv. Returns
    {"pid", "starttime"} once the command runs; raises StartError."""
    report_r, report_w = os.pipe()
    s1 = os.fork()
    if s1 == 0:
        try:
            os.close(report_r)
            os.setsid()
            if os.fork() == 0:
                _supervisor(launch, report_w, cfg)
        finally:
            os._exit(0)
    os.close(report_w)
    messages = read_messages(report_r)
    os.waitpid(s1, 0)
    failed = _error_in(messages)
    if failed:
        raise start_error(launch.argv[0], *failed)
    ok = next((m for m in messages if m and m[0] == "ok"), None)
    if ok is None:
        raise start_error(launch.argv[0], 0, "handshake")
    return {"pid": int(ok[1]), "starttime": int(ok[2])}


def _supervisor(launch, report_w: int, cfg: dict) -> None:
    """S2. Never returns."""
    try:
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_IGN)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        status_r, status_w = os.pipe()
        home_pid_ns = None
        if launch.isolate_pid:
            from ..kernel import process

            home_pid_ns = process.own_pid_ns()
            process.unshare_pid()  # the next child is pid 1 of a new PID namespace
        pid = os.fork()
        if pid == 0:
            launch_mod.child(launch, status_w, stdio=(devnull, out_w, err_w))
        if home_pid_ns is not None:
            process.restore_pid_ns(home_pid_ns)  # so the supervisor (--rm cleanup) can fork again
        launch_mod.hand_over(pid, None)
        for fd in (out_w, err_w, status_w, devnull):
            os.close(fd)
        failed = _error_in(read_messages(status_r))
        if failed:
            _reap(pid)
            os.write(report_w, f"err {failed[0]} {failed[1]}\n".encode())
            os._exit(0)
        start = procfs.starttime(pid) or 0
        me = os.getpid()
        ProcessRecords(cfg["state_dir"]).update(
            cfg["name"], state="running", pid=pid, pgid=pid, starttime=start, supervisor_pid=me,
            supervisor_starttime=procfs.starttime(me), started_at=time.time())
        os.write(report_w, f"ok {pid} {start}\n".encode())
        os.close(report_w)
        _become_supervisor(dict(cfg, pid=pid, stdout_fd=out_r, stderr_fd=err_r))
    except BaseException as exc:
        launch_mod.report(report_w, getattr(exc, "errno", 0) or 0, "setup")
    finally:
        os._exit(1)


    os.waitpid(pid, 0)


def _become_supervisor(cfg: dict) -> None:
    os.set_inheritable(cfg["stdout_fd"], True)
    os.set_inheritable(cfg["stderr_fd"], True)
    keep = {cfg["stdout_fd"], cfg["stderr_fd"]}
    for fd in selfproc.open_fds():
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass
    args = [json.dumps(cfg)]
    try:
        os.execv(sys.executable, [sys.executable, "-I", "-S", launch_mod.BOOT, "supervise", *args])
    except OSError:  # no fresh interpreter: this one supervises
        from .supervise import main

        main(args)


def _reap(pid: int) -> None:
    """A child whose start failed: collected, or killed if it is still there after 5 s."""
    if not selfproc.reap(pid, 5.0):
        os.kill(pid, signal.SIGKILL)


# -- foreground ----------------------------------------------------------------

def start_foreground(launch: launch_mod.Launch) -> tuple[int, int]:
    """Fork the command (or the relay); returns (child to wait for, group leader)."""
    status_r, status_w = os.pipe()
    stdio = None if launch.pty is None else (launch.pty,) * 3
    pid = os.fork()
    if pid == 0:
        os.close(status_r)
        if launch.isolate_pid:
            launch_mod.relay(launch, status_w, stdio)
        launch_mod.child(launch, status_w, stdio)
    os.close(status_w)
    if not launch.isolate_pid and launch.pty is None:  # with a pty the child makes its own session
        launch_mod.hand_over(pid, launch.tty)
    messages = read_messages(status_r)
    failed = _error_in(messages)
    if failed:
        _reap(pid)
        raise start_error(launch.argv[0], *failed)
    leader = next((int(m[1]) for m in messages if m and m[0] == "pid"), pid)
    return pid, leader
