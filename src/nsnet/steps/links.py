"""Namespaces and interfaces: each Step maps to one kernel verb and explains
itself as the `ip` command that does the same (runnable with `ip -batch`,
without the 'ip ')."""

from .base import Step, on


def ip_command(ns: str | None, rest: str, version: int = 4) -> str:
    """`ip [-n NS] [-6] REST` (-6 for an IPv6 address or route)."""
    six = "-6 " if version == 6 else ""
    return f"ip -n {ns} {six}{rest}" if ns else f"ip {six}{rest}"


class OnNamespace(Step):
    """A step on sandbox namespace `name` as a whole."""

    def __init__(self, name: str):
        self.name = name

    def touches(self):
        return {self.name}, set()


class CreateNetns(OnNamespace):
    kind = "netns_add"

    def apply(self, k):
        k.netns_create(self.name)

    def undo(self, k):
        k.netns_delete(self.name)

    def explain(self):
        return [f"ip netns add {self.name}", ip_command(self.name, "link set lo up")]

    def check(self, view):
        lo = view.link(self.name, "lo")
        return bool(lo and lo["up"])

    def makes(self):
        return {("netns", self.name)}


class ShareHostNetns(OnNamespace):
    """A host-mode sandbox (`--network host`) runs in the host's own namespace:
    /run/netns/NAME is a bind mount of it, so `ip netns exec NAME` enters what
    `nsnet exec NAME` enters. `replaces`: NAME held the sandbox's own (empty)
    namespace until now, which undo gives it back."""

    kind = "netns_share_host"

    def __init__(self, name: str, host_netns: str | None, replaces: bool = False):
        self.name, self.host_netns, self.replaces = name, host_netns, replaces

    def apply(self, k):
        k.netns_share_host(self.name)

    def undo(self, k):
        k.netns_delete(self.name)
        if self.replaces:
            k.netns_create(self.name)

    def explain(self):
        source = f"/run/netns/{self.host_netns}" if self.host_netns else "/proc/1/ns/net"
        first = [f"ip netns del {self.name}"] if self.replaces else []
        return first + [f"touch /run/netns/{self.name}", f"mount --bind {source} /run/netns/{self.name}"]

    def check(self, view):
        return view.netns_is_host(self.name)


class LeaveHostNetns(OnNamespace):
    """A sandbox leaving the host network gets a namespace of its own again (lo up)."""

    kind = "netns_leave_host"

    def __init__(self, name: str, host_netns: str | None):
        self.name, self.host_netns = name, host_netns

    def apply(self, k):
        k.netns_delete(self.name)  # unpins the host's namespace; it stays the host's
        k.netns_create(self.name)

    def undo(self, k):
        k.netns_share_host(self.name)

    def explain(self):
        return [f"umount /run/netns/{self.name}", f"rm /run/netns/{self.name}", f"ip netns add {self.name}",
                ip_command(self.name, "link set lo up")]

    def check(self, view):
        return view.netns_exists(self.name) and not view.netns_is_host(self.name)


class DeleteNetns(OnNamespace):
    kind = "netns_del"

    def apply(self, k):
        k.netns_delete(self.name)

    def explain(self):
        return [f"ip netns del {self.name}"]

    def check(self, view):
        return not view.netns_exists(self.name)


class CreateBridge(Step):
    """A bridge with a fixed MAC address: a Linux bridge otherwise takes the
    lowest MAC of its ports, so the gateway's MAC would change whenever a
    sandbox leaves and the others' ARP caches would point nowhere for a while."""

    kind = "bridge_add"

    def __init__(self, ifname: str, mtu: int | None = None):
        self.ifname, self.mtu = ifname, mtu

    @property
    def mac(self) -> str:
        import hashlib  # only when a bridge is made: loading OpenSSL costs ~3 ms

        digest = hashlib.sha1(self.ifname.encode()).digest()
        return "02:" + ":".join(f"{b:02x}" for b in digest[:5])  # locally administered

    def apply(self, k):
        k.bridge_add(self.ifname, self.mtu, self.mac)

    def undo(self, k):
        k.link_del(None, self.ifname)

    def explain(self):
        mtu = f" mtu {self.mtu}" if self.mtu else ""
        # No address of its own from the kernel (see Kernel.bridge_add): IPv6 networks give it one.
        return [f"ip link add {self.ifname}{mtu} address {self.mac} type bridge",
                f"ip link set {self.ifname} addrgenmode none", f"ip link set {self.ifname} up"]

    def check(self, view):
        link = view.link(None, self.ifname)
        return bool(link and link["kind"] == "bridge" and link["up"]
                    and (not self.mtu or link.get("mtu") == self.mtu))

    def touches(self):
        return on(None, self.ifname)

    def makes(self):
        return {("link", None, self.ifname)}


