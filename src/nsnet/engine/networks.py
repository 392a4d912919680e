"""Networks: create / remove / list / inspect, for every driver."""

import collections
import ipaddress
import socket

from .. import family, ipam
from ..drivers import DRIVERS, check_options, get_driver
from ..errors import Conflict, InvalidInput, NotFound
from ..names import check_mtu, check_name
from ..steps import Plan
from .context import Service
from .lookup import find_network, get_network
from .views import endpoint_view, network_view

# Docker's `bridge` (docker0): made on first use by `run` without --network and by
# `--network default`, with a free subnet, NAT and DNS like any other bridge network.
DEFAULT_NETWORK = "default"
NO_NETWORK = "none"  # `run --network none`: loopback only (unless a network has that name)

ENDPOINT_FIELDS = ("sandbox", "ifname", "ip", "ip6", "host_ifname", "is_gateway", "is_gateway6")


def _link_scoped(dest: str) -> bool:
    """fe80::/64 and ff00::/8 (on every interface with IPv6): no network's business."""
    net = ipaddress.ip_network(dest)
    return net.version == 6 and (net.is_link_local or net.is_multicast)


def machine_id() -> str:
    """What this machine's IPv6 pool derives from: /etc/machine-id, else the hostname."""
    try:
        with open("/etc/machine-id") as f:
            text = f.read().strip()
        if text:
            return text
    except OSError:
        pass
    return socket.gethostname()


