"""Throwaway hosts for integration tests: every test's engine lives in its own
host namespace ('nt' + random), with its own state dir and sandbox prefix, and
everything is removed afterwards even when the test fails."""

import contextlib
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

from nsnet import Engine
from nsnet.kernel import nsfs
from nsnet.testing import remove_etc

PREFIX = "nt"
NSNET = os.path.join(os.path.dirname(sys.executable), "nsnet")  # the venv's console script


def sh(*argv, check=True, timeout=20, **kw):
    return subprocess.run(argv, check=check, capture_output=True, text=True, timeout=timeout, **kw)


def in_ns(ns, *argv, check=False, timeout=20, **kw):
    """Run argv inside namespace ns (the test's own tools, not nsnet's)."""
    return sh("ip", "netns", "exec", ns, *argv, check=check, timeout=timeout, **kw)


def ping(ns, ip, timeout=10) -> bool:
    """Does `ip` answer a ping from `ns`? The first packet after a change may wait
    for ARP, a new port or a busy machine, so pings go every 0.2 s until one is
    answered, for at most `timeout` seconds (a working path answers in ms)."""
    return in_ns(ns, "ping", "-n", "-q", "-c", "1", "-i", "0.2", "-w", str(timeout), ip,
                 timeout=timeout + 10).returncode == 0


def blocked(ns, ip, wait=1) -> bool:
    """No answer to one ping from `ns` within `wait` seconds: for what must not get
    through (on a busy machine a slow answer can only make this pass, never fail)."""
    return in_ns(ns, "ping", "-n", "-q", "-c", "1", "-W", str(wait), ip).returncode != 0


def set_bridge_nf(ns: str, on: bool) -> None:
    """bridge-nf-call-iptables in namespace `ns` (a test's own host): with
    br_netfilter loaded every new namespace starts with 1, as on Docker and
    Kubernetes hosts, and bridged IPv4 frames then cross the inet hooks."""
    value = "1" if on else "0"
    sh("ip", "netns", "exec", ns, "sysctl", "-qw", f"net.bridge.bridge-nf-call-iptables={value}")
    got = sh("ip", "netns", "exec", ns, "sysctl", "-n", "net.bridge.bridge-nf-call-iptables").stdout.strip()
    assert got == value, f"bridge-nf-call-iptables is {got} in {ns}"


def links(ns) -> list[str]:
    out = sh("ip", "-n", ns, "-o", "link", "show").stdout
    return sorted(line.split(":")[1].strip().split("@")[0] for line in out.splitlines())


class Host:
    """A throwaway host namespace and an Engine that treats it as the host."""

    def __init__(self, tag: str = ""):
        self.name = f"{PREFIX}{tag}{uuid.uuid4().hex[:6]}"
        self.state_dir = tempfile.mkdtemp(prefix=f"{self.name}-state-")
        sh("ip", "netns", "add", self.name)
        sh("ip", "-n", self.name, "link", "set", "lo", "up")
        # The host namespace's resolvers, as nsnet's DNS server sees them: none, so
        # it never forwards to the machine's real resolver (tests that need an
        # upstream write their own).
        os.makedirs(f"/etc/netns/{self.name}", exist_ok=True)
        with open(f"/etc/netns/{self.name}/resolv.conf", "w") as f:
            f.write("# test host: no upstream resolvers\n")
        self.engine = Engine(host_netns=self.name, state_dir=self.state_dir)
        self.env = dict(os.environ, NSNET_HOST_NETNS=self.name, NSNET_STATE_DIR=self.state_dir)

    @property
    def prefix(self) -> str:
        return self.engine.settings.netns_prefix

    def sandbox_namespaces(self) -> list[str]:
        return [n for n in nsfs.list_names() if n.startswith(self.prefix)]

    def host_links(self) -> list[str]:
        return links(self.name)

    def cli(self, *args, check=False, input=None, timeout=30):
        return subprocess.run([NSNET, *args], env=self.env, capture_output=True, text=True,
                              input=input, timeout=timeout, check=check)

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            pid = self.engine.dns_pid()  # the engine's DNS server, if it started one
            if pid:
                os.kill(pid, 9)
        for d in [*glob.glob(f"/etc/netns/{self.prefix}*"), f"/etc/netns/{self.name}"]:
            remove_etc(d)
        with contextlib.suppress(Exception):
            self.engine.close()
        for ns in self.sandbox_namespaces():
            nsfs.delete(ns)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)
        shutil.rmtree(self.state_dir, ignore_errors=True)


def ended(pid: int) -> bool:
    """The process is gone, or a zombie nobody reaped yet (it runs no more)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def wait_until(predicate, timeout=5.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