class CreateVeth(Step):
    """A veth pair: `ifname` in `ns`, the peer made directly inside `peer_ns`
    (with MAC `peer_mac`: a sandbox's end on a network; else a random one).
    `mac_kept`: a MAC other than `peer_mac` is drift (a fixed MAC, an overlay's,
    which other hosts program); else whoever changes it later may (a runtime's
    chained plugin)."""

    kind = "veth_add"

    def __init__(self, ns: str | None, ifname: str, peer_ns: str | None, peer_ifname: str,
                 master: str | None = None, mtu: int | None = None, peer_mac: str | None = None,
                 mac_kept: bool = False):
        self.ns, self.ifname, self.peer_ns, self.peer_ifname = ns, ifname, peer_ns, peer_ifname
        self.master, self.mtu, self.peer_mac, self.mac_kept = master, mtu, peer_mac, mac_kept

    def apply(self, k):
        k.veth_add(self.ns, self.ifname, self.peer_ns, self.peer_ifname, self.master, self.mtu, self.peer_mac)

    def undo(self, k):
        k.link_del(self.ns, self.ifname)

    def explain(self):
        mtu = f" mtu {self.mtu}" if self.mtu else ""
        peer_netns = f" netns {self.peer_ns}" if self.peer_ns else ""
        address = f" address {self.peer_mac}" if self.peer_mac else ""
        master = f" master {self.master}" if self.master else ""
        lines = [
            ip_command(self.ns, f"link add {self.ifname}{mtu} type veth peer name {self.peer_ifname}{mtu}{address}"
                                f"{peer_netns}"),
            ip_command(self.ns, f"link set {self.ifname}{master} up"),
        ]
        # No IPv6 link-local addresses on either end (see Kernel.veth_add).
        return lines + [ip_command(self.ns, f"link set {self.ifname} addrgenmode none"),
                        ip_command(self.peer_ns, f"link set {self.peer_ifname} addrgenmode none"),
                        ip_command(self.peer_ns, f"link set {self.peer_ifname} up")]

    def check(self, view):
        """Both ends present, up and veths; enslaved to `master`; the peer with
        its MAC; paired with each other when the kernel says so (IFLA_LINK holds
        the peer's index)."""
        end, peer = view.link(self.ns, self.ifname), view.link(self.peer_ns, self.peer_ifname)
        if not (end and peer and end["up"] and peer["up"]):
            return False
        if self.mac_kept and peer.get("mac", self.peer_mac) != self.peer_mac:
            return False
        if end["kind"] != "veth" or peer["kind"] != "veth":
            return False
        if self.master and view.master_name(self.ns, end) != self.master:
            return False
        if end.get("peer_index") and peer.get("peer_index"):
            return end["peer_index"] == peer["index"] and peer["peer_index"] == end["index"]
        return True

    def touches(self):
        (ns, ifaces), (peer_ns, peer_ifaces) = on(self.ns, self.ifname, self.master), on(self.peer_ns, self.peer_ifname)
        return ns | peer_ns, ifaces | peer_ifaces

    def makes(self):
        return {("link", self.ns, self.ifname), ("link", self.peer_ns, self.peer_ifname)}


class OnInterface(Step):
    """A step on one interface of namespace `ns` (None: the host)."""

    def __init__(self, ns: str | None, ifname: str):
        self.ns, self.ifname = ns, ifname

    def touches(self):
        return on(self.ns, self.ifname)


class SetLinkUp(OnInterface):
    """An interface up (the `lo` of a host namespace made with `ip netns add`:
    without it, ports published on 127.0.0.1 cannot be reached)."""

    kind = "link_up"

    def apply(self, k):
        k.link_set(self.ns, self.ifname, up=True)

    def undo(self, k):
        k.link_set(self.ns, self.ifname, up=False)

    def explain(self):
        return [ip_command(self.ns, f"link set {self.ifname} up")]

    def check(self, view):
        link = view.link(self.ns, self.ifname)
        return bool(link and link["up"])


class SetHairpin(OnInterface):
    """Hairpin mode on a bridge port: frames may leave through the port they
    came in on. A sandbox that connects to its own published port through the
    host is DNAT'ed back to itself; with br_netfilter (bridge-nf-call-iptables=1,
    as on Docker and Kubernetes hosts) that packet is bridged, not routed, and
    goes back out of the port it came from. Set on the ports of sandboxes that
    publish, not on all: a hairpin port also gets its own broadcasts back."""

    kind = "bridge_port_hairpin"

    def apply(self, k):
        k.bridge_port_set(self.ns, self.ifname, hairpin=True)

    def undo(self, k):
        k.bridge_port_set(self.ns, self.ifname, hairpin=False)

    def explain(self):
        return [ip_command(self.ns, f"link set {self.ifname} type bridge_slave hairpin on")]

    def check(self, view):
        link = view.link(self.ns, self.ifname)
        return bool(link and link.get("hairpin"))


class DeleteLink(OnInterface):
    kind = "link_del"

    def apply(self, k):
        k.link_del(self.ns, self.ifname)

    def explain(self):
        return [ip_command(self.ns, f"link del {self.ifname}")]

    def check(self, view):
        return view.link(self.ns, self.ifname) is None
