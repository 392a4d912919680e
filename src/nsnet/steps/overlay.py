"""Steps of the overlay driver: the VXLAN device, static forwarding-database and
neighbour entries for endpoints on other hosts, and a sandbox interface's MAC.
Each explains itself as the iproute2 command that does the same."""

from .base import Step, on

VXLAN_PORT = 4789


class CreateVxlan(Step):
    """`ip link add IF type vxlan id VNI local ADDR dstport PORT nolearning proxy`,
    enslaved to `master`: no multicast group and no learning, so frames reach
    only the hosts the static fdb names; proxy: ARP is answered from the
    neighbour table on this host instead of being flooded."""

    kind = "vxlan_add"

    def __init__(self, ifname: str, vni: int, local: str, port: int = VXLAN_PORT, mtu: int | None = None,
                 master: str | None = None):
        self.ifname, self.vni, self.local, self.port, self.mtu, self.master = ifname, vni, local, port, mtu, master

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

    def check(self, view):
        link = view.link(None, self.ifname)
        return bool(link and link["kind"] == "vxlan" and link["up"]
                    and (not self.master or view.master_name(None, link) == self.master))

    def touches(self):
        return on(None, self.ifname, self.master)

    def makes(self):
        return {("link", None, self.ifname)}


class _VxlanEntry(Step):
    """An entry of a host VXLAN device's tables (it belongs to no sandbox or bridge)."""

    def touches(self):
        return on(None, self.ifname)


class AddFdb(_VxlanEntry):
    """Frames for `mac` leave the VXLAN device towards VTEP `dst`."""

    kind = "fdb_add"

    def __init__(self, ifname: str, mac: str, dst: str):
        self.ifname, self.mac, self.dst = ifname, mac, dst

    def apply(self, k):
        k.fdb_replace(None, self.ifname, self.mac, self.dst)

    def undo(self, k):
        k.fdb_del(None, self.ifname, self.mac, self.dst)

    def explain(self):
        return [f"bridge fdb replace {self.mac} dev {self.ifname} dst {self.dst} self permanent"]


class DeleteFdb(_VxlanEntry):
    """The static entry, and what the bridge learned for `mac` on the VXLAN port
    (it would age out, but frames to a gone endpoint should stop at once)."""

    kind = "fdb_del"

    def __init__(self, ifname: str, mac: str, dst: str | None = None):
        self.ifname, self.mac, self.dst = ifname, mac, dst

    def apply(self, k):
        k.fdb_del(None, self.ifname, self.mac, self.dst)
        k.fdb_del(None, self.ifname, self.mac, master=True)

    def explain(self):
        dst = f" dst {self.dst}" if self.dst else ""
        return [f"bridge fdb del {self.mac} dev {self.ifname}{dst} self",
                f"bridge fdb del {self.mac} dev {self.ifname} master"]


class AddNeigh(_VxlanEntry):
    """What proxy ARP on the VXLAN device answers for a remote endpoint."""

    kind = "neigh_add"

    def __init__(self, ifname: str, ip: str, mac: str):
        self.ifname, self.ip, self.mac = ifname, ip, mac

    def apply(self, k):
        k.neigh_replace(None, self.ifname, self.ip, self.mac)

    def undo(self, k):
        k.neigh_remove(None, self.ifname, self.ip)

    def explain(self):
        return [f"ip neigh replace {self.ip} lladdr {self.mac} dev {self.ifname} nud permanent"]


class DeleteNeigh(_VxlanEntry):
    kind = "neigh_del"

    def __init__(self, ifname: str, ip: str):
        self.ifname, self.ip = ifname, ip

    def apply(self, k):
        k.neigh_remove(None, self.ifname, self.ip)

    def explain(self):
        return [f"ip neigh del {self.ip} dev {self.ifname}"]


class AnnounceNeigh(Step):
    """A gratuitous ARP reply (IPv6: an unsolicited neighbour advertisement) on the
    bridge for each remote address just programmed, [(ip, mac)]: sandboxes that
    asked for one a moment too early resolve now, not a second later."""

    kind = "neigh_announce"

    def __init__(self, bridge: str, entries: list):
        self.bridge, self.entries = bridge, [tuple(e) for e in entries]

    def apply(self, k):
        k.neigh_announce(None, self.bridge, self.entries)

    def explain(self):
        return [f"# {'unsolicited neighbour advertisement' if ':' in ip else 'gratuitous ARP reply'} on "
                f"{self.bridge}: {ip} is-at {mac}" for ip, mac in self.entries]

    def touches(self):
        return on(None, self.bridge)

