"""Networks: create / remove / list / inspect."""

import ipaddress

from .. import ipam
from ..drivers import get_driver
from ..errors import Conflict, InvalidInput
from ..names import bridge_name, check_ifname, check_mtu, check_name
from ..steps import Plan
from .base import changing
from .executor import execute_best_effort


class Networks:
    @changing
    def network_create(
        self,
        name: str,
        driver: str = "bridge",
        subnet: str | None = None,
        gateway: str | None = None,
        mtu: int | None = None,
        bridge: str | None = None,
        internal: bool = False,
        masquerade: bool = True,
        dns: bool = True,
    ) -> dict:
        if driver == "overlay":  # multi-host: engine/overlay.py
            return self._overlay_create(name, subnet, gateway, mtu, bridge, internal, masquerade)
        check_name("network", name)
        drv = get_driver(driver)
        if self.store.network(name):
            raise Conflict(f"network '{name}' already exists")
        check_mtu(mtu)
        if not drv.uses_subnet:
            if subnet or gateway or bridge or mtu:
                raise InvalidInput(f"driver '{driver}' takes no --subnet, --gateway, --bridge or --mtu")
            if any(n["driver"] == driver for n in self.store.networks()):
                raise Conflict(f"a network with driver '{driver}' already exists; only one is allowed")
            net = {"name": name, "driver": driver, "subnet": None, "gateway": None, "bridge": None, "mtu": None}
        else:
            net = self._prepare_bridge(name, subnet, gateway, mtu, bridge)
        options = {"internal": bool(internal), "masquerade": bool(masquerade) and not internal, "dns": bool(dns)}
        before = self._bridged_networks()
        self.store.add_network(net["name"], driver, net["subnet"], net["gateway"], net["bridge"], net["mtu"], options)
        net["options"] = options
        plan = Plan(drv.plan_create(net))
        if net["bridge"]:
            plan.extend(self._fw_network_added(net, before))
        self.apply(plan)
        return self.network_inspect(name)

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

    def _prepare_bridge(self, name, subnet, gateway, mtu, bridge) -> dict:
        net = self._choose_subnet(subnet)
        gw = ipam.parse_ip(gateway, "gateway") if gateway else ipam.default_gateway(net)
        ipam.check_in_subnet(gw, net, "gateway")
        bridge = check_ifname(bridge) if bridge else bridge_name(name)
        if any(n["bridge"] == bridge for n in self.store.networks()):
            raise Conflict(f"bridge {bridge} is already used by another network")
        if not self._dry_run and self.kernel.link_exists(None, bridge):
            raise Conflict(f"an interface named {bridge} already exists in the host namespace (not ours)")
        return {"name": name, "subnet": str(net), "gateway": str(gw), "bridge": bridge,
                "mtu": int(mtu) if mtu else None}

    def _host_routes(self) -> list[dict]:
        """Routes already in the host namespace, minus the default route and ours."""
        ours = {n["bridge"] for n in self.store.networks() if n["bridge"]}
        return [r for r in self.kernel.routes(None)
                if r["dest"] != "0.0.0.0/0" and r["dev"] not in ours and r["dev"] != "lo"]

    def _host_route_overlap(self, net) -> str | None:
        for route in self._host_routes():
            if net.overlaps(ipaddress.ip_network(route["dest"])):
                return f"{route['dest']} (dev {route['dev']})"
        return None

    @changing
    def network_rm(self, name: str, force: bool = False) -> dict:
        if self._is_overlay(name):  # multi-host: engine/overlay.py
            return self._overlay_rm(name, force)
        net = self.get_network(name)
        endpoints = self.store.endpoints(network=name)
        if endpoints and not force:
            who = ", ".join(ep["sandbox"] for ep in endpoints)
            raise Conflict(f"network '{name}' has {len(endpoints)} sandbox(es) attached ({who}); "
                           "disconnect them or use --force")
        before = self._bridged_networks()
        plan = Plan()
        for ep in endpoints:
            plan.extend(self._plan_disconnect(net, ep))
        self.store.remove_network(name)
        fw_first, fw_last = self._fw_network_removed(before) if net["bridge"] else ([], [])
        plan.extend(fw_first)  # firewall rules go before the bridge does
        plan.extend(get_driver(net["driver"]).plan_remove(net))
        plan.extend(fw_last)
        if self._dry_run:
            self.apply(plan)
        errors = execute_best_effort(plan, self.kernel)
        return {"removed": name, "errors": errors}

    def network_ls(self) -> list[dict]:
        counts = {}
        for ep in self.store.endpoints():
            counts[ep["network"]] = counts.get(ep["network"], 0) + 1
        rows = [dict(n, sandboxes=counts.get(n["name"], 0)) for n in self.store.networks()]
        if self.settings.cluster_store:  # overlays of the cluster with no local copy on this host yet
            known = {r["name"] for r in rows}
            rows += [{"name": rec["name"], "driver": "overlay", "subnet": rec.get("subnet"),
                      "gateway": rec.get("gateway"), "bridge": None, "sandboxes": 0}
                     for rec in self.overlay_ls() if rec["name"] not in known]
        return rows

    def network_inspect(self, name: str) -> dict:
        net = self.get_network(name)
        net["endpoints"] = [
            {k: ep[k] for k in ("sandbox", "ifname", "ip", "host_ifname", "is_gateway")}
            for ep in self.store.endpoints(network=name)
        ]
        return net
