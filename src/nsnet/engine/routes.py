"""Static routes inside sandboxes (the seeds' `ip route add 192.168.1.0/24 via 192.168.15.5`)."""

import ipaddress

from .. import family, ipam
from ..errors import Conflict, InvalidInput, NotFound
from ..steps import AddRoute, DeleteRoute, Plan
from .context import Service
from .lookup import get_sandbox


class Routes(Service):
    def _sandbox_subnets(self, sandbox: str) -> list:
        """The subnets the sandbox has an address on: its networks' and its links'."""
        subnets = []
        for ep in self.store.endpoints(sandbox=sandbox):
            net_subnets = family.subnets(self.store.network(ep["network"]))
            subnets += [net_subnets[v] for v in family.VERSIONS if ep.get(family.IP[v]) and v in net_subnets]
        for link in self.store.links(sandbox):
            subnets += [ipaddress.ip_interface(cidr).network for cidr in family.link_cidrs(link, sandbox)]
        return subnets

    def add(self, ex, sandbox: str, dest: str, via: str) -> dict:
        """A static route in `sandbox` to `dest` (a CIDR or 'default') via a gateway on
        one of its networks; IPv6 when the gateway is an IPv6 address."""
        sb = get_sandbox(self.store, sandbox)
        if sb["mode"] != "netns":
            raise Conflict(f"sandbox '{sandbox}' uses the {sb['mode']} network; it has no routes of its own")
        gateway = ipam.parse_ip(via, "via")
        dest = ipam.parse_dest(dest, gateway.version)
        if family.version_of(dest) != gateway.version:
            raise InvalidInput(f"route to {dest} via {gateway}: the destination and the gateway are of "
                               "different families")
        if not any(gateway.version == net.version and gateway in net for net in self._sandbox_subnets(sandbox)):
            raise InvalidInput(f"gateway {gateway} is not on any network of sandbox '{sandbox}'")
        if self.store.route(sandbox, dest):
            raise Conflict(f"sandbox '{sandbox}' already has a route to {dest}")
        if dest == family.DEFAULT_ROUTE[gateway.version]:
            flag = family.IS_GATEWAY[gateway.version]
            gw_ep = next((ep for ep in self.store.endpoints(sandbox=sandbox) if ep[flag]), None)
            if gw_ep:
                raise Conflict(f"sandbox '{sandbox}' already has a default route via network "
                               f"'{gw_ep['network']}'")
        self.store.add_route(sandbox, dest, str(gateway), None)
        ex.apply(Plan([AddRoute(sb["netns"], dest, via=str(gateway))]))
        return {"sandbox": sandbox, "dest": dest, "via": str(gateway)}

    def rm(self, ex, sandbox: str, dest: str) -> dict:
        """Remove a route nsnet made ('default': of the one family that has one nsnet made)."""
        sb = get_sandbox(self.store, sandbox)
        if dest == "default":
            made = [d for d in family.DEFAULT_ROUTE.values() if self.store.route(sandbox, d)]
            if len(made) > 1:
                raise InvalidInput(f"sandbox '{sandbox}' has default routes of both families: "
                                   "say 0.0.0.0/0 or ::/0")
            dest = made[0] if made else family.DEFAULT_ROUTE[4]
        dest = ipam.parse_dest(dest)
        route = self.store.route(sandbox, dest)
        if route is None:
            raise NotFound(f"sandbox '{sandbox}' has no route to {dest} made by nsnet")
        self.store.remove_route(sandbox, dest)
        ex.apply(Plan([DeleteRoute(sb["netns"], dest, via=route["via"])]))
        return {"sandbox": sandbox, "removed": dest}
