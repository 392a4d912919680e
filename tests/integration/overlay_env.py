"""A lab of simulated hosts for overlay tests, all in throwaway namespaces
('nv' + random, or another prefix): an "underlay" namespace with a bridge, and
hosts wired to it (10.99.0.N/24 on their `ul0`), each with its own Engine,
state dir and `nsnet agent` process (started and stopped by pid). Everything
is removed in destroy(), even after a failure: a host's WireGuard device
(wireguard-go, by its recorded pid) before its namespace."""

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid

from nsnet import Engine
from nsnet.drivers import tunnel
from nsnet.kernel import nsfs, wireguard

from .helpers import NSNET, in_ns, remove_etc, sh

UNDERLAY = "10.99.0"


def _rand() -> str:
    return uuid.uuid4().hex[:6]


class Underlay:
    def __init__(self, prefix: str = "nv"):
        self.name = f"{prefix}u{_rand()}"
        sh("ip", "netns", "add", self.name)
        sh("ip", "-n", self.name, "link", "set", "lo", "up")
        sh("ip", "-n", self.name, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", self.name, "link", "set", "br0", "up")

    def destroy(self):
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)


class OverlayHost:
    def __init__(self, underlay: Underlay, index: int, store_url: str, tag: str = "", prefix: str = "nv"):
        self.index = index
        self.name = f"{prefix}h{index}{tag}{_rand()}"
        self.address = f"{UNDERLAY}.{index}"
        self.state_dir = tempfile.mkdtemp(prefix=f"{self.name}-")
        self.store_url = store_url
        self.agent: subprocess.Popen | None = None
        sh("ip", "netns", "add", self.name)
        sh("ip", "-n", self.name, "link", "set", "lo", "up")
        self.underlay, self.port = underlay, f"p{self.name[-8:]}"
        sh("ip", "-n", self.name, "link", "add", "ul0", "type", "veth", "peer", "name", self.port,
           "netns", underlay.name)
        sh("ip", "-n", underlay.name, "link", "set", self.port, "master", "br0", "up")
        sh("ip", "-n", self.name, "addr", "add", f"{self.address}/24", "dev", "ul0")
        sh("ip", "-n", self.name, "link", "set", "ul0", "up")
        self.engine = Engine(host_netns=self.name, state_dir=self.state_dir, cluster_store=store_url)
        self.env = dict(os.environ, NSNET_HOST_NETNS=self.name, NSNET_STATE_DIR=self.state_dir,
                        NSNET_STORE=store_url)

    def set_underlay_mtu(self, mtu: int) -> None:
        sh("ip", "-n", self.name, "link", "set", "ul0", "mtu", str(mtu))
        sh("ip", "-n", self.underlay.name, "link", "set", self.port, "mtu", str(mtu))

    @property
    def log_path(self) -> str:
        return os.path.join(self.state_dir, "agent.log")

    def start_agent(self, ttl: int = 3, wait: bool = True) -> None:
        with open(self.log_path, "ab") as log:
            self.agent = subprocess.Popen([NSNET, "agent", "--advertise-address", self.address, "--ttl", str(ttl)],
                                          env=self.env, stdout=log, stderr=subprocess.STDOUT)
        if wait:
            assert self.wait_registered(), f"agent of {self.name} did not register:\n{self.agent_log()}"

    def wait_registered(self, timeout: float = 15.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.agent is not None and self.agent.poll() is not None:
                return False
            with contextlib.suppress(Exception):
                if self.name in self.engine.overlay_hosts() and "in sync" in self.agent_log():
                    return True
            time.sleep(0.05)
        return False

    def stop_agent(self, sig=signal.SIGTERM) -> int | None:
        if self.agent is None:
            return None
        proc, self.agent = self.agent, None
        if proc.poll() is None:
            os.kill(proc.pid, sig)
            try:
                return proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        return proc.returncode

    def agent_log(self) -> str:
        try:
            with open(self.log_path) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def sandbox(self, name: str, network: str | None = None, ip: str | None = None) -> str:
        """Create a sandbox (optionally attached); returns its address or netns."""
        self.engine.sandbox_create(name)
        if network:
            return self.engine.network_connect(network, name, ip=ip)["ip"]
        return self.netns(name)

    def netns(self, sandbox: str) -> str:
        return self.engine.netns_name(sandbox)

    def cli(self, *args, timeout=60):
        return subprocess.run([NSNET, *args], env=self.env, capture_output=True, text=True, timeout=timeout)

    def fdb(self, vxlan: str) -> str:
        return sh("bridge", "-n", self.name, "fdb", "show", "dev", vxlan, check=False).stdout

    def neigh(self, vxlan: str) -> str:
        return sh("ip", "-n", self.name, "neigh", "show", "dev", vxlan, check=False).stdout

    @property
    def tunnel_device(self) -> dict:
        """This host's WireGuard device as the kernel verbs know it (ifname, run dir)."""
        return tunnel.device(self.state_dir, "0.0.0.0")

    def wireguard_pid(self) -> int | None:
        """The pid of this host's wireguard-go, if one runs (from its record)."""
        record = wireguard.read_record(self.tunnel_device)
        return int(record["pid"]) if wireguard.is_running(record) else None

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self.stop_agent(signal.SIGKILL)
        with contextlib.suppress(Exception):
            self.engine.kernel.wg_down(self.tunnel_device)  # its wireguard-go would keep the namespace alive
        with contextlib.suppress(Exception):
            pid = self.engine.dns_pid()  # a DNS server the engine started for a bridge network
            if pid:
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            self.engine.close()
        prefix = self.engine.settings.netns_prefix
        for d in [*glob.glob(f"/etc/netns/{prefix}*"), f"/etc/netns/{self.name}"]:
            remove_etc(d)
        for ns in nsfs.list_names():
            if ns.startswith(prefix):
                nsfs.delete(ns)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)
        shutil.rmtree(self.state_dir, ignore_errors=True)


