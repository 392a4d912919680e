"""The C library, loaded once, for the system calls Python 3.11 lacks
(setns, unshare, mount, umount2, prctl, sethostname)."""

import ctypes
import os

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWPID, CLONE_NEWNET = 0x00020000, 0x04000000, 0x20000000, 0x40000000
MS_NOSUID, MS_NODEV, MS_NOEXEC = 2, 4, 8
MS_BIND, MS_REC, MS_SLAVE, MS_SHARED = 0x1000, 0x4000, 1 << 19, 1 << 20
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_NAME = 1, 15

libc = ctypes.CDLL(None, use_errno=True)


def check(result: int, what: str) -> None:
    """OSError(errno, 'what: reason') unless the call returned 0."""
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def setns(fd: int, kind: int = CLONE_NEWNET) -> None:
    check(libc.setns(fd, kind), "setns")


def unshare(flags: int, what: str) -> None:
    check(libc.unshare(flags), f"unshare({what})")


def mount(source: bytes | None, target: bytes, fstype: bytes | None, flags: int, what: str) -> None:
    check(libc.mount(source, target, fstype, flags, None), what)


def try_mount(source: bytes | None, target: bytes, fstype: bytes | None, flags: int) -> int:
    """mount(2); 0 or the errno (for callers that handle a failure themselves)."""
    return 0 if libc.mount(source, target, fstype, flags, None) == 0 else ctypes.get_errno()


def umount(target: bytes) -> bool:
    """Lazy unmount; False if there was nothing to unmount."""
    return libc.umount2(target, MNT_DETACH) == 0


def sethostname(name: str) -> None:
    raw = name.encode()
    check(libc.sethostname(raw, len(raw)), "sethostname")


def die_with_parent(signum: int) -> None:
    """The kernel sends `signum` to this process when the thread that forked it ends."""
    check(libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")
