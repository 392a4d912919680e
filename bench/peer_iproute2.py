"""What a user writes by hand: iproute2 + nft.

- IpLoop   : the tutorial shell loop, one `ip`/`nft` process per step
             (`ip netns add`, veth with its peer made in the sandbox, master,
             up, address, route, one `nft add rule` per published port).
- IpBatch  : the same per sandbox in three processes: `ip netns add`, one
             `ip -batch` for the host side, one `ip -n NS -batch` inside
             (+ one `nft -f` for the port).
- IpBatchAll: all N at once: one `ip -batch` of `netns add`, one host-side
             `ip -batch`, one `ip -n NS -batch` per sandbox, one `nft -f`; the
             fork-count floor, reported as total / N.
Teardown is `ip netns del` (the veth goes with the namespace) and deleting the
sandbox's nft rule by handle.
"""

import re

from . import proc
from .tool import CONTAINER_PORT, Endpoint, Tool

BRIDGE, SUBNET, GATEWAY = "nbibr0", "10.233.0.0/16", "10.233.0.1"
TABLE, HOSTPORT_BASE = "nbinat", 32000
NAT_TABLE = f"""
table ip {TABLE} {{
  chain prerouting {{ type nat hook prerouting priority -100; }}
  chain postrouting {{
    type nat hook postrouting priority 100;
    ip saddr {SUBNET} oifname != "{BRIDGE}" masquerade
    ip saddr {SUBNET} ip daddr {SUBNET} ct status dnat masquerade
  }}
}}
"""


def ip_of(i: int) -> str:
    return f"10.233.{(i + 2) // 256}.{(i + 2) % 256}"


def run(*cmd, stdin: str | None = None) -> str:
    res = proc.run(list(cmd), input=stdin, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {res.stderr.strip()}")
    return res.stdout


def dnat_rule(i: int) -> str:
    return (f"add rule ip {TABLE} prerouting fib daddr type local tcp dport "
            f"{HOSTPORT_BASE + i} dnat to {ip_of(i)}:{CONTAINER_PORT}")


class IpLoop(Tool):
    family = "iproute2"
    bridge = BRIDGE
    variant = "loop"
    max_n = 200  # ~40-90 s at N=1000 and says nothing ip -batch does not

    def __init__(self, ports: bool = False):
        super().__init__(ports)
        self.name = f"ip-{self.variant}" + ("-port" if ports else "")
        self.label = {"loop": "iproute2 loop", "batch": "ip -batch", "batchall": "ip -batch (all N)"}[
            self.variant] + (" + port" if ports else "")
        self.gateway = GATEWAY

    def setup_host(self, host):
        super().setup_host(host)
        self.handles: dict[int, str] = {}
        run("ip", "-batch", "-", stdin=f"link add {BRIDGE} type bridge\n"
            f"addr add {GATEWAY}/16 dev {BRIDGE}\nlink set {BRIDGE} up\n")
        run("sysctl", "-qw", "net.ipv4.ip_forward=1")  # host namespace's own copy
        run("nft", "-f", "-", stdin=NAT_TABLE)

    def create_sandbox(self, i):
        name = self.host.sandbox_name(i)
        run("ip", "netns", "add", name)
        return name

    def _endpoint(self, i: int) -> Endpoint:
        ep = Endpoint(self.host.sandbox_name(i), ip_of(i), HOSTPORT_BASE + i if self.ports else None)
        self.endpoints[i] = ep
        return ep

    def _add_rule(self, i: int) -> None:
        out = run("nft", "--echo", "--handle", "-f", "-", stdin=dnat_rule(i) + "\n")
        self.handles[i] = re.search(r"# handle (\d+)", out).group(1)

    def attach(self, i):
        ns, veth = self.host.sandbox_name(i), f"nbv{i}"
        run("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
        run("ip", "link", "set", veth, "master", BRIDGE)
        run("ip", "link", "set", veth, "up")
        run("ip", "-n", ns, "link", "set", "lo", "up")
        run("ip", "-n", ns, "addr", "add", f"{ip_of(i)}/16", "dev", "eth0")
        run("ip", "-n", ns, "link", "set", "eth0", "up")
        run("ip", "-n", ns, "route", "add", "default", "via", GATEWAY)
        if self.ports:
            self._add_rule(i)
        return self._endpoint(i)

    def detach(self, i):
        if i in self.handles:
            run("nft", "delete", "rule", "ip", TABLE, "prerouting", "handle", self.handles.pop(i))

    def remove_sandbox(self, i):
        run("ip", "netns", "del", self.host.sandbox_name(i))


def host_batch(i: int, ns: str) -> str:
    return f"link add nbv{i} type veth peer name eth0 netns {ns}\nlink set nbv{i} master {BRIDGE} up\n"


def sandbox_batch(i: int) -> str:
    return (f"link set lo up\naddr add {ip_of(i)}/16 dev eth0\nlink set eth0 up\n"
            f"route add default via {GATEWAY}\n")


class IpBatch(IpLoop):
    variant = "batch"
    max_n = None

    def attach(self, i):
        ns = self.host.sandbox_name(i)
        run("ip", "-batch", "-", stdin=host_batch(i, ns))
        run("ip", "-n", ns, "-batch", "-", stdin=sandbox_batch(i))
        if self.ports:
            self._add_rule(i)
        return self._endpoint(i)


class IpBatchAll(IpLoop):
    variant = "batchall"
    batch = True
    max_n = None  # the floor: worth N=1000

    def attach_all(self, n):
        names = [self.host.sandbox_name(i) for i in range(n)]
        run("ip", "-batch", "-", stdin="".join(f"netns add {ns}\n" for ns in names))
        run("ip", "-batch", "-", stdin="".join(host_batch(i, ns) for i, ns in enumerate(names)))
        for i, ns in enumerate(names):
            run("ip", "-n", ns, "-batch", "-", stdin=sandbox_batch(i))
        if self.ports:
            run("nft", "-f", "-", stdin="".join(dnat_rule(i) + "\n" for i in range(n)))
        for i in range(n):
            self._endpoint(i)

    def teardown_all(self):
        names = [self.host.sandbox_name(i) for i in sorted(self.endpoints)]
        if self.ports:
            run("nft", "flush", "chain", "ip", TABLE, "prerouting")
        run("ip", "-batch", "-", stdin="".join(f"netns del {ns}\n" for ns in names))
        self.endpoints.clear()
        return []
