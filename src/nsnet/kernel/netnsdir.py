"""Where namespaces are pinned, and whether one is: paths only, so a command
that merely lists sandboxes (`nsnet sandbox ls`) asks without loading ctypes
or netlink code (nsfs.py re-exports these)."""

import os

NETNS_RUN_DIR = "/run/netns"
UTS_RUN_DIR = "/run/nsnet/uts"


def netns_path(name: str) -> str:
    """/run/netns/NAME; a path (CNI_NETNS) as it is."""
    return os.path.join(NETNS_RUN_DIR, name)


def uts_path(name: str) -> str:
    """Where the UTS namespace (hostname) of sandbox namespace `name` is pinned."""
    return os.path.join(UTS_RUN_DIR, name)


_nsfs_dev: int | None = None


def is_namespace(st: os.stat_result) -> bool:
    """Is this the stat of a namespace file (nsfs)? A pin whose bind mount is gone
    (a command killed between making the file and mounting on it, or between
    unmounting and unlinking it) is an empty file of /run's own filesystem."""
    global _nsfs_dev
    if _nsfs_dev is None:
        _nsfs_dev = os.stat("/proc/self/ns/net").st_dev
    return st.st_dev == _nsfs_dev


def identity(name: str) -> tuple[int, int] | None:
    """Which namespace the name `name` pins now (None: none): it changes when the
    namespace is deleted and another is made under the same name."""
    try:
        st = os.stat(netns_path(name))
    except (FileNotFoundError, NotADirectoryError):
        return None
    return (st.st_dev, st.st_ino) if is_namespace(st) else None


def exists(name: str) -> bool:
    """Does `name` pin a namespace? (A pin left unmounted does not.)"""
    return identity(name) is not None
