"""Records of started processes: one directory per process name under
`<state_dir>/processes/`, holding `state.json` and the process's log files.

Plain JSON files rather than the SQLite store: `nsnet ps` reads them with
nothing but os and _json (jsonread.py: CLI start-up), and a supervisor can
record an exit while another nsnet command holds the store's write lock
(`sandbox rm` stops processes inside its transaction). Writes replace the file
atomically; a name is reserved by mkdir, which only one caller can win.

A record's "state" is what its writer last knew: starting, running, exited.
Whether a process still lives is the caller's question (run/procfs.py answers
it by pid + start time), never the record's alone.
"""

import os
import time

from .jsonread import loads

DIR = "processes"
STATE_FILE = "state.json"


class ProcessRecords:
    def __init__(self, state_dir: str):
        self.root = os.path.join(state_dir, DIR)

    def folder(self, name: str) -> str:
        """The record's directory (its log files live there too)."""
        return os.path.join(self.root, name)

    def read(self, name: str) -> dict | None:
        try:
            with open(os.path.join(self.root, name, STATE_FILE), "rb") as f:
                return loads(f.read())
        except (FileNotFoundError, NotADirectoryError, ValueError):
            return None

    def write(self, record: dict) -> None:
        """Replace the record atomically (readers never see half a file)."""
        folder = self.folder(record["name"])
        tmp = os.path.join(folder, f".{STATE_FILE}.{os.getpid()}")
        import json  # not at the top: `nsnet ps` only reads

        with open(tmp, "w") as f:
            json.dump(record, f, indent=1)
        os.replace(tmp, os.path.join(folder, STATE_FILE))

    def update(self, name: str, **changes) -> dict | None:
        """Merge `changes` into the record; None (and nothing written) if it is gone,
        e.g. removed by `--rm` or a failed start meanwhile."""
        record = self.read(name)
        if record is None:
            return None
        record.update(changes)
        try:
            self.write(record)
        except FileNotFoundError:
            return None
        return record

    def names(self) -> list[str]:
        try:
            entries = os.listdir(self.root)
        except FileNotFoundError:
            return []
        return sorted(e for e in entries if not e.startswith("."))

    def all(self) -> list[dict]:
        """Every readable record, oldest first."""
        out = [r for r in map(self.read, self.names()) if r is not None]
        return sorted(out, key=lambda r: (r.get("started_at") or 0, r["name"]))

    def reserve(self, name: str, record: dict, running) -> bool:
        """Create the record directory for `name` with `record` in it. A leftover
        record whose process no longer runs (`running(old)` is false) is replaced,
        with its logs. False if `name` belongs to a process that runs (or starts)."""
        os.makedirs(self.root, mode=0o755, exist_ok=True)
        folder = self.folder(name)
        for _ in range(2):
            try:
                os.mkdir(folder, 0o755)
            except FileExistsError:
                old = self.read(name)
                if old is not None and running(old):
                    return False
                if old is None and _young(folder):
                    return False  # another caller is between mkdir and write
                self.discard(name)
                continue
            self.write(dict(record, name=name))
            return True
        return False

    def discard(self, name: str) -> None:
        """Remove a record and its logs. Renamed first so that a concurrent reserve()
        of the same name never sees a half-removed directory."""
        trash = os.path.join(self.root, f".gone-{name}-{os.getpid()}-{time.monotonic_ns()}")
        try:
            os.rename(self.folder(name), trash)
        except FileNotFoundError:
            return
        import shutil  # not at the top: `nsnet ps` never needs it

        shutil.rmtree(trash, ignore_errors=True)


def _young(folder: str, seconds: float = 5.0) -> bool:
    try:
        return time.time() - os.stat(folder).st_mtime < seconds
    except FileNotFoundError:
        return False
