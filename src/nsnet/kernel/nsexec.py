"""Run a command inside a namespace the way `ip netns exec` does: join the
network namespace, get a private mount namespace with a fresh /sys (so
/sys/class/net shows the sandbox's interfaces) and the files of
/etc/netns/NAME/ bind-mounted over /etc, then exec. No fork: the command
replaces this process, so stdin/stdout/stderr and the exit code pass through."""

import ctypes
import os

from . import nsfs

CLONE_NEWNS = 0x00020000
MS_REC, MS_SLAVE, MS_BIND, MS_RDONLY = 0x4000, 1 << 19, 0x1000, 1
MNT_DETACH = 2
_libc = ctypes.CDLL(None, use_errno=True)


def _mount(src, dst, fstype, flags, what):
    if _libc.mount(src, dst, fstype, flags, None) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def enter(netns: str | None) -> None:
    """Move this (single-threaded) process into `netns` with `ip netns exec`'s view."""
    if netns is None:
        return
    fd = nsfs.open_fd(netns)
    try:
        nsfs.setns(fd)
    finally:
        os.close(fd)
    if _libc.unshare(CLONE_NEWNS) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"unshare(CLONE_NEWNS): {os.strerror(err)}")
    # Keep our mounts from propagating back to the host's mount namespace.
    _mount(b"none", b"/", None, MS_REC | MS_SLAVE, "make / rslave")
    if _libc.umount2(b"/sys", MNT_DETACH) == 0:
        _mount(b"sysfs", b"/sys", b"sysfs", 0, "mount /sys")
    etc_dir = os.path.join("/etc/netns", netns)
    if os.path.isdir(etc_dir):
        for entry in sorted(os.listdir(etc_dir)):
            src, dst = os.path.join(etc_dir, entry), os.path.join("/etc", entry)
            if os.path.exists(dst):
                _mount(src.encode(), dst.encode(), b"none", MS_BIND, f"bind {src} on {dst}")


def exec_in(netns: str | None, argv: list[str]) -> None:
    enter(netns)
    os.execvp(argv[0], argv)
