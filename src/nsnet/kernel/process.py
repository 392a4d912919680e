"""Processes and namespaces beyond the network: joining a sandbox the way
`ip netns exec` does, PID namespaces, a fresh /proc, the process name.

`enter` joins the network namespace (and the sandbox's UTS namespace: its
hostname, where it has one), takes a private mount namespace with a
fresh /sys (so /sys/class/net shows the sandbox's interfaces) and the files of
/etc/netns/NAME/ bind-mounted over /etc. `exec_in` then replaces the process
with the command (no fork: stdio and the exit code pass through). The run/
package calls these from the children it forks."""

import os

from .libc import (
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWUTS,
    MS_BIND,
    MS_NODEV,
    MS_NOEXEC,
    MS_NOSUID,
    MS_REC,
    MS_SLAVE,
    PR_SET_NAME,
    libc,
    mount,
    setns,
    umount,
    unshare,
)
from .nsfs import NETNS_RUN_DIR, join_uts, open_fd


def _private_mounts() -> None:
    unshare(CLONE_NEWNS, "CLONE_NEWNS")
    # Keep our mounts from propagating back to the host's mount namespace.
    mount(b"none", b"/", None, MS_REC | MS_SLAVE, "make / rslave")


def enter(netns: str | None, private_mounts: bool = False, hostname: str | None = None) -> None:
    """Move this (single-threaded) process into `netns` with `ip netns exec`'s
    view, and into the sandbox's UTS namespace (made with `hostname` by its
    first command) where `hostname` is given. With netns None it stays in the
    caller's network namespace, and private_mounts still gives it a mount
    namespace of its own (for the /proc of a new PID namespace)."""
    if netns is None:
        if private_mounts:
            _private_mounts()
        return
    fd = open_fd(netns)
    try:
        setns(fd)
    finally:
        os.close(fd)
    if hostname and "/" not in netns:  # a namespace by path is a runtime's: its hostname is the runtime's
        join_uts(netns, hostname)  # in the host's mount namespace still: the pin must be visible there
    _private_mounts()
    if umount(b"/sys"):
        mount(b"sysfs", b"/sys", b"sysfs", 0, "mount /sys")
    etc_dir = os.path.join("/etc/netns", netns)
    if os.path.isdir(etc_dir):
        for entry in sorted(os.listdir(etc_dir)):
            src, dst = os.path.join(etc_dir, entry), os.path.join("/etc", entry)
            if os.path.exists(dst):
                mount(src.encode(), dst.encode(), b"none", MS_BIND, f"bind {src} on {dst}")


def private_run(netns_fd: int | None, run_dir: str) -> None:
    """For a helper (wireguard-go, wg) whose sockets live in /run: join the
    namespace of `netns_fd` and see `run_dir` as /run, in a mount namespace of
    its own. Its copy of /run/netns is let go first, so a long-lived helper
    keeps no other network namespace alive."""
    if netns_fd is not None:
        setns(netns_fd)
    run = os.path.realpath("/var/run")  # where /var/run/wireguard really is (/run on Debian)
    _private_mounts()
    umount(NETNS_RUN_DIR.encode())
    mount(run_dir.encode(), run.encode(), None, MS_BIND, f"bind {run_dir} on {run}")


def exec_in(netns: str | None, argv: list[str], hostname: str | None = None) -> None:
    """`nsnet exec`: become `argv` inside sandbox namespace `netns` (with its hostname)."""
    enter(netns, hostname=hostname)
    os.execvp(argv[0], argv)


def join(pid: int) -> None:
    """Join the network, mount and UTS namespaces of process `pid` (its interfaces,
    its /proc, /sys and /etc files, its hostname), and its PID namespace for the children
    this process makes next, as `docker exec` does. The working directory is
    kept where the joined mounts have it. Call single-threaded."""
    kinds = (("net", CLONE_NEWNET), ("mnt", CLONE_NEWNS), ("pid", CLONE_NEWPID), ("uts", CLONE_NEWUTS))
    fds = [os.open(f"/proc/{pid}/ns/{kind}", os.O_RDONLY | os.O_CLOEXEC) for kind, _ in kinds]
    cwd = os.getcwd()
    try:
        for fd, (_, flag) in zip(fds, kinds, strict=True):
            setns(fd, flag)  # the UTS one too: the sandbox's hostname
    finally:
        for fd in fds:
            os.close(fd)
    try:
        os.chdir(cwd)
    except OSError:
        os.chdir("/")


def unshare_pid() -> None:
    """The caller's next child is pid 1 of a new PID namespace."""
    unshare(CLONE_NEWPID, "CLONE_NEWPID")


def own_pid_ns() -> int:
    return os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)


def restore_pid_ns(fd: int) -> None:
    """Later children are born in our own PID namespace again (after unshare_pid
    and the one fork it was for; else any later fork fails once that pid 1 exits)."""
    try:
        setns(fd, CLONE_NEWPID)
    finally:
        os.close(fd)


def mount_proc() -> None:
    """A /proc that shows the caller's PID namespace (call from inside it)."""
    mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mount /proc")


def set_name(name: str) -> None:
    libc.prctl(PR_SET_NAME, name.encode()[:15], 0, 0, 0)
