"""Network namespaces (and a sandbox's UTS namespace: its hostname) without forking.

`ip netns add` and pyroute2's netns helpers fork a child per namespace (~5 ms).
Here the calling thread unshares its own network namespace, pins it with a bind
mount under /run/netns (exactly where `ip netns` keeps them, so `ip netns exec`
works on ours), and setns()es back. Entering a namespace for a moment (to open a
socket in it: a socket keeps the namespace it was made in) is a setns() pair:
tens of microseconds. `inside(name)` is that moment, for every caller.

A sandbox's hostname lives in a UTS namespace of its own, pinned the same way
under /run/nsnet/uts/NAME (what `unshare --uts=FILE` does; `nsenter --uts=FILE`
joins it) by the sandbox's first command (join_uts); `nsnet exec` and `run`
enter it after the network namespace, and unpinning the one unpins the other.
"""

import contextlib
import errno
import os
import time

from .libc import (
    CLONE_NEWNET,
    CLONE_NEWUTS,
    MS_BIND,
    MS_REC,
    MS_SHARED,
    mount,
    sethostname,
    setns,
    try_mount,
    umount,
    unshare,
)
from .netnsdir import (  # noqa: F401 (re-exported)
    NETNS_RUN_DIR,
    UTS_RUN_DIR,
    exists,
    identity,
    is_namespace,
    netns_path,
    uts_path,
)


def current_netns_fd() -> int:
    return os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)


def open_fd(name: str) -> int:
    return os.open(netns_path(name), os.O_RDONLY | os.O_CLOEXEC)


@contextlib.contextmanager
def inside(name: str | None):
    """Run the block with this thread inside namespace `name` (None: stay put);
    the block gets the namespace's identity() (None for None). FileNotFoundError
    if there is no such namespace."""
    if name is None:
        yield None
        return
    fd = open_fd(name)
    try:
        st = os.fstat(fd)
        if not is_namespace(st):
            raise FileNotFoundError(errno.ENOENT, f"{netns_path(name)} pins no namespace (left unmounted by an "
                                                  "interrupted command)")
        home = current_netns_fd()
        try:
            setns(fd)
            yield st.st_dev, st.st_ino
        finally:
            setns(home)
            os.close(home)
    finally:
        os.close(fd)


def _ensure_run_dir(run_dir: str) -> None:
    """Make `run_dir` a shared mount point, as iproute2 does for /run/netns, so that
    namespaces pinned here stay visible from other mount namespaces (e.g. `ip netns
    exec`) and unpinning them here unpins the copies those namespaces hold."""
    os.makedirs(run_dir, exist_ok=True)
    path = run_dir.encode()
    err = try_mount(b"none", path, b"none", MS_SHARED | MS_REC)
    if err == 0:
        return
    if err != errno.EINVAL:  # EINVAL: not a mount point yet
        raise OSError(err, f"mount --make-rshared {run_dir}: {os.strerror(err)}")
    mount(path, path, b"none", MS_BIND | MS_REC, f"bind-mount {run_dir}")
    mount(b"none", path, b"none", MS_SHARED | MS_REC, f"make {run_dir} shared")


_run_dirs_ready: set[str] = set()


def _pin_file(run_dir: str, path: str) -> None:
    if run_dir not in _run_dirs_ready:
        _ensure_run_dir(run_dir)
        _run_dirs_ready.add(run_dir)
    try:
        os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0o444))
    except FileExistsError:
        # A network namespace's pin a killed command left unmounted pins nothing:
        # take its place. Only there: those are made by changes, which one state
        # dir's store serialises, so no live creator is between its file and its
        # mount. A UTS pin is made by whichever `exec` comes first, and two race.
        try:
            st = os.stat(path)
        except FileNotFoundError:
            st = None
        if st is None or is_namespace(st) or run_dir != NETNS_RUN_DIR:
            raise
        os.unlink(path)
        os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0o444))


