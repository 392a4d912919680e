"""The few system calls Python 3.11 lacks, through libc: a new PID namespace,
a private mount namespace, a fresh /proc, the process name."""

import ctypes
import os

from ..kernel import nsexec

CLONE_NEWNS = 0x00020000
CLONE_NEWPID = 0x20000000
MS_NOSUID, MS_NODEV, MS_NOEXEC = 2, 4, 8
MS_REC, MS_SLAVE = 0x4000, 1 << 19
PR_SET_NAME = 15
_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def unshare_pid() -> None:
    """The caller's next child is pid 1 of a new PID namespace."""
    _check(_libc.unshare(CLONE_NEWPID), "unshare(CLONE_NEWPID)")


def own_pid_ns() -> int:
    return os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)


def restore_pid_ns(fd: int) -> None:
    """Later children are born in our own PID namespace again (after unshare_pid
    and the one fork it was for; else any later fork fails once that pid 1 exits)."""
    try:
        _check(_libc.setns(fd, CLONE_NEWPID), "setns(CLONE_NEWPID)")
    finally:
        os.close(fd)


def enter(netns: str | None, private_mounts: bool) -> None:
    """Join the sandbox the way `nsnet exec` does. With private_mounts, also
    make sure the process has a mount namespace of its own even when it stays
    in the caller's network namespace (for the /proc of a new PID namespace)."""
    if netns is not None:
        nsexec.enter(netns)  # network ns + private mount ns, /sys, /etc/netns files
        return
    if private_mounts:
        _check(_libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
        _check(_libc.mount(b"none", b"/", None, MS_REC | MS_SLAVE, None), "make / rslave")


def mount_proc() -> None:
    """A /proc that shows the caller's PID namespace (call from inside it)."""
    _check(_libc.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None), "mount /proc")


def set_name(name: str) -> None:
    _libc.prctl(PR_SET_NAME, name.encode()[:15], 0, 0, 0)