class Networks(Service):
    def __init__(self, ctx, local, endpoints):
        super().__init__(ctx)
        self.local = local
        self.endpoints = endpoints

    def create(self, ex, name: str, driver: str = "bridge", subnet=None, gateway=None, mtu=None, bridge=None,
               internal: bool = False, masquerade: bool = True, dns: bool = True, vni=None,
               ipv6: bool = False, direct_routing: bool = False, options: dict | None = None) -> dict:
        """A network of `driver` (bridge | host | none | overlay). `subnet`: a CIDR or a
        list of them, at most one per family; the families given are the network's (an
        IPv6 subnet alone makes an IPv6-only network); with none, a free IPv4 one.
        `ipv6`: an IPv6 subnet too, a free unique local /64 unless one is given.
        `gateway`: an address, or one per family (default: each subnet's first).
        `vni`: an overlay's VXLAN id (default: the lowest free from 4096).
        `direct_routing`: peers beyond the host that route the subnet via the host
        reach every port of its sandboxes (default: only published ports).
        `options`: the driver's own (--opt KEY[=VALUE]), e.g. {"encrypted": True} for overlay."""
        plan = Plan()
        self._plan_create(ex, plan, name, driver, subnet, gateway, mtu, bridge, internal, masquerade, dns, vni, ipv6,
                          direct_routing, options)
        ex.apply(plan)
        return self.inspect(name)

    def attach(self, ex, network: str, sandbox: str, create: dict | None = None, **connect) -> dict:
        """network_connect, the network made first if it does not exist (with
        `create`: network_create's settings), in one change: of parallel first
        attaches (a runtime's containers on a network not made yet) one makes
        it, the others find it (the store's lock), and a failed attach takes the
        network it made with it. The result is network_connect's, with
        "network_created"."""
        plan = Plan()
        made = False
        try:
            find_network(self.ctx, network)
        except NotFound:
            self._plan_create(ex, plan, network, **(create or {}))
            made = True
        ep = self.endpoints.plan_connect(ex, plan, network, sandbox, **connect)
        ex.apply(plan)
        return self.endpoints.connected(network, sandbox, ep["ifname"]) | {"network_created": made}

    def _plan_create(self, ex, plan: Plan, name: str, driver: str = "bridge", subnet=None, gateway=None, mtu=None,
                     bridge=None, internal: bool = False, masquerade: bool = True, dns: bool = True,
                     vni=None, ipv6: bool = False, direct_routing: bool = False,
                     options: dict | None = None) -> None:
        check_name("network", name)
        drv = get_driver(driver)
        driver_options = check_options(driver, options)
        if self.store.network(name):
            raise Conflict(f"network '{name}' already exists")
        mtu = check_mtu(mtu)
        vni = drv.check_create(self.ctx, vni)
        record = {"name": name, "subnet": None, "gateway": None, "subnet6": None, "gateway6": None, "mtu": None,
                  "internal": bool(internal), "masquerade": bool(masquerade) and not internal, "dns": bool(dns),
                  "vni": vni, "direct_routing": bool(direct_routing) and not internal, **driver_options}
        if not drv.uses_subnet:
            if subnet or gateway or bridge or mtu or ipv6 or direct_routing:
                raise InvalidInput(f"driver '{driver}' takes no --subnet, --gateway, --ipv6, --bridge, --mtu or "
                                   "--allow-direct-routing")
            if any(n["driver"] == driver for n in self.store.networks()):
                raise Conflict(f"a network with driver '{driver}' already exists; only one is allowed")
        else:
            given = ipam.parse_subnets(subnet)
            gateways = ipam.parse_ips(gateway, "gateway")
            versions = set(given) or {4}
            if ipv6:
                versions.add(6)
            for version, gw in gateways.items():
                if version not in versions:
                    raise InvalidInput(f"gateway {gw}: network '{name}' has no IPv{version} subnet")
            also_taken = drv.taken_subnets(self.ctx)
            for version in sorted(versions):
                net = self._choose_subnet(version, given.get(version), also_taken)
                gw = gateways.get(version) or ipam.default_gateway(net)
                ipam.check_in_subnet(gw, net, "gateway")
                record.update({family.SUBNET[version]: str(net), family.GATEWAY[version]: str(gw)})
            record["mtu"] = mtu
        plan.extend(drv.plan_share(self.ctx, record))
        self.local.add(ex, plan, drv, record, bridge)

    def _choose_subnet(self, version: int, net=None, also_taken=()):
        """`net` (of family `version`), checked against local networks and host
        routes, or a free one from the default pool (avoiding `also_taken` too):
        IPv4's pool, or this machine's unique local /48 for IPv6."""
        column = family.SUBNET[version]
        others = {n["name"]: ipaddress.ip_network(n[column]) for n in self.store.networks() if n[column]}
        if net is not None:
            clash = ipam.overlapping(net, others)
            if clash:
                raise Conflict(f"subnet {net} overlaps network '{clash}' ({others[clash]})")
            route = self._host_route_overlap(net)
            if route:
                raise Conflict(f"subnet {net} overlaps route {route} in the host namespace")
            return net
        taken = [*others.values(), *also_taken, *(ipaddress.ip_network(r["dest"]) for r in self._host_routes(version))]
        if version == 6:
            return ipam.pick_subnet6(taken, ipam.ula_prefix(machine_id()))
        return ipam.pick_subnet(taken)

    def _host_routes(self, version: int = 4) -> list[dict]:
        """Routes already in the host namespace of one family, minus default routes,
        link-local, multicast and loopback ones, and ours."""
        ours = {n["bridge"] for n in self.store.networks() if n["bridge"]}
        af = socket.AF_INET6 if version == 6 else socket.AF_INET
        return [r for r in self.kernel.routes(None, af)
                if r["dest"] not in family.DEFAULT_ROUTE.values() and r["dev"] not in ours and r["dev"] != "lo"
                and not _link_scoped(r["dest"])]

    def _host_route_overlap(self, net) -> str | None:
        for route in self._host_routes(net.version):
            if net.overlaps(ipaddress.ip_network(route["dest"])):
                return f"{route['dest']} (dev {route['dev']})"
        return None

    def ensure_default(self, ex) -> None:
        """The default network, made in the caller's change if it does not exist yet."""
        if self.store.network(DEFAULT_NETWORK) is None:
            self.create(ex, DEFAULT_NETWORK)

    def rm(self, ex, name: str, force: bool = False) -> dict:
        """Remove a network; `force`: disconnect its sandboxes first (never those
        of the default network, which sandboxes join without naming it)."""
        drv, net = find_network(self.ctx, name)
        endpoints = self.store.endpoints(network=name) if net else []
        who = ", ".join(ep["sandbox"] for ep in endpoints)
        if endpoints and name == DEFAULT_NETWORK:
            raise Conflict(f"the default network is in use by {len(endpoints)} sandbox(es) ({who}); "
                           "remove them first")
        if endpoints and not force:
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
        counts = collections.Counter(ep["network"] for ep in self.store.endpoints())
        rows = [dict(network_view(n), sandboxes=counts[n["name"]]) for n in self.store.networks()]
        known = {r["name"] for r in rows}
        for drv in DRIVERS.values():  # networks beyond this host with no copy here yet
            rows += drv.listed(self.ctx, known)
        return rows

    def inspect(self, name: str) -> dict:
        """A network's row and its endpoints."""
        net = network_view(get_network(self.store, name))
        net["endpoints"] = [endpoint_view(ep, ENDPOINT_FIELDS) for ep in self.store.endpoints(network=name)]
        return net
