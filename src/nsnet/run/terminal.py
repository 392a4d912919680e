"""`nsnet run -t`: the command gets a pseudo-terminal of its own, as with
`docker run -t`. The command is the leader of a new session whose
controlling terminal is the pty's slave end (launch.py); nsnet copies the
master end to its stdout and, with -i, its stdin to the master end. On a
terminal, nsnet's own is put in raw mode meanwhile, so every key (Ctrl-C
too) reaches the command's terminal as typed, and window sizes follow.
"""

import errno
import os
import select
import signal

from .foreground import FORWARD, forward
from .procfs import wait_status_code

CHUNK = 65536


def open_pty() -> tuple[int, int]:
    """(master, slave), the slave the size of the terminal nsnet runs in (if any)."""
    master, slave = os.openpty()
    _copy_size(slave)
    return master, slave


def _copy_size(target: int) -> None:
    import fcntl
    import termios

    for fd in (0, 1, 2):
        try:
            size = fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8)
        except OSError:
            continue
        try:
            fcntl.ioctl(target, termios.TIOCSWINSZ, size)
        except OSError:
            pass
        return


def relay(master: int, pid: int, leader: int, interactive: bool) -> int:
    """Copy between the pty and nsnet's stdio until `pid` exits; its exit code."""
    import termios
    import tty

    raw = interactive and os.isatty(0)
    saved = termios.tcgetattr(0) if raw else None
    handlers = {sig: signal.signal(sig, forward(leader)) for sig in FORWARD}
    handlers[signal.SIGWINCH] = signal.signal(signal.SIGWINCH, lambda *_: _copy_size(master))
    try:
        if raw:
            tty.setraw(0, termios.TCSANOW)
        return _pump(master, pid, interactive)
    finally:
        if saved is not None:
            termios.tcsetattr(0, termios.TCSADRAIN, saved)
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        os.close(master)


def _pump(master: int, pid: int, interactive: bool) -> int:
    os.set_blocking(master, False)
    reading_stdin = interactive
    pending = b""  # typed, not yet taken by the pty
    while True:
        readers = [master] + ([0] if reading_stdin and not pending else [])
        ready, writable, _ = select.select(readers, [master] if pending else [], [], 0.1)
        if master in ready and not _drain(master):
            break  # every slave end closed: the command and what it started are done
        if 0 in ready:
            data = os.read(0, CHUNK)
            if data:
                pending += data
            else:  # end of input: as Ctrl-D on a terminal
                import termios

                pending += termios.tcgetattr(master)[6][termios.VEOF]
                reading_stdin = False
        if writable and pending:
            try:
                pending = pending[os.write(master, pending):]
            except OSError as exc:
                if exc.errno != errno.EAGAIN:
                    pending = b""
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            _drain(master)  # what it wrote last; background jobs may keep the slave open
            return wait_status_code(status)
    _, status = os.waitpid(pid, 0)
    return wait_status_code(status)


def _drain(master: int) -> bool:
    """Copy what the pty holds to stdout; False once no slave end is open."""
    while True:
        try:
            data = os.read(master, CHUNK)
        except BlockingIOError:
            return True
        except OSError as exc:
            if exc.errno == errno.EIO:
                return False
            raise
        if not data:
            return False
        _write_all(1, data)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
