"""The supervisor of one detached process (what conmon is to podman): the
parent of the command, so it alone learns the exit code. It copies the
command's stdout/stderr from pipes into size-capped, rotated log files,
records the exit in the process's state file and, for `--rm`, removes the
record and the sandbox afterwards.

It runs as a fresh `python -I -S` interpreter (see _boot.py) holding only
os/json/select: a few MB, not the CLI's memory.
"""

import json
import os
import select
import signal
import time

from ..state.processes import ProcessRecords
from . import logfiles
from .procfs import wait_status_code

DRAIN_SECONDS = 2.0  # after the exit, for output still in flight from leftover children
READ_SIZE = 65536


class Pump:
    def __init__(self, pid: int, logs: dict):
        self.pid = pid
        self.logs = logs  # {fd: RotatingLog}
        self.poller = select.poll()
        for fd in logs:
            self.poller.register(fd, select.POLLIN)
        self.pidfd = os.pidfd_open(pid)
        self.poller.register(self.pidfd, select.POLLIN)

    def _take(self, fd: int) -> None:
        try:
            data = os.read(fd, READ_SIZE)
        except OSError:
            data = b""
        if data:
            self.logs[fd].write(data)
            return
        self.poller.unregister(fd)
        os.close(fd)
        self.logs.pop(fd).close()

    def _drain_ready(self) -> None:
        """Whatever is in the pipes right now (the command's last words)."""
        for _ in range(10000):
            ready = [fd for fd, _ in self.poller.poll(0) if fd in self.logs]
            if not ready:
                return
            for fd in ready:
                self._take(fd)

    def run(self, on_exit) -> int:
        code = None
        deadline = None
        while self.logs or code is None:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic()) * 1000
            events = self.poller.poll(timeout)
            if deadline is not None and time.monotonic() >= deadline:
                break
            for fd, _ in events:
                if fd == self.pidfd and code is None:
                    _, status = os.waitpid(self.pid, 0)
                    code = wait_status_code(status)
                    self.poller.unregister(self.pidfd)
                    os.close(self.pidfd)
                    self._drain_ready()
                    on_exit(status)
                    deadline = time.monotonic() + DRAIN_SECONDS
                elif fd in self.logs:
                    self._take(fd)
        for log in self.logs.values():
            log.close()
        return code if code is not None else 255


def record_exit(state_dir: str, name: str, status: int) -> None:
    ProcessRecords(state_dir).update(name, state="exited", exit_code=wait_status_code(status),
                                     signal=os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
                                     finished_at=time.time())


def supervise(cfg: dict) -> int:
    folder = ProcessRecords(cfg["state_dir"]).folder(cfg["name"])
    logs = {fd: logfiles.RotatingLog(logfiles.log_path(folder, stream), cfg["max_size"], cfg["max_files"])
            for stream, fd in (("stdout", cfg["stdout_fd"]), ("stderr", cfg["stderr_fd"]))}
    return Pump(cfg["pid"], logs).run(lambda status: record_exit(cfg["state_dir"], cfg["name"], status))


def cleanup(cfg: dict) -> None:
    """--rm: forget the process and remove its sandbox (with the full CLI, in a
    normal interpreter: the engine is not loaded here)."""
    ProcessRecords(cfg["state_dir"]).discard(cfg["name"])
    argv = cfg.get("rm_argv")
    if argv:
        os.execv(argv[0], argv)


def main(args: list[str]) -> None:
    cfg = json.loads(args[0])
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)
    supervise(cfg)
    if cfg.get("rm"):
        cleanup(cfg)
    os._exit(0)
