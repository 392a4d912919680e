"""The concrete Steps. Each maps to one kernel verb and explains itself as the
`ip` command that does the same, runnable with `ip -batch` (without the 'ip ')."""

import ipaddress

from .errors import KernelError
from .plan import Step


def _ip(ns: str | None, rest: str) -> str:
    return f"ip -n {ns} {rest}" if ns else f"ip {rest}"


# -- check() helpers: "is this step's effect present in the kernel?" ----------
# They use only the kernel's read verbs (netns_exists, links, addrs, routes), so a
# memoizing view (engine/reconcile.py) can answer them from one dump per namespace.


def _ns_ok(k, ns: str | None) -> bool:
    return ns is None or k.netns_exists(ns)


def _link(k, ns: str | None, ifname: str) -> dict | None:
    if not _ns_ok(k, ns):
        return None
    if hasattr(k, "link"):  # the memoizing view: a dict lookup
        return k.link(ns, ifname)
    return next((link for link in k.links(ns) if link["ifname"] == ifname), None)


def _master_name(k, ns: str | None, link: dict) -> str | None:
    if not link.get("master"):
        return None
    return next((m["ifname"] for m in k.links(ns) if m["index"] == link["master"]), None)


def _has_addr(k, ns: str | None, ifname: str, cidr: str) -> bool:
    if not _ns_ok(k, ns):
        return False
    want = ipaddress.ip_interface(cidr)
    return any(a["ifname"] == ifname and ipaddress.ip_interface(a["cidr"]) == want for a in k.addrs(ns))


def _find_route(k, ns: str | None, dest: str) -> list[dict]:
    if not _ns_ok(k, ns):
        return []
    want = ipaddress.ip_network(dest)
    return [r for r in k.routes(ns) if ipaddress.ip_network(r["dest"]) == want]


def _has_route(k, ns, dest, via, dev) -> bool:
    return any((via is None or r["via"] == via) and (dev is None or r["dev"] == dev)
               for r in _find_route(k, ns, dest))


def _nft_listing(k) -> dict | None:
    """nsnet's nftables table as JSON (None: there is none)."""
    if hasattr(k, "nft_table"):
        return k.nft_table()
    from .errors import KernelError

    try:
        return k.nft("list table inet nsnet")
    except KernelError:
        return None


def _nft_summary(commands: list, verb: str | None) -> dict:
    """Chains, rule comments and element counts of a batch (verb 'add') or a listing."""
    out = {"chains": set(), "rules": {}, "elems": {}}
    for cmd in commands:
        obj = cmd.get(verb) if verb else cmd
        if not isinstance(obj, dict):
            continue
        if "chain" in obj:
            out["chains"].add(obj["chain"]["name"])
        elif "rule" in obj:
            key = (obj["rule"]["chain"], obj["rule"].get("comment"))
            out["rules"][key] = out["rules"].get(key, 0) + 1
        elif "element" in obj:
            name = obj["element"]["name"]
            out["elems"][name] = out["elems"].get(name, 0) + len(obj["element"]["elem"])
        else:
            for kind in ("set", "map"):
                if kind in obj and verb is None:
                    body = obj[kind]
                    out["elems"][body["name"]] = out["elems"].get(body["name"], 0) + len(body.get("elem", []))
    return out


class CreateNetns(Step):
    kind = "netns_add"

    def __init__(self, name: str):
        self.name = name

    def apply(self, k):
        k.netns_create(self.name)

    def undo(self, k):
        k.netns_delete(self.name)

    def explain(self):
        return [f"ip netns add {self.name}", _ip(self.name, "link set lo up")]

    def check(self, k):
        lo = _link(k, self.name, "lo")
        return bool(lo and lo["up"])


class DeleteNetns(Step):
    kind = "netns_del"

    def __init__(self, name: str):
        self.name = name

    def apply(self, k):
        k.netns_delete(self.name)

    def explain(self):
        return [f"ip netns del {self.name}"]

    def check(self, k):
        return not k.netns_exists(self.name)


