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


def exists(name: str) -> bool:
    return os.path.exists(netns_path(name))
