"""Waiting for a foreground process: its exit code passes through (128 + N
when killed by signal N), Ctrl-C reaches it, and the terminal comes back.

On a terminal the command's process group is made the terminal's foreground
group (as a shell does), so Ctrl-C / Ctrl-Z go to the command, not to nsnet;
when it stops, nsnet takes the terminal back and stops too, and hands it over
again on `fg`. Without a terminal, INT/TERM/HUP/QUIT sent to nsnet are passed
on to the command's group.
"""

import os
import signal

from .procfs import wait_status_code

FORWARD = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


def terminal() -> int | None:
    """fd 0 if it is a terminal whose foreground group is ours (we may hand it on)."""
    try:
        if os.isatty(0) and os.tcgetpgrp(0) == os.getpgrp():
            return 0
    except OSError:
        pass
    return None


def give_terminal(tty: int, pgid: int) -> None:
    """Make `pgid` the terminal's foreground group (SIGTTOU ignored: we may not be it now)."""
    old = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    try:
        os.tcsetpgrp(tty, pgid)
    except OSError:
        pass
    finally:
        signal.signal(signal.SIGTTOU, old)


def forward(leader: int):
    """A signal handler that passes the signal on to the command's group."""

    def handler(sig, _frame):
        try:
            os.killpg(leader, sig)
        except OSError:
            pass

    return handler


def wait(pid: int, leader: int, tty: int | None) -> int:
    """Wait for `pid` (the command, or the relay of an isolated one)."""
    import threading  # not at the top: a detached start never waits here

    main = threading.current_thread() is threading.main_thread()
    saved = {sig: signal.signal(sig, forward(leader)) for sig in FORWARD} if main else {}
    job_control = tty is not None and pid == leader and main
    try:
        while True:
            _, status = os.waitpid(pid, os.WUNTRACED if job_control else 0)
            if not os.WIFSTOPPED(status):
                return wait_status_code(status)
            give_terminal(tty, os.getpgrp())  # Ctrl-Z: stop with it ...
            os.kill(os.getpid(), signal.SIGSTOP)
            give_terminal(tty, leader)  # ... and on `fg`, continue it
            os.killpg(leader, signal.SIGCONT)
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
        if tty is not None:
            give_terminal(tty, os.getpgrp())
