"""Netlink sockets a process about to exit hands to a child instead of
releasing them itself: releasing the last NETLINK_NETFILTER socket after an
nf_tables commit waits for an RCU grace period (10-20 ms here; nft_rcv_nl_event),
in close() or in the exit. So Kernel.close(exiting=True) forks a keeper that
holds copies of them, closes everything else at once (standard streams, the
store, locks) and dies with its parent: the wait happens after the command has
ended (docs/design.md)."""

import os
import signal
import socket
import time

from . import libc, selfproc

LIMIT = 60.0  # seconds a keeper outlives nothing: at most this long if its parent lives on


def keep_after_exit() -> int | None:
    """Fork the keeper; its pid, or None when there is none (the caller's
    own close then waits, as it would have)."""
    parent = os.getpid()
    try:
        pid = os.fork()
    except OSError:
        return None
    if pid:
        return pid
    try:  # the keeper: only system calls, then _exit (nothing of the parent's Python state runs)
        libc.die_with_parent(signal.SIGKILL)
        os.setsid()  # no signal of the command's terminal
        for fd in selfproc.open_fds():
            if not _netlink(fd):
                try:
                    os.close(fd)
                except OSError:  # the fd listdir itself used, closed by now
                    pass
        if os.getppid() == parent:  # not gone already
            time.sleep(LIMIT)
    finally:
        os._exit(0)


def _netlink(fd: int) -> bool:
    try:
        sock = socket.socket(fileno=fd)
    except OSError:  # no socket, or no fd any more
        return False
    try:
        return sock.family == socket.AF_NETLINK
    finally:
        sock.detach()
