"""Direct links: one veth pair between two sandboxes, no bridge (the seeds'
red/blue cable)."""

import ipaddress

from .. import family, ipam
from ..errors import Conflict, InvalidInput
from ..names import check_ifname, default_link_ifname, link_local
from ..steps import AddAddress, CreateVeth, DeleteLink, Plan
from .context import Service
from .lookup import forget_routes_via, get_sandbox, used_ifnames


def _pairs(subnet, ip_a, ip_b) -> dict[int, tuple[str, str]]:
    """{family: (A's CIDR, B's CIDR)} from --subnet (its first two hosts; one
    CIDR or one per family) or --ip-a/--ip-b (one per family each)."""
    if subnet and (ip_a or ip_b):
        raise InvalidInput("give either --subnet or --ip-a/--ip-b, not both")
    if subnet:
        out = {}
        for version, net in ipam.parse_subnets(subnet).items():
            hosts = net.hosts()
            out[version] = (f"{next(hosts)}/{net.prefixlen}", f"{next(hosts)}/{net.prefixlen}")
        return out
    if bool(ip_a) != bool(ip_b):
        raise InvalidInput("give both --ip-a and --ip-b (or --subnet)")
    if not ip_a:
        return {}
    sides = [ipam.per_family(value, _interface, flag, "addresses")  # {family: ip_interface} of each end
             for flag, value in (("--ip-a", ip_a), ("--ip-b", ip_b))]
    if set(sides[0]) != set(sides[1]):
        raise InvalidInput("--ip-a and --ip-b must give addresses of the same families")
    out = {}
    for version, a in sides[0].items():
        b = sides[1][version]
        if a.network != b.network:
            raise InvalidInput(f"--ip-a {a} and --ip-b {b} are not on the same subnet")
        if a.ip == b.ip:
            raise InvalidInput(f"--ip-a and --ip-b are the same address {a.ip}")
        out[version] = (str(a), str(b))
    return out


def _interface(text: str, flag: str):
    if "/" not in text:
        raise InvalidInput(f"{flag} '{text}' needs a prefix length (e.g. {text}/{64 if ':' in text else 24})")
    try:
        iface = ipaddress.ip_interface(text)
    except ValueError:
        raise InvalidInput(f"{flag} '{text}' is not a valid address/prefix")
    ipam.check_in_subnet(iface.ip, iface.network, flag)
    ipam.check_special(iface.network, flag)
    return iface


def link_steps(link: dict, ns_a: str, ns_b: str) -> list:
    """The cable of a link row and its ends' addresses. With IPv6, each end gets
    a link-local address too: a sandbox that routes (the seeds' router between
    two links) solicits its neighbours for what it forwards from one."""
    steps = [CreateVeth(ns_a, link["ifname_a"], ns_b, link["ifname_b"])]
    for version in family.VERSIONS:
        col_a, col_b = family.LINK_IP[version]
        if link.get(col_a):
            steps += [AddAddress(ns_a, link["ifname_a"], link[col_a]), AddAddress(ns_b, link["ifname_b"], link[col_b])]
    if link.get("ip6_a"):
        for ns, ifname, cidr in ((ns_a, link["ifname_a"], link["ip6_a"]), (ns_b, link["ifname_b"], link["ip6_b"])):
            steps.append(AddAddress(ns, ifname, f"{link_local(cidr.split('/')[0])}/64"))
    return steps


class Links(Service):
    def add(self, ex, a: str, b: str, subnet=None, ip_a=None, ip_b=None, ifname_a=None, ifname_b=None) -> dict:
        """A veth cable between sandboxes `a` and `b`, addressed by `subnet` or `ip_a`/`ip_b`
        (each a CIDR, or one per family: a list or 'CIDR,CIDR')."""
        if a == b:
            raise InvalidInput("a link needs two different sandboxes")
        sandboxes = [get_sandbox(self.store, a), get_sandbox(self.store, b)]
        for sb in sandboxes:
            if sb["mode"] != "netns":
                raise Conflict(f"sandbox '{sb['name']}' uses the {sb['mode']} network; it cannot have links")
        if self.store.link(a, b):
            raise Conflict(f"sandboxes '{a}' and '{b}' are already linked")
        pairs = _pairs(subnet, ip_a, ip_b)
        for version, (cidr_a, _) in pairs.items():
            self._refuse_overlap(version, ipaddress.ip_interface(cidr_a).network)
        ifname_a = check_ifname(ifname_a) if ifname_a else default_link_ifname(b)
        ifname_b = check_ifname(ifname_b) if ifname_b else default_link_ifname(a)
        for sandbox, ifname in ((a, ifname_a), (b, ifname_b)):
            if ifname in used_ifnames(self.store, sandbox):
                raise Conflict(f"sandbox '{sandbox}' already has an interface named {ifname}")
        v4, v6 = pairs.get(4, (None, None)), pairs.get(6, (None, None))
        self.store.add_link(a, b, ifname_a, ifname_b, *v4, *v6)
        link = self.store.link(a, b)
        ex.apply(Plan(link_steps(link, sandboxes[0]["netns"], sandboxes[1]["netns"])))
        return link

    def _refuse_overlap(self, version: int, subnet) -> None:
        """A link's subnet may not overlap a network's: the host routes every
        network's subnet to its bridge, and the link's ends would route it to the link."""
        for net in self.store.networks():
            other = family.subnets(net).get(version)
            if other is not None and subnet.overlaps(other):
                raise Conflict(f"link subnet {subnet} overlaps network '{net['name']}' ({other})")

    def rm(self, ex, a: str, b: str) -> dict:
        """Cut the cable between `a` and `b` (and the routes through it)."""
        get_sandbox(self.store, a)
        get_sandbox(self.store, b)
        link = self.store.link(a, b)
        if link is None:
            raise Conflict(f"sandboxes '{a}' and '{b}' are not linked")
        self.store.remove_link(link["id"])
        for side in (link["a"], link["b"]):
            subnets = [ipaddress.ip_interface(cidr).network for cidr in family.link_cidrs(link, side)]
            forget_routes_via(self.store, side, subnets)
        plan = Plan([DeleteLink(self.store.sandbox(link["a"])["netns"], link["ifname_a"])])
        return {"removed": f"{a}<->{b}", "errors": ex.best_effort(plan)}

    def ls(self) -> list[dict]:
        """Every direct link."""
        return self.store.links()
