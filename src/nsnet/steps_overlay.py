"""Steps of the overlay driver: the VXLAN device, static forwarding-database and
neighbour entries for endpoints on other hosts, and a sandbox interface's MAC.
Each explains itself as the iproute2 command that does the same."""

from dataclasses import dataclass

from .plan import Step
from .steps import _ip, _link, _master_name


@dataclass
class CreateVxlan(Step):
    """`ip link add IF type vxlan id VNI local ADDR dstport PORT nolearning proxy`,
    enslaved to `master`: no multicast group and no learning, so frames reach
    only the hosts the static fdb names; proxy: ARP is answered from the
    neighbour table on this host instead of being flooded."""

    ifname: str
    vni: int
    local: str
    port: int = 4789
    mtu: int | None = None
    master: str | None = None
    kind = "vxlan_add"

    def apply(self, k):
        k.vxlan_add(None, self.ifname, self.vni, self.local, self.port, self.mtu, self.master)

    def undo(self, k):
        k.link_del(None, self.ifname)

    def explain(self):
        mtu = f" mtu {self.mtu}" if self.mtu else ""
        master = f" master {self.master}" if self.master else ""
        return [f"ip link add {self.ifname}{mtu} type vxlan id {self.vni} local {self.local} "
                f"dstport {self.port} nolearning proxy",
                f"ip link set {self.ifname}{master} up"]

    def check(self, k):
        link = _link(k, None, self.ifname)
        return bool(link and link["kind"] == "vxlan" and link["up"]
                    and (not self.master or _master_name(k, None, link) == self.master))


@dataclass
class SetMacAddress(Step):
    """A fixed MAC on an interface (overlay endpoints: derived from the address,
    so other hosts can program it without asking)."""

    ns: str | None
    ifname: str
    mac: str
    kind = "link_mac"

    def apply(self, k):
        k.link_set_address(self.ns, self.ifname, self.mac)

    def explain(self):
        return [_ip(self.ns, f"link set {self.ifname} address {self.mac}")]

    def check(self, k):
        link = _link(k, self.ns, self.ifname)
        return bool(link) and link.get("mac", self.mac) == self.mac


@dataclass
class AddFdb(Step):
    """Frames for `mac` leave the VXLAN device towards VTEP `dst`."""

    ifname: str
    mac: str
    dst: str
    kind = "fdb_add"

    def apply(self, k):
        k.fdb_replace(None, self.ifname, self.mac, self.dst)

    def undo(self, k):
        k.fdb_del(None, self.ifname, self.mac, self.dst)

    def explain(self):
        return [f"bridge fdb replace {self.mac} dev {self.ifname} dst {self.dst} self permanent"]


@dataclass
class DeleteFdb(Step):
    """The static entry, and what the bridge learned for `mac` on the VXLAN port
    (it would age out, but frames to a gone endpoint should stop at once)."""

    ifname: str
    mac: str
    dst: str | None = None
    kind = "fdb_del"

    def apply(self, k):
        k.fdb_del(None, self.ifname, self.mac, self.dst)
        k.fdb_del(None, self.ifname, self.mac, master=True)

    def explain(self):
        dst = f" dst {self.dst}" if self.dst else ""
        return [f"bridge fdb del {self.mac} dev {self.ifname}{dst} self",
                f"bridge fdb del {self.mac} dev {self.ifname} master"]


@dataclass
class AddNeigh(Step):
    """What proxy ARP on the VXLAN device answers for a remote endpoint."""

    ifname: str
    ip: str
    mac: str
    kind = "neigh_add"

    def apply(self, k):
        k.neigh_replace(None, self.ifname, self.ip, self.mac)

    def undo(self, k):
        k.neigh_remove(None, self.ifname, self.ip)

    def explain(self):
        return [f"ip neigh replace {self.ip} lladdr {self.mac} dev {self.ifname} nud permanent"]


@dataclass
class DeleteNeigh(Step):
    ifname: str
    ip: str
    kind = "neigh_del"

    def apply(self, k):
        k.neigh_remove(None, self.ifname, self.ip)

    def explain(self):
        return [f"ip neigh del {self.ip} dev {self.ifname}"]


@dataclass
class AnnounceNeigh(Step):
    """A gratuitous ARP reply on the bridge for a remote endpoint just programmed:
    sandboxes that asked for it a moment too early resolve now, not a second later."""

    bridge: str
    ip: str
    mac: str
    kind = "arp_announce"

    def apply(self, k):
        k.arp_announce(None, self.bridge, self.ip, self.mac)

    def explain(self):
        return [f"# gratuitous ARP reply on {self.bridge}: {self.ip} is-at {self.mac}"]
