"""The concrete Steps. Each maps to one kernel verb and explains itself as the
`ip` command that does the same, runnable with `ip -batch` (without the 'ip ')."""

from dataclasses import dataclass

from .plan import Step


def _ip(ns: str | None, rest: str) -> str:
    return f"ip -n {ns} {rest}" if ns else f"ip {rest}"


@dataclass
class CreateNetns(Step):
    name: str
    kind = "netns_add"

    def apply(self, k):
        k.netns_create(self.name)

    def undo(self, k):
        k.netns_delete(self.name)

    def explain(self):
        return [f"ip netns add {self.name}", _ip(self.name, "link set lo up")]


@dataclass
class DeleteNetns(Step):
    name: str
    kind = "netns_del"

    def apply(self, k):
        k.netns_delete(self.name)

    def explain(self):
        return [f"ip netns del {self.name}"]


@dataclass
class CreateBridge(Step):
    ifname: str
    mtu: int | None = None
    kind = "bridge_add"

    def apply(self, k):
        k.bridge_add(self.ifname, self.mtu)

    def undo(self, k):
        k.link_del(None, self.ifname)

    def explain(self):
        mtu = f" mtu {self.mtu}" if self.mtu else ""
        return [f"ip link add {self.ifname}{mtu} type bridge", f"ip link set {self.ifname} up"]


@dataclass
class CreateVeth(Step):
    """A veth pair: `ifname` in `ns`, the peer made directly inside `peer_ns`."""

    ns: str | None
    ifname: str
    peer_ns: str | None
    peer_ifname: str
    master: str | None = None
    mtu: int | None = None
    kind = "veth_add"

    def apply(self, k):
        k.veth_add(self.ns, self.ifname, self.peer_ns, self.peer_ifname, self.master, self.mtu)

    def undo(self, k):
        k.link_del(self.ns, self.ifname)

    def explain(self):
        mtu = f" mtu {self.mtu}" if self.mtu else ""
        peer_netns = f" netns {self.peer_ns}" if self.peer_ns else ""
        master = f" master {self.master}" if self.master else ""
        return [
            _ip(self.ns, f"link add {self.ifname}{mtu} type veth peer name {self.peer_ifname}{mtu}{peer_netns}"),
            _ip(self.ns, f"link set {self.ifname}{master} up"),
            _ip(self.peer_ns, f"link set {self.peer_ifname} up"),
        ]


@dataclass
class DeleteLink(Step):
    ns: str | None
    ifname: str
    kind = "link_del"

    def apply(self, k):
        k.link_del(self.ns, self.ifname)

    def explain(self):
        return [_ip(self.ns, f"link del {self.ifname}")]


@dataclass
class AddAddress(Step):
    ns: str | None
    ifname: str
    cidr: str
    kind = "addr_add"

    def apply(self, k):
        k.addr_add(self.ns, self.ifname, self.cidr)

    def undo(self, k):
        k.addr_del(self.ns, self.ifname, self.cidr)

    def explain(self):
        return [_ip(self.ns, f"addr add {self.cidr} dev {self.ifname}")]


@dataclass
class AddRoute(Step):
    ns: str | None
    dest: str
    via: str | None = None
    dev: str | None = None
    kind = "route_add"

    def apply(self, k):
        k.route_add(self.ns, self.dest, self.via, self.dev)

    def undo(self, k):
        k.route_del(self.ns, self.dest, self.via, self.dev)

    def explain(self):
        dest = "default" if self.dest in ("0.0.0.0/0", "::/0") else self.dest
        via = f" via {self.via}" if self.via else ""
        dev = f" dev {self.dev}" if self.dev else ""
        return [_ip(self.ns, f"route add {dest}{via}{dev} proto static")]


@dataclass
class DeleteRoute(Step):
    ns: str | None
    dest: str
    via: str | None = None
    dev: str | None = None
    kind = "route_del"

    def apply(self, k):
        k.route_del(self.ns, self.dest, self.via, self.dev)

    def undo(self, k):
        k.route_add(self.ns, self.dest, self.via, self.dev)

    def explain(self):
        dest = "default" if self.dest in ("0.0.0.0/0", "::/0") else self.dest
        via = f" via {self.via}" if self.via else ""
        return [_ip(self.ns, f"route del {dest}{via}")]
