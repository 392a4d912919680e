"""Static routes inside sandboxes (the seeds' `ip route add 192.168.1.0/24 via 192.168.15.5`)."""

import ipaddress

from .. import ipam
from ..errors import Conflict, InvalidInput, NotFound
from ..steps import AddRoute, DeleteRoute, Plan
from .context import Service
from .lookup import get_sandbox


class Routes(Service):
    def _sandbox_subnets(self, sandbox: str) -> list:
        subnets = [ipaddress.ip_network(self.store.network(ep["network"])["subnet"])
                   for ep in self.store.endpoints(sandbox=sandbox) if ep["ip"]]
        for link in self.store.links(sandbox):
            cidr = link["ip_a"] if link["a"] == sandbox else link["ip_b"]
            if cidr:
                subnets.append(ipaddress.ip_interface(cidr).network)
        return subnets

    def add(self, ex, sandbox: str, dest: str, via: str) -> dict:
        """A static route in `sandbox` to `dest` (a CIDR or 'default') via a gateway on one of its networks."""
        sb = get_sandbox(self.store, sandbox)
        if sb["mode"] != "netns":
            raise Conflict(f"sandbox '{sandbox}' uses the {sb['mode']} network; it has no routes of its own")
        dest = ipam.parse_dest(dest)
        gateway = ipam.parse_ip(via, "via")
        if not any(gateway in net for net in self._sandbox_subnets(sandbox)):
            raise InvalidInput(f"gateway {gateway} is not on any network of sandbox '{sandbox}'")
        if self.store.route(sandbox, dest):
            raise Conflict(f"sandbox '{sandbox}' already has a route to {dest}")
        if dest == ipam.DEFAULT_ROUTE:
            gw_ep = next((ep for ep in self.store.endpoints(sandbox=sandbox) if ep["is_gateway"]), None)
            if gw_ep:
                raise Conflict(f"sandbox '{sandbox}' already has a default route via network "
                               f"'{gw_ep['network']}'")
        self.store.add_route(sandbox, dest, str(gateway), None)
        ex.apply(Plan([AddRoute(sb["netns"], dest, via=str(gateway))]))
        return {"sandbox": sandbox, "dest": dest, "via": str(gateway)}

    def rm(self, ex, sandbox: str, dest: str) -> dict:
        """Remove a route nsnet made."""
        sb = get_sandbox(self.store, sandbox)
        dest = ipam.parse_dest(dest)
        route = self.store.route(sandbox, dest)
        if route is None:
            raise NotFound(f"sandbox '{sandbox}' has no route to {dest} made by nsnet")
        self.store.remove_route(sandbox, dest)
        ex.apply(Plan([DeleteRoute(sb["netns"], dest, via=route["via"])]))
        return {"sandbox": sandbox, "removed": dest}