class CreateBridge(Step):
    """A bridge with a fixed MAC address: a Linux bridge otherwise takes the
    lowest MAC of its ports, so the gateway's MAC would change whenever a
    sandbox leaves and the others' ARP caches would point nowhere for a while."""

    kind = "bridge_add"

    def __init__(self, ifname: str, mtu: int | None = None):
        self.ifname = ifname
        self.mtu = mtu

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
        return [f"ip link add {self.ifname}{mtu} address {self.mac} type bridge", f"ip link set {self.ifname} up"]

    def check(self, k):
        link = _link(k, None, self.ifname)
        return bool(link and link["kind"] == "bridge" and link["up"]
                    and (not self.mtu or link.get("mtu") == self.mtu))


class CreateVeth(Step):
    """A veth pair: `ifname` in `ns`, the peer made directly inside `peer_ns`."""

    kind = "veth_add"

    def __init__(self, ns: str | None, ifname: str, peer_ns: str | None, peer_ifname: str,
                 master: str | None = None, mtu: int | None = None):
        self.ns = ns
        self.ifname = ifname
        self.peer_ns = peer_ns
        self.peer_ifname = peer_ifname
        self.master = master
        self.mtu = mtu

    def apply(self, k):
        k.veth_add(self.ns, self.ifname, self.peer_ns, self.peer_ifname, self.master, self.mtu)

    def undo(self, k):
        k.link_del(self.ns, self.ifname)

    def explain(self):
        mtu = f" mtu {self.mtu}" if self.mtu else ""
        peer_netns = f" netns {self.peer_ns}" if self.peer_ns else ""
        master = f" master {self.master}" if self.master else ""
        lines = [
            _ip(self.ns, f"link add {self.ifname}{mtu} type veth peer name {self.peer_ifname}{mtu}{peer_netns}"),
            _ip(self.ns, f"link set {self.ifname}{master} up"),
        ]
        # No IPv6 link-local addresses on either end (see Kernel.veth_add).
        return lines + [_ip(self.ns, f"link set {self.ifname} addrgenmode none"),
                        _ip(self.peer_ns, f"link set {self.peer_ifname} addrgenmode none"),
                        _ip(self.peer_ns, f"link set {self.peer_ifname} up")]

    def check(self, k):
        """Both ends present, up and veths; enslaved to `master`; paired with
        each other when the kernel says so (IFLA_LINK holds the peer's index)."""
        end, peer = _link(k, self.ns, self.ifname), _link(k, self.peer_ns, self.peer_ifname)
        if not (end and peer and end["up"] and peer["up"]):
            return False
        if end["kind"] != "veth" or peer["kind"] != "veth":
            return False
        if self.master and _master_name(k, self.ns, end) != self.master:
            return False
        if end.get("peer_index") and peer.get("peer_index"):
            return end["peer_index"] == peer["index"] and peer["peer_index"] == end["index"]
        return True


class SetMac(Step):
    """A fixed MAC on an interface made by an earlier step (a runtime's static MAC);
    undone with the interface itself."""

    kind = "link_set"

    def __init__(self, ns: str | None, ifname: str, mac: str):
        self.ns = ns
        self.ifname = ifname
        self.mac = mac

    def apply(self, k):
        k.link_set(self.ns, self.ifname, mac=self.mac)

    def explain(self):
        return [_ip(self.ns, f"link set {self.ifname} address {self.mac}")]

    def check(self, k):
        link = _link(k, self.ns, self.ifname)
        return link is not None and link.get("mac", self.mac) == self.mac


class DeleteLink(Step):
    kind = "link_del"

    def __init__(self, ns: str | None, ifname: str):
        self.ns = ns
        self.ifname = ifname

    def apply(self, k):
        k.link_del(self.ns, self.ifname)

    def explain(self):
        return [_ip(self.ns, f"link del {self.ifname}")]

    def check(self, k):
        return _link(k, self.ns, self.ifname) is None


