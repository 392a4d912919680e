"""The kernel floor of an attach (#21): the kernel work nsnet's `sandbox_create
NAME --network NET` does, and nothing else. No store, no plan, no checks, no
DNS, no retries: messages built before the clock starts (only the veth's, which
carries the new namespace's fd, is finished at attach time), sent back to back
on sockets opened once, each acked. What an attach costs above this row is
nsnet's own Python, SQLite and files.

Per sandbox, as nsnet does it (`nsnet sandbox create --dry-run` prints the same list):
    netns:  unshare + bind mount, a netlink socket opened inside, lo up
    attach: veth with its peer made in the sandbox (MAC given), on the bridge, up;
            addrgenmode none on both ends; the peer up; its address; the default route
"""

import os
import socket

from nsnet.kernel import nsfs
from nsnet.kernel.netlink import messages
from nsnet.kernel.netlink.nlsocket import NetlinkSocket

from .tool import Endpoint, Tool

BRIDGE, SUBNET, GATEWAY = "nbfbr0", "10.234.0.0/16", "10.234.0.1"
PEER_INDEX = 2  # the first link made in a fresh namespace, after lo (indexes are per namespace)


def ip_of(i: int) -> str:
    return f"10.234.{(i + 2) // 256}.{(i + 2) % 256}"


def mac_of(i: int) -> str:
    return "02:42:0a:ea:{:02x}:{:02x}".format(*divmod(i + 2, 256))


class KernelFloor(Tool):
    family = "floor"
    name, label = "floor", "kernel floor (nsnet's kernel work only)"
    bridge = BRIDGE
    max_n = None

    def __init__(self):
        super().__init__(False)
        self.gateway = GATEWAY
        self.host_sock: NetlinkSocket | None = None
        self.socks: dict[int, NetlinkSocket] = {}
        self.inside: dict[int, list] = {}
        self.outside: dict[int, tuple] = {}
        self.master = 0
        self.lo_up = messages.link_set("lo", up=True)

    def setup_host(self, host):
        super().setup_host(host)
        self.host_sock = NetlinkSocket(socket.NETLINK_ROUTE)
        self.host_sock.request(*messages.bridge(BRIDGE))
        self.master = socket.if_nametoindex(BRIDGE)
        self.host_sock.request(*messages.addr(self.master, f"{GATEWAY}/16"))
        self.host_sock.request(*messages.link_set(BRIDGE, up=True))
        with open("/proc/sys/net/ipv4/ip_forward", "w") as f:  # the host namespace's own copy
            f.write("1")

    def prepare(self, n: int) -> None:
        """Every message of N sandboxes but the veth's, before the clock starts."""
        for i in range(n):
            self.inside[i] = [messages.addrgen_none("eth0"), messages.link_set("eth0", up=True),
                              messages.addr(PEER_INDEX, f"{ip_of(i)}/16"),
                              messages.route("0.0.0.0/0", via=GATEWAY)]
            self.outside[i] = (f"nbf{i}", messages.addrgen_none(f"nbf{i}"))

    def create_sandbox(self, i):
        if i not in self.inside:
            self.prepare(i + 1)
        name = self.host.sandbox_name(i)
        sock = nsfs.create(name, on_enter=lambda: NetlinkSocket(socket.NETLINK_ROUTE))
        sock.request(*self.lo_up)
        self.socks[i] = sock
        return name

    def attach(self, i):
        name = self.host.sandbox_name(i)
        host_end, addrgen = self.outside[i]
        fd = nsfs.open_fd(name)
        try:
            self.host_sock.request(*messages.veth(host_end, "eth0", fd, self.master, None, mac_of(i)))
        finally:
            os.close(fd)
        self.host_sock.request(*addrgen)
        sock = self.socks[i]
        for msg in self.inside[i]:
            sock.request(*msg)
        ep = Endpoint(name, ip_of(i), None)
        self.endpoints[i] = ep
        return ep

    def remove_sandbox(self, i):
        sock = self.socks.pop(i, None)
        if sock:
            sock.close()
        super().remove_sandbox(i)

    def close(self):
        for sock in self.socks.values():
            sock.close()
        self.socks.clear()
        if self.host_sock:
            self.host_sock.close()
            self.host_sock = None

