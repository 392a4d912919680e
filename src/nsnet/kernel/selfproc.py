"""This process as /proc/self shows it: which namespaces and privileges it
has (a warm server serves only callers with exactly its own), and its
command line (a process forked from a warm server shows what it became).
Only `os`: every `nsnet` process imports this."""

import os

PRIVILEGES = (b"Uid:", b"Gid:", b"Groups:", b"CapInh:", b"CapPrm:", b"CapEff:", b"CapBnd:", b"CapAmb:",
              b"NoNewPrivs:", b"Seccomp:")
# What a process it starts inherits besides (`nice`, `taskset`, `prlimit`, `choom`, a systemd scope, a login)
CONDITIONS = ("/proc/self/cgroup", "/proc/self/limits", "/proc/self/oom_score_adj", "/proc/self/loginuid",
              "/proc/self/attr/current")


def netns_id(proc: str = "thread-self") -> str:
    """The network namespace of this thread (or of /proc/PROC), as DEV:INODE."""
    st = os.stat(f"/proc/{proc}/ns/net")
    return f"{st.st_dev}:{st.st_ino}"


def identity() -> str:
    """Network and mount namespaces, user and groups, capabilities, seccomp
    (`setpriv` may have taken some away), and what a process started from here
    inherits: cgroup, resource limits, OOM score, login, security label,
    scheduling (policy, nice value, CPUs)."""
    mnt = os.stat("/proc/thread-self/ns/mnt")  # this thread's, as its network namespace (setns)
    with open("/proc/self/status", "rb") as f:
        privileges = b" ".join(b",".join(line.split()) for line in f if line.startswith(PRIVILEGES))
    conditions = []
    for path in CONDITIONS:
        try:
            with open(path, "rb") as f:
                conditions.append(f.read().hex())
        except OSError:  # no LSM, no audit
            conditions.append("-")
    scheduling = (os.sched_getscheduler(0), os.getpriority(os.PRIO_PROCESS, 0), sorted(os.sched_getaffinity(0)))
    return (f"{netns_id()}:{mnt.st_dev}:{mnt.st_ino}:{privileges.decode()}:{':'.join(conditions)}:"
            f"{scheduling}")


def set_cmdline(argv: list[str]) -> None:
    """Show `argv` as this process's command line (/proc/PID/cmdline, ps),
    written over the memory of the one it was started with, as setproctitle
    does: it must fit there (if it does not, nothing changes)."""
    import ctypes

    with open("/proc/self/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    start, end = int(fields[45]), int(fields[46])  # arg_start, arg_end: fields 48 and 49 of proc(5)
    new = b"".join(a.encode("utf-8", "surrogateescape") + b"\0" for a in argv)
    if len(new) <= end - start:
        ctypes.memmove(start, new + b"\0" * (end - start - len(new)), end - start)


def in_machine_netns() -> bool:
    """Is this thread in the network namespace of pid 1 (the machine's, or the
    container's)? Where pid 1 may not be looked at (a VM's init), kthreadd's
    (pid 2) is the machine's; where neither can be read, no."""
    for pid in ("1", "2"):
        try:
            return netns_id(pid) == netns_id()
        except PermissionError:
            continue
        except OSError:
            return False
    return False


def pid_from(pidfile: str, *words: bytes) -> int | None:
    """The pid in `pidfile` if that process runs with each of `words` in its
    argv (a pid file may outlive its process, and pids are reused)."""
    try:
        with open(pidfile) as f:
            pid = int(f.read())
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
    except (OSError, ValueError):
        return None
    return pid if all(word in argv for word in words) else None


def open_fds() -> list[int]:
    """This process's open file descriptors (the listing's own among them, closed by now)."""
    try:
        return [int(fd) for fd in os.listdir("/proc/self/fd")]
    except OSError:
        return []


def reap_ended(pids: list[int]) -> None:
    """Collect those of this process's children `pids` that ended (no zombies left);
    they leave the list, the ones still running stay."""
    for pid in list(pids):
        try:
            if os.waitpid(pid, os.WNOHANG) == (0, 0):
                continue
        except ChildProcessError:  # not ours, or collected already
            pass
        pids.remove(pid)


def reap(pid: int, timeout: float) -> bool:
    """Collect the exit of this process's child `pid`, waiting `timeout` s at
    most (a killed child may take a moment: a Go process's threads are still
    leaving when its main thread is a zombie); False if it still runs. Another's
    child is not ours to collect."""
    import time  # here: every `nsnet` process imports this module

    deadline = time.monotonic() + timeout
    try:
        while os.waitpid(pid, os.WNOHANG) == (0, 0):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.001)
    except ChildProcessError:  # not ours, or collected already
        pass
    return True