class Lab:
    """An underlay and the hosts on it, sharing one cluster store."""

    def __init__(self, store_url: str, prefix: str = "nv"):
        self.store_url = store_url
        self.prefix = prefix
        self.underlay = Underlay(prefix)
        self.hosts: list[OverlayHost] = []
        self.extra_ns: list[str] = []

    def add_host(self, agent: bool = True, ttl: int = 3) -> OverlayHost:
        host = OverlayHost(self.underlay, len(self.hosts) + 1, self.store_url, prefix=self.prefix)
        self.hosts.append(host)
        if agent:
            host.start_agent(ttl=ttl)
        return host

    def outside(self, host: OverlayHost, net: str) -> str:
        """An 'outside world' namespace wired to `host` only: host NET.1, outside NET.2 (/24)."""
        name = f"{self.prefix}o{_rand()}"
        self.extra_ns.append(name)
        sh("ip", "netns", "add", name)
        sh("ip", "-n", name, "link", "set", "lo", "up")
        sh("ip", "-n", host.name, "link", "add", "wan0", "type", "veth", "peer", "name", "eth0", "netns", name)
        sh("ip", "-n", host.name, "addr", "add", f"{net}.1/24", "dev", "wan0")
        sh("ip", "-n", host.name, "link", "set", "wan0", "up")
        sh("ip", "-n", name, "addr", "add", f"{net}.2/24", "dev", "eth0")
        sh("ip", "-n", name, "link", "set", "eth0", "up")
        return name

    def destroy(self) -> None:
        for host in self.hosts:
            host.destroy()
        for name in self.extra_ns:
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
        self.underlay.destroy()

    def leftovers(self) -> list[str]:
        names = [h.name for h in self.hosts] + self.extra_ns + [self.underlay.name]
        return [ns for ns in nsfs.list_names() if any(ns.startswith(n) for n in names)]


def wait_ping(ns: str, ip: str, timeout: float = 5.0) -> float | None:
    """Seconds until `ip` answers a ping from `ns` (None: not within timeout)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if in_ns(ns, "ping", "-n", "-q", "-c", "1", "-W", "0.2", ip).returncode == 0:
            return time.monotonic() - start
    return None


BULK_SERVER = r"""
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(1); s.settimeout(20)
print("ready", flush=True)
c, _ = s.accept(); c.settimeout(20); total = 0
while True:
    data = c.recv(1 << 16)
    if not data:
        break
    total += len(data)
c.sendall(str(total).encode()); c.close()
"""

BULK_CLIENT = r"""
import socket, sys
size = int(sys.argv[3]); s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=20)
chunk = b"x" * 65536; sent = 0
while sent < size:
    n = min(len(chunk), size - sent); s.sendall(chunk[:n]); sent += n
s.shutdown(socket.SHUT_WR); print(s.recv(100).decode())
"""


def bulk_transfer(server_ns: str, client_ns: str, addr: str, size: int, port: int = 5601) -> int | None:
    """Send `size` bytes over TCP from client_ns to addr; the byte count the server got."""
    srv = subprocess.Popen(["ip", "netns", "exec", server_ns, "python3", "-c", BULK_SERVER, str(port)],
                           stdout=subprocess.PIPE, text=True)
    try:
        assert srv.stdout.readline().strip() == "ready"
        cli = subprocess.run(["ip", "netns", "exec", client_ns, "python3", "-c", BULK_CLIENT, addr, str(port),
                              str(size)], capture_output=True, text=True, timeout=40)
        return int(cli.stdout.strip()) if cli.returncode == 0 and cli.stdout.strip().isdigit() else None
    finally:
        srv.kill()
        srv.wait(timeout=5)
