"""What /proc says about a pid, and so whether a process record still runs.
A pid alone can be reused by an unrelated process after ours exits, so a
process is identified by (pid, start time): field 22 of /proc/PID/stat, in
clock ticks since boot, never changes for the life of a process and differs
for any later process with the same pid."""

import os


class Stat:
    """state: R, S, D, Z (zombie), X (dead), T ...; starttime: clock ticks since boot."""

    __slots__ = ("pgrp", "ppid", "starttime", "state")

    def __init__(self, state: str, ppid: int, pgrp: int, starttime: int):
        self.state, self.ppid, self.pgrp, self.starttime = state, ppid, pgrp, starttime


def stat(pid: int) -> Stat | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except (FileNotFoundError, ProcessLookupError, NotADirectoryError):
        return None
    return parse_stat(raw)


def parse_stat(raw: bytes) -> Stat | None:
    """The command name (field 2) may hold spaces and parentheses: split after
    the last ')'."""
    end = raw.rfind(b")")
    if end < 0:
        return None
    fields = raw[end + 2:].split()
    if len(fields) < 20:
        return None
    return Stat(fields[0].decode(), int(fields[1]), int(fields[2]), int(fields[19]))


def starttime(pid: int) -> int | None:
    st = stat(pid)
    return st.starttime if st else None


def alive(pid: int | None, start: int | None) -> bool:
    """True while the process (pid, start) runs; False once it exited (a zombie
    counts as exited) or its pid now belongs to someone else."""
    if not pid or start is None:
        return False
    st = stat(pid)
    return st is not None and st.starttime == start and st.state not in ("Z", "X")


def group_exists(pgid: int) -> bool:
    """Does any process remain in process group `pgid`? (A group id stays pinned
    while it has members, so it cannot name someone else's group meanwhile.)"""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait_status_code(status: int) -> int:
    """A wait status as a shell exit code: the code, or 128 + the signal."""
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    return 255


def is_running(record: dict) -> bool:
    """A process record (state/processes.py) says running (or starting) and the
    process really lives."""
    if record.get("state") == "running":
        return alive(record.get("pid"), record.get("starttime"))
    if record.get("state") == "starting":
        return alive(record.get("creator_pid"), record.get("creator_starttime"))
    return False


def effective_state(record: dict) -> str:
    """starting / running / exited. A running record whose process is gone
    reads as exited (its exit code unknown if no supervisor recorded it)."""
    state = record.get("state")
    if state in ("running", "starting") and not is_running(record):
        return "exited"
    return state or "exited"
