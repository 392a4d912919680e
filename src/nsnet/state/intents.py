"""Write-ahead intents: what a change is about to do to the kernel, written
before it does it, so that a change killed half-way is recognised afterwards.

The store's transaction commits after a change's kernel steps: a process
killed between the two leaves kernel objects that no row claims (and a killed
removal leaves rows whose objects are half gone). So before each plan runs,
the executor appends its steps here; the file is emptied once the change has
committed and its after-commit work is done. The next change finds the file of
a dead process, and the engine (engine/recovery.py) makes the kernel match
the store for every object it names: rolled back if the store never saw the
change, finished if it did.

One file per process under STATE_DIR/intents/, named PID-STARTTIME (a pid
alone is reused): the process is dead when no process with that pid and start
time runs. The file is a log of JSON lines: a change's header {"change", "seq",
"pid", "time"} with its first steps, more steps [seq, records...] before each
later plan, and {"done": seq} once the change is over; a change whose header
has no "done" after it is unfinished. Appends only (an ftruncate per change
cost ~20 us on ext4; an append ~2 us): the file is emptied when it passes
MAX_BYTES, and removed when its process closes the store. Plain write(2), no
fsync: the objects an intent describes (namespaces, links, nft rules) do not
survive a reboot, so it has to outlive only its process, which the page cache
guarantees. Cost per change: ~10 us (docs/design.md).
"""

import contextlib
import json
import os
import time

DIR = "intents"
_encode = json.JSONEncoder(default=lambda _: None).encode  # what JSON cannot hold is recorded as null
MAX_BYTES = 256 * 1024  # a log this long is emptied between changes


def _self_start() -> int:
    """This process's start time (field 22 of /proc/self/stat, clock ticks since boot)."""
    with open("/proc/self/stat", "rb") as f:
        raw = f.read()
    return int(raw[raw.rfind(b")") + 2:].split()[19])


class Intent:
    """An unfinished change: the file it was read from, its header and its step records."""

    def __init__(self, path: str | None, header: dict, records: list[dict]):
        self.path, self.header, self.records = path, header, records

    @property
    def change(self) -> str:
        return self.header.get("change", "?")

    @property
    def pid(self) -> int | None:
        return self.header.get("pid")

    @property
    def subject(self) -> str:
        return f"change {self.change} of pid {self.pid}"

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.header.get("time", 0)))
        return f"{self.subject} (started {when}, did not finish)"


class Intents:
    def __init__(self, state_dir: str):
        self.folder = os.path.join(state_dir, DIR)
        self._fd: int | None = None
        self._owner: int | None = None  # the pid that opened _fd (a forked child opens its own)
        self._name: str | None = None
        self._size = 0
        self._seq = 0
        self._header: dict | None = None  # of the change in progress, written with its first steps
        self.records: list[dict] = []  # of this process's unfinished change, as written

    # -- this process's own file -------------------------------------------------
    def begin(self, change: str) -> None:
        """A change starts; nothing is written until it records a step."""
        self._seq += 1
        self._header = {"change": change, "seq": self._seq, "pid": os.getpid(), "time": round(time.time(), 3)}

    def write(self, records: list[dict]) -> None:
        """Append `records` to this process's file, before the steps they describe run."""
        if not records:
            return
        if self._fd is None or self._owner != os.getpid():
            self._open()
        if self.records or self._header is None:
            line = _encode([self._seq, *records])
        else:
            line = _encode(dict(self._header, steps=records))
        self._append(line)
        self.records.extend(records)

    def clear(self) -> None:
        """The change is over (committed and followed up, or rolled back whole)."""
        if self.records and self._fd is not None and self._owner == os.getpid():
            self._append(f'{{"done": {self._seq}}}')
            if self._size > MAX_BYTES:
                os.ftruncate(self._fd, 0)
                self._size = 0
        self.records = []
        self._header = None

    def _append(self, line: str) -> None:
        data = (line + "\n").encode()
        os.write(self._fd, data)
        self._size += len(data)

    def _open(self) -> None:
        os.makedirs(self.folder, mode=0o700, exist_ok=True)
        pid = os.getpid()
        self._name = f"{pid}-{_self_start()}"
        self._fd = os.open(os.path.join(self.folder, self._name),
                           os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND | os.O_CLOEXEC, 0o600)
        self._owner, self._size = pid, 0

    def close(self) -> None:
        """Remove this process's file unless it holds an unfinished change."""
        if self._fd is None or self._owner != os.getpid():
            return
        if not self.records:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(self.folder, self._name))
        os.close(self._fd)
        self._fd = None

    def own(self) -> Intent | None:
        """This process's unfinished change (one that failed half-way)."""
        if not self.records:
            return None
        return Intent(None, self._header or {"pid": os.getpid()}, list(self.records))

    # -- the files of processes that died --------------------------------------------
    def dead(self, alive) -> list[Intent]:
        """Unfinished changes of processes that are gone (`alive(pid, start)` says
        who still runs). Files of dead processes with nothing unfinished are removed."""
        try:
            names = os.listdir(self.folder)  # every change looks: ~2 us with this process's file alone
        except FileNotFoundError:
            return []
        out = []
        for name in names:
            if name == self._name and self._owner == os.getpid():
                continue
            pid, _, start = name.partition("-")
            if not (pid.isdigit() and start.isdigit()) or alive(int(pid), int(start)):
                continue
            path = os.path.join(self.folder, name)
            intent = _read(path)
            if intent is None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
            else:
                out.append(intent)
        return out

    def forget(self, intent: Intent) -> None:
        """`intent` was settled."""
        if intent.path is None:
            self.clear()
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(intent.path)


def _read(path: str) -> Intent | None:
    """The unfinished change at the end of a log (None: every change finished)."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return None
    header, records = None, []
    for line in raw.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            break  # a line cut short by the kill: the steps it names never ran
        if isinstance(entry, list):
            if header is not None and entry and entry[0] == header.get("seq"):
                records.extend(entry[1:])
        elif "done" in entry:
            if header is not None and entry["done"] == header.get("seq"):
                header, records = None, []
        else:
            records = entry.pop("steps", [])
            header = entry
    if header is None:
        return None
    return Intent(path, header, records)
