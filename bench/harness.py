"""The throwaway "host" network namespace every bench run happens in.

    with trap_signals(), SysctlGuard():
        with HostNamespace("run1") as host:      # this thread now lives in host.name
            ...                                   # subprocesses inherit it
        # left again; host, sandboxes and tracked processes are gone

Everything is named with the prefix `nb`: the host `nbhost-<pid>-<tag>`, its
sandboxes `nb<pid><tag>-<i>`.  Nothing here touches the machine's own
networking: bridges, veths, nftables tables and per-namespace sysctls made by
the peers live inside the host namespace and die with it.
"""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from contextlib import contextmanager

from . import nslib
from .labhost import no_upstream, remove_files

# Global (not per-namespace) sysctls a peer might raise; Mininet's fixLimits()
# writes some of these.  Read and restored from the root namespace.
GUARDED_SYSCTLS = [
    "net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding", "fs.file-max", "kernel.pty.max",
    "net.core.netdev_max_backlog", "net.core.wmem_max", "net.core.rmem_max",
    "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem", "net.ipv4.neigh.default.gc_thresh1",
    "net.ipv4.neigh.default.gc_thresh2", "net.ipv4.neigh.default.gc_thresh3",
    "net.ipv4.route.max_size",
]


def sh(*cmd, check=True, **kw) -> subprocess.CompletedProcess:
    """Run a command (in the calling thread's namespace), capturing output."""
    return subprocess.run(list(cmd), check=check, capture_output=True, text=True, **kw)


class HostNamespace:
    """Create `nbhost-<pid>-<tag>`, enter it (this thread only), and on exit go
    back, kill tracked processes, delete tracked sandboxes and the host."""

    def __init__(self, tag: str):
        if not (tag[:1].isalpha() and tag[1:].isdigit()):
            raise ValueError(f"tag {tag!r}: one letter then digits, e.g. r12")
        self.tag = tag
        self.name = f"nbhost-{os.getpid()}-{tag}"
        self.path = nslib.netns_path(self.name)
        self.sandbox_prefix = f"nb{os.getpid()}{tag}-"
        self.tmpdir = ""
        self.pids: list[int] = []
        self._back = -1

    def sandbox_name(self, i: int) -> str:
        return f"{self.sandbox_prefix}{i}"

    def track(self, pid: int) -> None:
        self.pids.append(pid)

    def spawn(self, cmd: list[str], **kw) -> subprocess.Popen:
        """Start a background process in this namespace, killed on exit."""
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, **kw)
        self.track(p.pid)
        return p

    def __enter__(self):
        sh("ip", "netns", "add", self.name)  # also makes /run/netns a shared mount
        try:
            self.tmpdir = tempfile.mkdtemp(prefix=f"nbbench-{self.tag}-")
            self._back = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
            fd = os.open(self.path, os.O_RDONLY)
            try:
                nslib.setns(fd)
            finally:
                os.close(fd)
            sh("ip", "link", "set", "lo", "up")
            no_upstream(self.name)  # an nsnet DNS server here never forwards out
        except BaseException:
            self._cleanup()
            raise
        return self

    def __exit__(self, *exc):
        self._cleanup()
        return False

    def _cleanup(self) -> None:
        if self._back >= 0:
            nslib.setns(self._back)
            os.close(self._back)
            self._back = -1
        kill_pids(self.pids)
        for name in nslib.list_netns(self.sandbox_prefix):
            nslib.delete_netns(name)
        nslib.delete_netns(self.name)
        remove_files(self.name, self.sandbox_prefix)
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)


def kill_pids(pids: list[int], grace_s: float = 2.0) -> None:
    """Terminate processes this bench started, by pid, then SIGKILL stragglers."""
    live = []
    for pid in pids:
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == 0:
                os.kill(pid, signal.SIGTERM)
                live.append(pid)
        except ChildProcessError:  # not our child (e.g. a grandchild): signal only
            try:
                os.kill(pid, signal.SIGTERM)
                live.append(pid)
            except ProcessLookupError:
                pass
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace_s
    for pid in live:
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.05)
        if _alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    pids.clear()


def _alive(pid: int) -> bool:
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie grandchild is as good as gone
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


class _Stop(SystemExit):
    pass


@contextmanager
def trap_signals():
    """Turn SIGTERM/SIGHUP into an exception so every `finally` cleans up."""

    def handler(signum, _frame):
        raise _Stop(128 + signum)

    old = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _sysctl_path(key: str) -> str:
    return "/proc/sys/" + key.replace(".", "/")


def read_sysctls(keys) -> dict:
    out = {}
    for k in keys:
        try:
            with open(_sysctl_path(k)) as f:
                out[k] = f.read().strip()
        except OSError:
            pass
    return out


class SysctlGuard:
    """Snapshot sysctls of the namespace it is entered in; restore any that
    changed on exit and remember which (`.changed`)."""

    def __init__(self, keys=GUARDED_SYSCTLS):
        self.keys = list(keys)
        self.saved: dict = {}
        self.changed: list[str] = []

    def __enter__(self):
        self.saved = read_sysctls(self.keys)
        return self

    def __exit__(self, *exc):
        now = read_sysctls(self.keys)
        for k, v in self.saved.items():
            if now.get(k, v).split() != v.split():
                with open(_sysctl_path(k), "w") as f:
                    f.write(v)
                self.changed.append(k)
        return False


_OURS = re.compile(r"^nbhost-(\d+)-[a-z]\d*$|^nb(\d+)[a-z]\d*-\d+$")


def stale_cleanup() -> list[str]:
    """Remove namespaces named by this harness (nbhost-<pid>-<tag>,
    nb<pid><tag>-<i>) whose process no longer runs (a SIGKILLed harness).
    Other nb* names and namespaces of a live harness are left alone."""
    removed = []
    for name in nslib.list_netns("nb"):
        m = _OURS.match(name)
        if m and not os.path.exists(f"/proc/{m.group(1) or m.group(2)}"):
            nslib.delete_netns(name)
            removed.append(name)
    for entry in os.listdir("/etc/netns") if os.path.isdir("/etc/netns") else []:
        m = _OURS.match(entry)
        if m and not os.path.exists(f"/proc/{m.group(1) or m.group(2)}"):
            remove_files(entry, "")
    return removed


if __name__ == "__main__":
    gone = stale_cleanup()
    print("removed:", " ".join(gone) if gone else "nothing")
