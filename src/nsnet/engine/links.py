"""Direct links: one veth pair between two sandboxes, no bridge (the seeds'
red/blue cable)."""

import ipaddress

from .. import ipam
from ..errors import Conflict, InvalidInput
from ..names import check_ifname, default_link_ifname
from ..steps import AddAddress, CreateVeth, DeleteLink, Plan
from .context import Service
from .lookup import get_sandbox, used_ifnames


def _addresses(subnet, ip_a, ip_b) -> tuple[str | None, str | None]:
    """Both ends' CIDRs from --subnet (first two hosts) or --ip-a/--ip-b."""
    if subnet and (ip_a or ip_b):
        raise InvalidInput("give either --subnet or --ip-a/--ip-b, not both")
    if subnet:
        net = ipam.parse_subnet(subnet)
        hosts = net.hosts()
        return f"{next(hosts)}/{net.prefixlen}", f"{next(hosts)}/{net.prefixlen}"
    if bool(ip_a) != bool(ip_b):
        raise InvalidInput("give both --ip-a and --ip-b (or --subnet)")
    if not ip_a:
        return None, None
    out = []
    for flag, value in (("--ip-a", ip_a), ("--ip-b", ip_b)):
        if "/" not in value:
            raise InvalidInput(f"{flag} '{value}' needs a prefix length (e.g. {value}/24)")
        try:
            iface = ipaddress.ip_interface(value)
        except ValueError:
            raise InvalidInput(f"{flag} '{value}' is not a valid address/prefix")
        if iface.version != 4:
            raise InvalidInput(f"{flag} '{value}': only IPv4 is supported")
        ipam.check_in_subnet(iface.ip, iface.network, flag)
        out.append(str(iface))
    a, b = (ipaddress.ip_interface(x) for x in out)
    if a.network != b.network:
        raise InvalidInput(f"--ip-a {a} and --ip-b {b} are not on the same subnet")
    if a.ip == b.ip:
        raise InvalidInput(f"--ip-a and --ip-b are the same address {a.ip}")
    return out[0], out[1]


class Links(Service):
    def add(self, ex, a: str, b: str, subnet=None, ip_a=None, ip_b=None, ifname_a=None, ifname_b=None) -> dict:
        """A veth cable between sandboxes `a` and `b`, addressed by `subnet` or `ip_a`/`ip_b`."""
        if a == b:
            raise InvalidInput("a link needs two different sandboxes")
        sandboxes = [get_sandbox(self.store, a), get_sandbox(self.store, b)]
        for sb in sandboxes:
            if sb["mode"] != "netns":
                raise Conflict(f"sandbox '{sb['name']}' uses the {sb['mode']} network; it cannot have links")
        if self.store.link(a, b):
            raise Conflict(f"sandboxes '{a}' and '{b}' are already linked")
        cidr_a, cidr_b = _addresses(subnet, ip_a, ip_b)
        ifname_a = check_ifname(ifname_a) if ifname_a else default_link_ifname(b)
        ifname_b = check_ifname(ifname_b) if ifname_b else default_link_ifname(a)
        for sandbox, ifname in ((a, ifname_a), (b, ifname_b)):
            if ifname in used_ifnames(self.store, sandbox):
                raise Conflict(f"sandbox '{sandbox}' already has an interface named {ifname}")
        self.store.add_link(a, b, ifname_a, ifname_b, cidr_a, cidr_b)
        ns_a, ns_b = sandboxes[0]["netns"], sandboxes[1]["netns"]
        plan = Plan([CreateVeth(ns_a, ifname_a, ns_b, ifname_b)])
        if cidr_a:
            plan.add(AddAddress(ns_a, ifname_a, cidr_a), AddAddress(ns_b, ifname_b, cidr_b))
        ex.apply(plan)
        return self.store.link(a, b)

    def rm(self, ex, a: str, b: str) -> dict:
        """Cut the cable between `a` and `b` (and the routes through it)."""
        get_sandbox(self.store, a)
        get_sandbox(self.store, b)
        link = self.store.link(a, b)
        if link is None:
            raise Conflict(f"sandboxes '{a}' and '{b}' are not linked")
        self.store.remove_link(link["id"])
        for side, cidr in ((link["a"], link["ip_a"]), (link["b"], link["ip_b"])):
            if cidr:
                subnet = ipaddress.ip_interface(cidr).network
                for route in self.store.routes(side):
                    if route["via"] and ipaddress.ip_address(route["via"]) in subnet:
                        self.store.remove_route(side, route["dest"])
        plan = Plan([DeleteLink(self.store.sandbox(link["a"])["netns"], link["ifname_a"])])
        return {"removed": f"{a}<->{b}", "errors": ex.best_effort(plan)}

    def ls(self) -> list[dict]:
        """Every direct link."""
        return self.store.links()
