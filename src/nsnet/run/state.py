"""Records of started processes: one directory per process name under
`<state_dir>/processes/`, holding `state.json` and the process's log files.

Plain JSON files rather than the engine's SQLite store: `nsnet ps` reads them
with nothing but os and _json (jsonread.py: CLI start-up), and a supervisor can record an
exit while another nsnet command holds the store's write lock (`sandbox rm`
stops processes inside its transaction). Writes replace the file atomically;
a name is reserved by mkdir, which only one caller can win.

A record's "state" is what its writer last knew: starting, running, exited.
Whether a running process still lives is decided by pid + start time
(procfs.alive), never by the record alone.
"""

import os
import time

from . import procfs
from .jsonread import loads

DIR = "processes"
STATE_FILE = "state.json"


def processes_dir(state_dir: str) -> str:
    return os.path.join(state_dir, DIR)


def record_dir(state_dir: str, name: str) -> str:
    return os.path.join(state_dir, DIR, name)


def read(state_dir: str, name: str) -> dict | None:
    try:
        with open(os.path.join(record_dir(state_dir, name), STATE_FILE), "rb") as f:
            return loads(f.read())
    except (FileNotFoundError, NotADirectoryError, ValueError):
        return None


def write(state_dir: str, record: dict) -> None:
    """Replace the record atomically (readers never see half a file)."""
    folder = record_dir(state_dir, record["name"])
    tmp = os.path.join(folder, f".{STATE_FILE}.{os.getpid()}")
    import json  # not at the top: `nsnet ps` only reads

    with open(tmp, "w") as f:
        json.dump(record, f, indent=1)
    os.replace(tmp, os.path.join(folder, STATE_FILE))


def update(state_dir: str, name: str, **changes) -> dict | None:
    """Merge `changes` into the record; None (and nothing written) if it is gone,
    e.g. removed by `--rm` or a failed start meanwhile."""
    record = read(state_dir, name)
    if record is None:
        return None
    record.update(changes)
    try:
        write(state_dir, record)
    except FileNotFoundError:
        return None
    return record


def names(state_dir: str) -> list[str]:
    try:
        entries = os.listdir(processes_dir(state_dir))
    except FileNotFoundError:
        return []
    return sorted(e for e in entries if not e.startswith("."))


def all_records(state_dir: str) -> list[dict]:
    out = []
    for name in names(state_dir):
        record = read(state_dir, name)
        if record is not None:
            out.append(record)
    return sorted(out, key=lambda r: (r.get("started_at") or 0, r["name"]))


def is_running(record: dict) -> bool:
    """The record says running (or starting) and the process really lives."""
    if record.get("state") == "running":
        return procfs.alive(record.get("pid"), record.get("starttime"))
    if record.get("state") == "starting":
        return procfs.alive(record.get("creator_pid"), record.get("creator_starttime"))
    return False


def effective_state(record: dict) -> str:
    """starting / running / exited. A running record whose process is gone
    reads as exited (its exit code unknown if no supervisor recorded it)."""
    state = record.get("state")
    if state in ("running", "starting") and not is_running(record):
        return "exited"
    return state or "exited"


def reserve(state_dir: str, name: str, record: dict) -> bool:
    """Create the record directory for `name` with `record` in it. A leftover
    record of a process that no longer runs is replaced (with its logs).
    Returns False if `name` belongs to a process that runs (or is starting)."""
    os.makedirs(processes_dir(state_dir), mode=0o755, exist_ok=True)
    folder = record_dir(state_dir, name)
    for _ in range(2):
        try:
            os.mkdir(folder, 0o755)
        except FileExistsError:
            old = read(state_dir, name)
            if old is not None and is_running(old):
                return False
            if old is None and _young(folder):
                return False  # another caller is between mkdir and write
            discard(state_dir, name)
            continue
        write(state_dir, dict(record, name=name))
        return True
    return False


def _young(folder: str, seconds: float = 5.0) -> bool:
    try:
        return time.time() - os.stat(folder).st_mtime < seconds
    except FileNotFoundError:
        return False


def discard(state_dir: str, name: str) -> None:
    """Remove a record and its logs. Renamed first so that a concurrent reserve()
    of the same name never sees a half-removed directory."""
    folder = record_dir(state_dir, name)
    trash = os.path.join(processes_dir(state_dir), f".gone-{name}-{os.getpid()}-{time.monotonic_ns()}")
    try:
        os.rename(folder, trash)
    except FileNotFoundError:
        return
    import shutil  # not at the top: `nsnet ps` never needs it

    shutil.rmtree(trash, ignore_errors=True)
