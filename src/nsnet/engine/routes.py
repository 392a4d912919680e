"""Static routes inside sandboxes (the seeds' `ip route add 192.168.1.0/24 via 192.168.15.5`)."""

import ipaddress

from .. import ipam
from ..errors import Conflict, InvalidInput, NotFound
from ..steps import AddRoute, DeleteRoute, Plan
from .base import changing

DEFAULT = "0.0.0.0/0"


def parse_dest(dest: str) -> str:
    if dest == "default":
        return DEFAULT
    try:
        net = ipaddress.ip_network(dest, strict=True)
    except ValueError:
        raise InvalidInput(f"route destination '{dest}' is not a valid CIDR (or 'default')")
    if net.version != 4:
        raise InvalidInput(f"route destination '{dest}': only IPv4 is supported")
    return str(net)


class Routes:
    def _sandbox_subnets(self, sandbox: str) -> list:
        subnets = [ipaddress.ip_network(self.store.network(ep["network"])["subnet"])
                   for ep in self.store.endpoints(sandbox=sandbox) if ep["ip"]]
        for link in self.store.links(sandbox):
            cidr = link["ip_a"] if link["a"] == sandbox else link["ip_b"]
            if cidr:
                subnets.append(ipaddress.ip_interface(cidr).network)
        return subnets

    @changing
    def route_add(self, sandbox: str, dest: str, via: str) -> dict:
        sb = self.get_sandbox(sandbox)
        if sb["mode"] != "netns":
            raise Conflict(f"sandbox '{sandbox}' uses the {sb['mode']} network; it has no routes of its own")
        dest = parse_dest(dest)
        gateway = ipam.parse_ip(via, "via")
        if not any(gateway in net for net in self._sandbox_subnets(sandbox)):
            raise InvalidInput(f"gateway {gateway} is not on any network of sandbox '{sandbox}'")
        if self.store.route(sandbox, dest):
            raise Conflict(f"sandbox '{sandbox}' already has a route to {dest}")
        if dest == DEFAULT:
            gw_ep = next((ep for ep in self.store.endpoints(sandbox=sandbox) if ep["is_gateway"]), None)
            if gw_ep:
                raise Conflict(f"sandbox '{sandbox}' already has a default route via network "
                               f"'{gw_ep['network']}'")
        self.store.add_route(sandbox, dest, str(gateway), None)
        self.apply(Plan([AddRoute(sb["netns"], dest, via=str(gateway))]))
        return {"sandbox": sandbox, "dest": dest, "via": str(gateway)}

    @changing
    def route_rm(self, sandbox: str, dest: str) -> dict:
        sb = self.get_sandbox(sandbox)
        dest = parse_dest(dest)
        route = self.store.route(sandbox, dest)
        if route is None:
            raise NotFound(f"sandbox '{sandbox}' has no route to {dest} made by nsnet")
        self.store.remove_route(sandbox, dest)
        self.apply(Plan([DeleteRoute(sb["netns"], dest, via=route["via"])]))
        return {"sandbox": sandbox, "removed": dest}
