"""Attaching sandboxes to networks: IPAM, interface names, the default route."""

import ipaddress

from .. import ipam
from ..drivers import get_driver
from ..errors import Conflict, InvalidInput
from ..names import check_ifname, check_mac, host_veth_name
from ..steps import AddRoute, Plan
from .base import changing
from .dns import check_alias
from .executor import execute_best_effort


class Endpoints:
    @changing
    def network_connect(self, network: str, sandbox: str, ip: str | None = None,
                        ifname: str | None = None, publish=None, aliases=None, mac: str | None = None,
                        probe_ports: bool = True) -> dict:
        """Attach `sandbox` to `network`; `publish`: ['8080:80', '127.0.0.1:53:53/udp', ...];
        `aliases`: more DNS names for it on this network; `mac`: a fixed MAC (bridge
        networks). `probe_ports=False`: the caller holds the host ports itself (a
        container runtime's conmon does), so a socket bound to one is no conflict."""
        plan = Plan()
        self._plan_connect(plan, network, sandbox, ip, ifname, publish, aliases, mac=mac, probe_ports=probe_ports)
        self.apply(plan)
        return dict(self.store.endpoint(network, sandbox), ports=self.port_ls(sandbox))

    def _plan_connect(self, plan: Plan, network: str, sandbox: str, ip=None, ifname=None,
                      publish=None, aliases=None, new_sandbox: dict | None = None, mac: str | None = None,
                      probe_ports: bool = True) -> dict:
        """Validate, reserve the address in the store and add the steps to `plan`.
        `new_sandbox`: the row of a sandbox made in this same change with nothing
        attached yet (its first network): the lookups that would find nothing are skipped."""
        net = self.store.network(network)
        if net is None or net["driver"] == "overlay":
            if self._is_overlay(network):  # multi-host: engine/overlay.py
                if mac:
                    raise InvalidInput(f"network '{network}' is an overlay: a fixed MAC is for bridge networks")
                return self._overlay_plan_connect(plan, network, sandbox, ip, ifname, publish, aliases)
            net = self.get_network(network)
        sb = new_sandbox or self.get_sandbox(sandbox)
        drv = get_driver(net["driver"])
        current = []
        if new_sandbox is None:
            if self.store.endpoint(network, sandbox):
                raise Conflict(f"sandbox '{sandbox}' is already connected to network '{network}'")
            current = self.store.endpoints(sandbox=sandbox)
            if current and (drv.exclusive or sb["mode"] != "netns"):
                other = current[0]["network"]
                kind = drv.name if drv.exclusive else sb["mode"]
                raise Conflict(f"sandbox '{sandbox}' is on network '{other}'; a '{kind}' network cannot be "
                               "combined with others")
            if drv.exclusive and self.store.links(sandbox):
                raise Conflict(f"sandbox '{sandbox}' has direct links; it cannot join a '{drv.name}' network")
        if not drv.uses_subnet:
            if ip or ifname or publish or aliases or mac:
                raise Conflict(f"network '{network}' (driver {drv.name}) takes no --ip, --ifname, --mac or --publish")
            ep_id = self.store.add_endpoint(network, sandbox, None, None, False)
            self.store.set_sandbox_mode(sandbox, drv.sandbox_mode)
            return self.store.endpoint(network, sandbox)

        used_names = self.used_ifnames(sandbox) if new_sandbox is None else {"lo"}
        if ifname:
            check_ifname(ifname)
            if ifname in used_names:
                raise Conflict(f"sandbox '{sandbox}' already has an interface named {ifname}")
        else:
            ifname = next(f"eth{i}" for i in range(len(used_names) + 1) if f"eth{i}" not in used_names)
        subnet = ipaddress.ip_network(net["subnet"])
        if ip:
            addr = ipam.parse_ip(ip, "--ip")
            ipam.check_in_subnet(addr, subnet, "--ip")
            if str(addr) == net["gateway"] or self.store.ip_taken(network, str(addr)):
                owner = "the gateway" if str(addr) == net["gateway"] else "another sandbox"
                raise Conflict(f"address {addr} on network '{network}' is already taken by {owner}")
        else:
            addr = self._allocate_ip(network, subnet, net["gateway"])
        has_default = new_sandbox is None and (any(ep["is_gateway"] for ep in current)
                                               or self.store.route(sandbox, "0.0.0.0/0") is not None)
        aliases = [check_alias(a) for a in aliases or []]
        options = {"aliases": aliases} if aliases else {}
        if mac:
            options["mac"] = check_mac(mac)
        ep_id = self.store.add_endpoint(network, sandbox, ifname, str(addr), not has_default, options or None)
        self._dns_touch(sandbox, sb["netns"])
        self.store.set_endpoint_host_ifname(ep_id, host_veth_name(ep_id))
        ep = {"id": ep_id, "network": network, "sandbox": sandbox, "ifname": ifname,
              "host_ifname": host_veth_name(ep_id), "ip": str(addr), "is_gateway": int(not has_default),
              "options": options}  # the row just written, as store.endpoint() would read it back
        plan.extend(drv.plan_connect(net, ep, sb["netns"], default_route=not has_default))
        plan.extend(self._plan_publish(net, ep, publish, probe=probe_ports))
        return ep

    def _allocate_ip(self, network: str, subnet, gateway: str):
        """The lowest free address: probed from the store's hint when it has one
        (a few indexed lookups), else found by reading all of the network's."""
        hint = self.store.free_ip_hint(network)
        addr = None
        if hint is not None:
            last = int(subnet.broadcast_address) - 1
            for candidate in range(hint, min(hint + 4, last + 1)):
                text = str(ipaddress.IPv4Address(candidate))
                if text != gateway and not self.store.ip_taken(network, text):
                    addr = ipaddress.IPv4Address(candidate)
                    break
        if addr is None:
            addr = ipam.allocate(subnet, self.store.used_ips(network) + [gateway])
        self.store.set_free_ip_hint(network, int(addr) + 1)
        return addr

    @changing
    def network_disconnect(self, network: str, sandbox: str) -> dict:
        net = self.get_network(network)
        self.get_sandbox(sandbox)
        ep = self.store.endpoint(network, sandbox)
        if ep is None:
            raise Conflict(f"sandbox '{sandbox}' is not connected to network '{network}'")
        plan = Plan(self._plan_disconnect(net, ep))
        plan.extend(self._plan_move_default_route(sandbox, ep))
        if self._dry_run:
            self.apply(plan)
        errors = execute_best_effort(plan, self.kernel)
        return {"disconnected": sandbox, "network": network, "errors": errors}

    def _plan_disconnect(self, net: dict, ep: dict, cut_cable: bool = True) -> list:
        """Forget the endpoint (frees its address, unpublishes its ports) and the
        routes that used it. cut_cable=False leaves the veth to die with its namespace."""
        sb = self.store.sandbox(ep["sandbox"])
        self._dns_touch(ep["sandbox"], sb["netns"])
        steps = self._plan_unpublish(ep["sandbox"], net["name"])
        self.store.remove_endpoint(ep["id"])
        if net["subnet"]:
            subnet = ipaddress.ip_network(net["subnet"])
            for route in self.store.routes(ep["sandbox"]):
                if route["via"] and ipaddress.ip_address(route["via"]) in subnet:
                    self.store.remove_route(ep["sandbox"], route["dest"])
        if not self.store.endpoints(sandbox=ep["sandbox"]):
            self.store.set_sandbox_mode(ep["sandbox"], "netns")
        if cut_cable:
            steps += get_driver(net["driver"]).plan_disconnect(net, ep, sb["netns"])
        if net["driver"] == "overlay":  # give the address back to the cluster store
            steps += self._overlay_release(net, ep)
        return steps

    def _plan_move_default_route(self, sandbox: str, gone: dict) -> list:
        """If the gateway network went away, the next network takes the default route."""
        if not gone["is_gateway"]:
            return []
        for ep in self.store.endpoints(sandbox=sandbox):
            net = self.store.network(ep["network"])
            if net["gateway"]:
                self.store.set_endpoint_gateway(ep["id"])
                sb = self.store.sandbox(sandbox)
                return [AddRoute(sb["netns"], "0.0.0.0/0", via=net["gateway"])]
        return []
