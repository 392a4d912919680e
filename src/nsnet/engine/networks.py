"""Networks: create / remove / list / inspect, for every driver."""

import ipaddress

from .. import ipam
from ..drivers import DRIVERS, get_driver
from ..errors import Conflict, InvalidInput
from ..names import check_mtu, check_name
from ..steps import Plan
from .context import Service
from .lookup import find_network, get_network

ENDPOINT_FIELDS = ("sandbox", "ifname", "ip", "host_ifname", "is_gateway")


class Networks(Service):
    def __init__(self, ctx, local, endpoints):
        super().__init__(ctx)
        self.local = local
        self.endpoints = endpoints

    def create(self, ex, name: str, driver: str = "bridge", subnet=None, gateway=None, mtu=None, bridge=None,
               internal: bool = False, masquerade: bool = True, dns: bool = True, vni=None) -> dict:
        """A network of `driver` (bridge | host | none | overlay); with no subnet, a free
        one. `vni`: an overlay's VXLAN id (default: the lowest free from 4096)."""
        check_name("network", name)
        drv = get_driver(driver)
        if self.store.network(name):
            raise Conflict(f"network '{name}' already exists")
        mtu = check_mtu(mtu)
        vni = drv.check_create(self.ctx, vni)
        record = {"name": name, "subnet": None, "gateway": None, "mtu": None, "internal": bool(internal),
                  "masquerade": bool(masquerade) and not internal, "dns": bool(dns), "vni": vni}
        if not drv.uses_subnet:
            if subnet or gateway or bridge or mtu:
                raise InvalidInput(f"driver '{driver}' takes no --subnet, --gateway, --bridge or --mtu")
            if any(n["driver"] == driver for n in self.store.networks()):
                raise Conflict(f"a network with driver '{driver}' already exists; only one is allowed")
        else:
            net = self._choose_subnet(subnet, drv.taken_subnets(self.ctx))
            gw = ipam.parse_ip(gateway, "gateway") if gateway else ipam.default_gateway(net)
            ipam.check_in_subnet(gw, net, "gateway")
            record.update(subnet=str(net), gateway=str(gw), mtu=mtu)
        plan = Plan(drv.plan_share(self.ctx, record))
        self.local.add(ex, plan, drv, record, bridge)
        ex.apply(plan)
        return self.inspect(name)

    def _choose_subnet(self, subnet: str | None, also_taken=()):
        """The given subnet, checked against local networks and host routes, or
        a free one from the default pool (avoiding `also_taken` too)."""
        others = {n["name"]: ipaddress.ip_network(n["subnet"]) for n in self.store.networks() if n["subnet"]}
        if subnet:
            net = ipam.parse_subnet(subnet)
            clash = ipam.overlapping(net, others)
            if clash:
                raise Conflict(f"subnet {net} overlaps network '{clash}' ({others[clash]})")
            route = self._host_route_overlap(net)
            if route:
                raise Conflict(f"subnet {net} overlaps route {route} in the host namespace")
            return net
        taken = [*others.values(), *also_taken, *(ipaddress.ip_network(r["dest"]) for r in self._host_routes())]
        return ipam.pick_subnet(taken)

    def _host_routes(self) -> list[dict]:
        """Routes already in the host namespace, minus the default route and ours."""
        ours = {n["bridge"] for n in self.store.networks() if n["bridge"]}
        return [r for r in self.kernel.routes(None)
                if r["dest"] != ipam.DEFAULT_ROUTE and r["dev"] not in ours and r["dev"] != "lo"]

    def _host_route_overlap(self, net) -> str | None:
        for route in self._host_routes():
            if net.overlaps(ipaddress.ip_network(route["dest"])):
                return f"{route['dest']} (dev {route['dev']})"
        return None

    def rm(self, ex, name: str, force: bool = False) -> dict:
        """Remove a network; `force`: disconnect its sandboxes first."""
        drv, net = find_network(self.ctx, name)
        endpoints = self.store.endpoints(network=name) if net else []
        if endpoints and not force:
            who = ", ".join(ep["sandbox"] for ep in endpoints)
            raise Conflict(f"network '{name}' has {len(endpoints)} sandbox(es) attached ({who}); "
                           "disconnect them or use --force")
        first = drv.plan_unshare(self.ctx, name, endpoints)
        rest = []
        if net is not None:
            for ep in endpoints:  # their addresses go with the network
                rest += self.endpoints.plan_disconnect(ex, net, ep, release=False)
            rest += self.local.remove(ex, net, drv)
        ex.apply(Plan(first))  # refused beyond this host (a claim raced in): nothing else happens
        return {"removed": name, "errors": ex.best_effort(Plan(rest))}

    def ls(self) -> list[dict]:
        """Every network, with its number of sandboxes."""
        counts = {}
        for ep in self.store.endpoints():
            counts[ep["network"]] = counts.get(ep["network"], 0) + 1
        rows = [dict(n, sandboxes=counts.get(n["name"], 0)) for n in self.store.networks()]
        known = {r["name"] for r in rows}
        for drv in DRIVERS.values():  # networks beyond this host with no copy here yet
            rows += drv.listed(self.ctx, known)
        return rows

    def inspect(self, name: str) -> dict:
        """A network's row and its endpoints."""
        net = get_network(self.store, name)
        net["endpoints"] = [{k: ep[k] for k in ENDPOINT_FIELDS} for ep in self.store.endpoints(network=name)]
        return net
