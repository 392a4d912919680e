"""Log files of detached processes: `stdout.log` and `stderr.log` in the
process's record directory, each capped at `max_size` bytes; when full it
becomes `NAME.log.1` (the older ones shift to .2 ...), keeping `max_files`
files in all. Cuts fall after a newline when one is near, so lines stay whole."""

import itertools
import os
import time

STREAMS = ("stdout", "stderr")
DEFAULT_MAX_SIZE = 10 * 1024 * 1024
DEFAULT_MAX_FILES = 3


def log_path(folder: str, stream: str) -> str:
    return os.path.join(folder, f"{stream}.log")


def rotated_paths(path: str, max_files: int) -> list[str]:
    """Oldest first, the current file last."""
    return [f"{path}.{i}" for i in range(max_files - 1, 0, -1)] + [path]


class RotatingLog:
    def __init__(self, path: str, max_size: int = DEFAULT_MAX_SIZE, max_files: int = DEFAULT_MAX_FILES):
        if max_size < 1 or max_files < 1:
            raise ValueError("max_size and max_files must be at least 1")
        self.path, self.max_size, self.max_files = path, max_size, max_files
        self._open()

    def _open(self) -> None:
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640)
        self.size = os.fstat(self.fd).st_size

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while len(view):
            room = self.max_size - self.size
            if room <= 0:
                self.rotate()
                room = self.max_size
            n = min(room, len(view))
            if n < len(view):
                cut = bytes(view[:n]).rfind(b"\n")
                if cut < 0 and self.size:  # no whole line fits: start the next file with it
                    self.rotate()
                    continue
                if cut >= 0:
                    n = cut + 1
            self._write_all(view[:n])
            view = view[n:]

    def _write_all(self, chunk) -> None:
        while len(chunk):
            written = os.write(self.fd, chunk)
            self.size += written
            chunk = chunk[written:]

    def rotate(self) -> None:
        os.close(self.fd)
        if self.max_files == 1:
            os.truncate(self.path, 0)
        else:
            paths = rotated_paths(self.path, self.max_files)
            for older, newer in itertools.pairwise(paths):  # .1 -> .2 (the oldest goes), then log -> .1
                if os.path.exists(newer):
                    os.replace(newer, older)
        self._open()

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def read_all(path: str, max_files: int = DEFAULT_MAX_FILES, chunk: int = 65536, current: bool = True):
    """Every byte kept for one stream, oldest first (without the current file:
    only the rotated ones)."""
    for p in rotated_paths(path, max_files)[: None if current else -1]:
        try:
            with open(p, "rb") as f:
                while block := f.read(chunk):
                    yield block
        except FileNotFoundError:
            continue


class _Tail:
    """Follows one log path across rotations (a new inode at the path)."""

    def __init__(self, path: str, at_end: bool):
        self.path = path
        self.f = None
        self.inode = None
        self._reopen(at_end)

    def _reopen(self, at_end: bool) -> None:
        try:
            f = open(self.path, "rb")  # noqa: SIM115 - kept open across reads
        except FileNotFoundError:
            return
        if self.f:
            self.f.close()
        self.f, self.inode = f, os.fstat(f.fileno()).st_ino
        if at_end:
            f.seek(0, os.SEEK_END)

    def read(self, chunk: int = 65536) -> bytes:
        out = b""
        if self.f:
            out = self.f.read(chunk)
            if out:
                return out
        try:
            inode = os.stat(self.path).st_ino
        except FileNotFoundError:
            return out
        if inode != self.inode:  # rotated (or created): the rest of the old file was read
            self._reopen(at_end=False)
            return self.f.read(chunk) if self.f else b""
        return out

    def close(self) -> None:
        if self.f:
            self.f.close()


def follow(paths: dict, still_running, interval: float = 0.1, max_seconds: float | None = None,
           from_start: bool = False):
    """Yield (stream, bytes) as the files at `paths` ({stream: path}) grow
    (from their current ends, or their beginnings), until still_running()
    turns False (then a last read) or max_seconds pass."""
    tails = {stream: _Tail(path, at_end=not from_start) for stream, path in paths.items()}
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    try:
        while True:
            running = still_running()
            busy = False
            for stream, tail in tails.items():
                for _ in range(64):  # bounded per turn, so one chatty stream cannot starve the other
                    data = tail.read()
                    if not data:
                        break
                    busy = True
                    yield stream, data
            if not running and not busy:
                return
            if deadline is not None and time.monotonic() >= deadline:
                return
            if not busy:
                time.sleep(interval)
    finally:
        for tail in tails.values():
            tail.close()