class AddAddress(Step):
    kind = "addr_add"

    def __init__(self, ns: str | None, ifname: str, cidr: str):
        self.ns = ns
        self.ifname = ifname
        self.cidr = cidr

    def apply(self, k):
        k.addr_add(self.ns, self.ifname, self.cidr)

    def undo(self, k):
        k.addr_del(self.ns, self.ifname, self.cidr)

    def explain(self):
        return [_ip(self.ns, f"addr add {self.cidr} dev {self.ifname}")]

    def check(self, k):
        return _has_addr(k, self.ns, self.ifname, self.cidr)


class AddRoute(Step):
    kind = "route_add"

    def __init__(self, ns: str | None, dest: str, via: str | None = None, dev: str | None = None):
        self.ns = ns
        self.dest = dest
        self.via = via
        self.dev = dev

    def apply(self, k):
        k.route_add(self.ns, self.dest, self.via, self.dev)

    def undo(self, k):
        k.route_del(self.ns, self.dest, self.via, self.dev)

    def explain(self):
        dest = "default" if self.dest in ("0.0.0.0/0", "::/0") else self.dest
        via = f" via {self.via}" if self.via else ""
        dev = f" dev {self.dev}" if self.dev else ""
        return [_ip(self.ns, f"route add {dest}{via}{dev} proto static")]

    def check(self, k):
        return _has_route(k, self.ns, self.dest, self.via, self.dev)


class DeleteRoute(Step):
    kind = "route_del"

    def __init__(self, ns: str | None, dest: str, via: str | None = None, dev: str | None = None):
        self.ns = ns
        self.dest = dest
        self.via = via
        self.dev = dev

    def apply(self, k):
        k.route_del(self.ns, self.dest, self.via, self.dev)

    def undo(self, k):
        k.route_add(self.ns, self.dest, self.via, self.dev)

    def explain(self):
        dest = "default" if self.dest in ("0.0.0.0/0", "::/0") else self.dest
        via = f" via {self.via}" if self.via else ""
        return [_ip(self.ns, f"route del {dest}{via}")]

    def check(self, k):
        return not _has_route(k, self.ns, self.dest, self.via, self.dev)


class Nft(Step):
    """One atomic nftables transaction (JSON batch); undo is another batch."""

    kind = "nft"

    def __init__(self, batch: dict, undo_batch: dict | None = None, rebuild=None):
        self.batch = batch
        self.undo_batch = undo_batch
        # For element-only batches: if nsnet's table is missing (someone ran `nft
        # flush ruleset`), rebuild all of it instead (a zero-argument callable).
        self.rebuild = rebuild

    def apply(self, k):
        try:
            k.nft(self.batch)
        except KernelError as exc:
            if self.rebuild is None or "No such file or directory" not in str(exc):
                raise
            k.nft(self.rebuild())

    def undo(self, k):
        if self.undo_batch:
            k.nft(self.undo_batch)

    def explain(self):
        from .firewall.nftjson import render

        return render(self.batch)

    def check(self, k):
        """Every chain, rule (known by its comment) and set/map element this batch
        adds is in the kernel's table (elements are counted, not compared)."""
        want = _nft_summary(self.batch.get("nftables", []), "add")
        if not want["chains"] and not want["rules"] and not want["elems"]:
            return True
        listing = _nft_listing(k)
        if listing is None:
            return False
        have = _nft_summary(listing.get("nftables", []), None)
        return (want["chains"] <= have["chains"]
                and all(have["rules"].get(r, 0) >= n for r, n in want["rules"].items())
                and all(have["elems"].get(s, 0) >= n for s, n in want["elems"].items()))


class SetSysctl(Step):
    """A sysctl of the host namespace (forwarding, route_localnet on a bridge)."""

    kind = "sysctl"

    def __init__(self, key: str, value: str, previous: str | None = None):
        self.key = key
        self.value = value
        self.previous = previous

    def apply(self, k):
        k.sysctl_set(None, self.key, self.value)

    def undo(self, k):
        if self.previous is not None:
            k.sysctl_set(None, self.key, self.previous)

    def explain(self):
        return [f"sysctl -w {self.key}={self.value}"]

    def check(self, k):
        try:
            return k.sysctl_get(None, self.key) == str(self.value)
        except OSError:  # e.g. the bridge of a per-interface key is gone
            return False
