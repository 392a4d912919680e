"""What each sandbox's namespace must hold for the faults in force, as a pure
function of plain data read from the store.

A partition is enforced inside the namespaces of the sandboxes it names, and
only there: each gets a table whose rules drop traffic between its own
addresses (set cut_out / cut_in) and any address of nsnet's subnets (set
nets) that is not in its own group (set allow: its group's addresses, and
the gateways). Sandboxes not named form the implicit group and need no rule:
the named ones drop what goes to and comes from them. So `partition n1` is
one transaction in one namespace, whatever the number of sandboxes, and a
partition that keeps the same subnets and tables only moves set elements
(the fast nfnetlink path, no libnftables).

Impairments are rules in the same table (loss: numgen; which packets a rate
limit applies to: meta priority, read by htb) and a queueing discipline per
interface (rate: htb; delay: netem under it)."""

import ipaddress

from ..plain import PlainData
from .spec import Impairment

LINE_RATE = 8 * 10**12  # bits/s of the class that only carries netem (delay without --rate)


class Shape(PlainData):
    """One interface's queueing: rate (bits/s) and delay/jitter (ms); with
    `classified` only packets marked for class 1:1 are shaped (--to)."""

    def __init__(self, rate: int | None = None, delay: float | None = None, jitter: float | None = None,
                 classified: bool = False):
        self.rate, self.delay, self.jitter, self.classified = rate, delay, jitter, classified

    def to_record(self) -> dict:
        return dict(vars(self))

    @classmethod
    def from_record(cls, record: dict | None) -> "Shape | None":
        return cls(**record) if record else None


class SandboxFaults(PlainData):
    """The faults table of one namespace and the shapes of its interfaces.
    rules: (ifname, loss percent, peer addresses or None for all, classify)."""

    def __init__(self, netns: str, nets=(), allow=(), cut_out=(), cut_in=(), rules=(), shapes=None):
        self.netns = netns
        self.nets = tuple(nets)
        self.allow, self.cut_out, self.cut_in = tuple(sorted(allow)), tuple(sorted(cut_out)), tuple(sorted(cut_in))
        self.rules = tuple((r[0], r[1], tuple(r[2]) if r[2] is not None else None, bool(r[3])) for r in rules)
        self.shapes = dict(shapes or {})

    @property
    def active(self) -> bool:
        """Does this table change any packet's fate?"""
        return bool(self.cut_out or self.cut_in or self.rules or self.shapes)

    @property
    def structure(self) -> tuple:
        """What only a libnftables batch changes: interval elements and rules."""
        return self.nets, self.rules

    def inert(self) -> "SandboxFaults":
        """The same table with nothing in force (kept: the next partition is then
        an element change); its sets keep their elements, which nothing reads."""
        return SandboxFaults(self.netns, self.nets, self.allow)

    def to_record(self) -> dict:
        return {"netns": self.netns, "nets": list(self.nets), "allow": list(self.allow), "cut_out": list(self.cut_out),
                "cut_in": list(self.cut_in), "rules": [list(r) for r in self.rules],
                "shapes": {i: s.to_record() for i, s in self.shapes.items()}}

    @classmethod
    def from_record(cls, record: dict) -> "SandboxFaults":
        return cls(record["netns"], record["nets"], record["allow"], record["cut_out"], record["cut_in"],
                   record["rules"], {i: Shape.from_record(s) for i, s in record["shapes"].items()})


class Topology(PlainData):
    """What the store says, as far as faults need it: namespaces, addresses and
    interfaces of the sandboxes involved, every subnet and gateway."""

    def __init__(self, netns: dict, addresses: dict, interfaces: dict, subnets, gateways):
        self.netns = netns  # sandbox -> namespace
        self.addresses = addresses  # sandbox -> [ip]
        self.interfaces = interfaces  # sandbox -> [ifname] nsnet made in it
        self.subnets = subnets  # CIDRs of networks and links
        self.gateways = gateways  # the host's addresses on the networks


def collapse(cidrs) -> tuple[str, ...]:
    """Subnets merged where they overlap or touch (an interval set refuses
    overlapping elements), as text, IPv4 first; a host route as a plain address."""
    out = []
    for version in (4, 6):
        nets = [ipaddress.ip_network(c, strict=False) for c in cidrs]
        merged = ipaddress.collapse_addresses(n for n in nets if n.version == version)
        out += [str(n.network_address) if n.prefixlen == n.max_prefixlen else str(n) for n in merged]
    return tuple(out)


def desired(topo: Topology, groups: dict[str, int], one_way: bool,
            impairments: list[Impairment]) -> dict[str, SandboxFaults]:
    """sandbox -> what its namespace must hold. `groups`: sandbox -> group
    number (1 is the first; the sandboxes not named are the implicit group)."""
    nets = collapse(topo.subnets)
    out: dict[str, SandboxFaults] = {}

    def table(sandbox):
        if sandbox not in out:
            out[sandbox] = SandboxFaults(topo.netns[sandbox], nets)
        return out[sandbox]

    members: dict[int, set] = {}
    for sandbox, group in groups.items():
        members.setdefault(group, set()).update(topo.addresses.get(sandbox, ()))
    for sandbox, group in groups.items():
        if one_way and group != 1:
            continue  # one way: only the first group's outgoing traffic is cut
        own = topo.addresses.get(sandbox, ())
        sf = table(sandbox)
        sf.allow = tuple(sorted(members[group] | set(topo.gateways) | set(own)))
        sf.cut_out = tuple(sorted(own))
        sf.cut_in = () if one_way else sf.cut_out
    _impair(topo, impairments, table)
    return out


def _impair(topo: Topology, impairments: list[Impairment], table) -> None:
    """Rules and shapes per interface: an interface's own impairment, else its sandbox's."""
    by_sandbox: dict[str, dict] = {}
    for imp in impairments:
        by_sandbox.setdefault(imp.sandbox, {})[imp.ifname] = imp
    for sandbox, own in sorted(by_sandbox.items()):
        rules, shapes = [], {}
        for ifname in sorted(topo.interfaces.get(sandbox, ())):
            imp = own.get(ifname) or own.get(None)
            if imp is None:
                continue
            peers = None
            if imp.to:
                peers = tuple(sorted({ip for peer in imp.to for ip in topo.addresses.get(peer, ())}))
                if not peers:
                    continue  # its peers have no address (yet): it applies to nobody, not to all
            shape = None
            if imp.rate or imp.delay or imp.jitter:
                shape = Shape(imp.rate, imp.delay, imp.jitter, classified=peers is not None)
                shapes[ifname] = shape
            if imp.loss or (shape and peers is not None):
                rules.append((ifname, imp.loss or 0, peers, bool(shape and peers is not None)))
        if rules or shapes:
            sf = table(sandbox)
            sf.rules, sf.shapes = tuple(rules), shapes
