"""Network-namespace primitives for the bench, in-process (ctypes; Python 3.11
has no os.setns/os.unshare).  No fork per namespace: a short-lived thread
unshares its network namespace and bind-mounts it on /run/netns/NAME, the way
container runtimes create sandboxes."""

import ctypes
import errno
import os
import threading
from pathlib import Path

NETNS_DIR = Path("/run/netns")
CLONE_NEWNET = 0x40000000
MS_BIND = 4096
MNT_DETACH = 2

_libc = ctypes.CDLL(None, use_errno=True)


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def netns_path(name: str) -> Path:
    return NETNS_DIR / name


def setns(fd: int) -> None:
    """Move the calling thread into the network namespace open on `fd`."""
    _check(_libc.setns(fd, CLONE_NEWNET), "setns")


def _in_thread(fn):
    """Run fn() in a fresh thread and return its result (re-raising errors).
    Namespace changes made by that thread die with it."""
    box: dict = {}

    def work():
        try:
            box["value"] = fn()
        except BaseException as e:
            box["error"] = e

    t = threading.Thread(target=work, name="nb-netns")
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")


def create_netns(name: str) -> Path:
    """Create a named network namespace without forking (like `ip netns add`).
    /run/netns must already be set up (the harness makes its host namespace with
    `ip netns add`, which makes /run/netns a shared mount)."""
    path = netns_path(name)
    NETNS_DIR.mkdir(exist_ok=True)
    os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0o444))

    def make():
        _check(_libc.unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)")
        _check(_libc.mount(b"/proc/thread-self/ns/net", bytes(path), None, MS_BIND, None),
               f"bind mount {path}")

    try:
        _in_thread(make)
    except BaseException:
        os.unlink(path)
        raise
    return path


def delete_netns(name: str) -> bool:
    """Remove a named namespace (like `ip netns del`); missing is not an error.
    The kernel frees the namespace and its links later, asynchronously."""
    path = netns_path(name)
    if _libc.umount2(bytes(path), MNT_DETACH) != 0:
        err = ctypes.get_errno()
        if err not in (errno.EINVAL, errno.ENOENT):
            raise OSError(err, f"umount {path}: {os.strerror(err)}")
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True


def list_netns(prefix: str = "") -> list[str]:
    try:
        return sorted(p for p in os.listdir(NETNS_DIR) if p.startswith(prefix))
    except FileNotFoundError:
        return []


def run_in_netns(path, fn):
    """Call fn() in a thread that has entered the namespace at `path`; sockets
    fn() creates stay in that namespace after the thread ends."""

    def work():
        fd = os.open(path, os.O_RDONLY)
        try:
            setns(fd)
        finally:
            os.close(fd)
        return fn()

    return _in_thread(work)