def _unpin(path: str) -> None:
    umount(path.encode())  # not mounted: harmless
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def create(name: str, on_enter=None):
    """Create and pin namespace `name`; call on_enter() while inside it (to open
    sockets there) and return its result. Raises FileExistsError if it exists."""
    path = netns_path(name)
    _pin_file(NETNS_RUN_DIR, path)
    home = current_netns_fd()
    try:
        try:
            unshare(CLONE_NEWNET, "CLONE_NEWNET")
            mount(b"/proc/thread-self/ns/net", path.encode(), b"none", MS_BIND, f"bind-mount {path}")
            return on_enter() if on_enter else None
        finally:
            setns(home)
    except BaseException:
        _unpin(path)
        raise
    finally:
        os.close(home)


def pin(name: str, source: str) -> None:
    """Pin the namespace of `source` (a namespace file: /run/netns/X,
    /proc/thread-self/ns/net) under `name` too, as `ip netns attach` does.
    Raises FileExistsError if `name` exists."""
    path = netns_path(name)
    _pin_file(NETNS_RUN_DIR, path)
    try:
        mount(source.encode(), path.encode(), b"none", MS_BIND, f"bind-mount {path}")
    except BaseException:
        _unpin(path)
        raise


def same(a: str, b: str) -> bool:
    """Do namespace files `a` and `b` name the same namespace? (False if either is missing.)"""
    try:
        sa, sb = os.stat(a), os.stat(b)
    except FileNotFoundError:
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


# Seconds to wait for another process that is pinning the same UTS namespace; a
# file still bare after that was left by one that died half-way, and is replaced.
UTS_WAIT = 2.0


def join_uts(name: str, hostname: str) -> None:
    """Move this single-threaded process (a child about to become a command)
    into the UTS namespace of sandbox namespace `name`, making and pinning it
    first, with `hostname`, if this is the sandbox's first command. Made on
    first use, not with the sandbox: sandboxes that never run a command (most,
    in a test lab or behind the CNI plugin) never pay its mount."""
    path = uts_path(name)
    deadline = None
    while True:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            if _make_uts(path, hostname):
                return
            continue  # another process won the race: join what it pinned
        try:
            setns(fd, CLONE_NEWUTS)
            return
        except OSError as exc:  # EINVAL: the file is there, its namespace not mounted on it yet
            if exc.errno != errno.EINVAL:
                raise
            deadline = deadline or time.monotonic() + UTS_WAIT
            if time.monotonic() > deadline:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)  # the next round makes it afresh
                deadline = None
                continue
            time.sleep(0.005)
        finally:
            os.close(fd)


def _make_uts(path: str, hostname: str) -> bool:
    """Pin a new UTS namespace with `hostname` at `path` and stay in it; False if
    another process created the file first."""
    try:
        _pin_file(UTS_RUN_DIR, path)
    except FileExistsError:
        return False
    try:
        unshare(CLONE_NEWUTS, "CLONE_NEWUTS")
        sethostname(hostname)
        mount(b"/proc/self/ns/uts", path.encode(), b"none", MS_BIND, f"bind-mount {path}")
    except BaseException:
        _unpin(path)
        raise
    return True


def delete(name: str) -> bool:
    """Unpin namespace `name` (and its UTS namespace, if it has one); the kernel
    frees them (and its links) once unused. False if there was nothing to delete."""
    path = netns_path(name)
    if os.path.exists(uts_path(name)):
        _unpin(uts_path(name))
    if not os.path.exists(path):
        return False
    _unpin(path)
    return True


def list_names(directory: str = NETNS_RUN_DIR) -> list[str]:
    try:
        return sorted(os.listdir(directory))
    except FileNotFoundError:
        return []


def holders(names: list[str]) -> dict[int, str]:
    """pid -> name, for processes (other than this one) inside any of the
    namespaces `names`, in one pass over /proc. Unpinning a namespace frees it
    only when nobody is left inside. One readlink per process (half a stat's
    cost: every `sandbox rm` asks)."""
    wanted = {}
    for name in names:
        try:
            wanted[f"net:[{os.stat(netns_path(name)).st_ino}]"] = name  # one nsfs: the inode names the namespace
        except FileNotFoundError:
            continue
    found, me = {}, str(os.getpid())
    if not wanted:
        return found
    for pid in os.listdir("/proc"):
        if pid.isdigit() and pid != me:
            try:
                name = wanted.get(os.readlink(f"/proc/{pid}/ns/net"))
            except OSError:
                continue
            if name:
                found[int(pid)] = name
    return found
