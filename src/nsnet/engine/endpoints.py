"""Attaching sandboxes to networks: IPAM, interface names, the default route."""

import ipaddress

from .. import family, ipam
from ..drivers import get_driver
from ..errors import Conflict, InvalidInput
from ..names import check_mac, host_veth_name
from ..steps import AddRoute, LeaveHostNetns, Plan, ShareHostNetns
from .context import Service
from .dns import check_alias
from .lookup import find_network, forget_routes_via, get_network, get_sandbox, pick_ifname, used_ifnames


class Endpoints(Service):
    def __init__(self, ctx, local, firewall, dns):
        super().__init__(ctx)
        self.local = local
        self.firewall = firewall
        self.dns = dns

    def connect(self, ex, network: str, sandbox: str, ip=None, ifname=None, publish=None, aliases=None,
                mac=None, probe_ports: bool = True) -> dict:
        """Attach `sandbox` to `network`; `publish`: ['8080:80', '127.0.0.1:53:53/udp', ...];
        `aliases`: more DNS names for it on this network; `mac`: a fixed MAC (bridge
        networks). `probe_ports=False`: the caller holds the host ports itself (a
        container runtime's conmon does), so a socket bound to one is no conflict."""
        plan = Plan()
        ep = self.plan_connect(ex, plan, network, sandbox, ip, ifname, publish, aliases, mac=mac,
                               probe_ports=probe_ports)
        ex.apply(plan)
        return self.connected(network, sandbox, ep["ifname"])

    def connected(self, network: str, sandbox: str, ifname: str | None = None) -> dict:
        """What connect returns: the endpoint's row and the sandbox's published ports."""
        return dict(self.store.endpoint(network, sandbox, ifname), ports=self.firewall.ports(sandbox))

    def plan_connect(self, ex, plan: Plan, network: str, sandbox: str, ip=None, ifname=None,
                     publish=None, aliases=None, new_sandbox: dict | None = None, mac: str | None = None,
                     probe_ports: bool = True) -> dict:
        """Validate, reserve the address and add the steps to `plan`.
        `new_sandbox`: the row of a sandbox made in this same change with nothing
        attached yet (its first network): the lookups that would find nothing are skipped.
        `probe_ports=False`: the caller holds the host ports itself (no socket probe)."""
        drv, net = find_network(self.ctx, network)
        if mac and not drv.fixed_macs:
            raise InvalidInput(f"network '{network}' is an {drv.name} network: a fixed MAC is for bridge networks")
        record = drv.joined(self.ctx, network, net)
        sb = new_sandbox or get_sandbox(self.store, sandbox)
        current = []
        if new_sandbox is None:
            there = self.store.endpoint(network, sandbox)
            if there and (not ifname or not drv.uses_subnet):
                raise Conflict(f"sandbox '{sandbox}' is already connected to network '{network}' (as "
                               f"{there['ifname']}; a second interface on it needs an interface name)")
            current = self.store.endpoints(sandbox=sandbox)
            if current and (drv.exclusive or sb["mode"] != "netns"):
                kind = drv.name if drv.exclusive else sb["mode"]
                raise Conflict(f"sandbox '{sandbox}' is on network '{current[0]['network']}'; a '{kind}' "
                               "network cannot be combined with others")
            if drv.exclusive and self.store.links(sandbox):
                raise Conflict(f"sandbox '{sandbox}' has direct links; it cannot join a '{drv.name}' network")
        if drv.max_endpoints is not None and self.store.endpoint_count(network) >= drv.max_endpoints:
            raise Conflict(f"network '{network}' is full: {drv.max_endpoints} sandboxes are attached, the most its "
                           "bridge takes (a Linux bridge has 1023 ports); attach further sandboxes to another network")
        if not drv.uses_subnet:
            if ip or ifname or publish or aliases or mac:
                raise Conflict(f"network '{network}' (driver {drv.name}) takes no --ip, --ifname, --mac or "
                               "--publish")
            if drv.sandbox_mode == "host":
                if new_sandbox is None and self.kernel.netns_in_use(sb["netns"]):
                    raise Conflict(f"sandbox '{sandbox}' has processes in its namespace; they would stay there, "
                                   f"not on network '{network}' (stop them first)")
                plan.add(ShareHostNetns(sb["netns"], self.ctx.settings.host_netns, replaces=new_sandbox is None))
            self.store.add_endpoint(network, sandbox, None, None, False)
            self.store.set_sandbox_mode(sandbox, drv.sandbox_mode)
            return self.store.endpoint(network, sandbox)
        if aliases and not drv.has_dns:
            raise InvalidInput(f"{drv.name} networks have no DNS yet: --alias is not supported")
        ifname = pick_ifname(sandbox, ifname, {"lo"} if new_sandbox else used_ifnames(self.store, sandbox))
        options = {"aliases": [check_alias(a) for a in aliases]} if aliases else {}
        if mac:
            options["mac"] = check_mac(mac)
        if net is None:  # this host's first endpoint on a network of the cluster
            net = self.local.add(ex, plan, drv, record)
        addrs, undo = self._reserve(ex, drv, net, sandbox, ip)
        try:
            # Per family, the first network with an address of it gives the default route.
            gives = tuple(v for v in addrs if new_sandbox is not None or not (
                any(ep[family.IS_GATEWAY[v]] for ep in current)
                or self.store.route(sandbox, family.DEFAULT_ROUTE[v]) is not None))
            self.dns.touch(ex, sandbox, sb["netns"], new=new_sandbox is not None)  # before the endpoint is written
            ep_id = self.store.add_endpoint(network, sandbox, ifname, addrs.get(4), 4 in gives, options or None,
                                            addrs.get(6), 6 in gives)
            self.store.set_endpoint_host_ifname(ep_id, host_veth_name(ep_id))
            ep = {"id": ep_id, "network": network, "sandbox": sandbox, "ifname": ifname,
                  "host_ifname": host_veth_name(ep_id), "ip": addrs.get(4), "ip6": addrs.get(6),
                  "is_gateway": int(4 in gives), "is_gateway6": int(6 in gives),
                  "options": options}  # the row just written, as store.endpoint() would read it back
            plan.extend(undo)
            plan.extend(drv.plan_connect(net, ep, sb["netns"], default_route=gives))
            plan.extend(self.firewall.plan_publish(ex, net, ep, publish, probe=probe_ports, new_endpoint=True))
            plan.extend(drv.announce(self.ctx, net, ep))
        except BaseException:
            for step in undo:  # a claim made beyond this host goes back now, not by rollback
                step.undo(None)
            raise
        return ep

    def _reserve(self, ex, drv, net: dict, sandbox: str, ip) -> tuple[dict[int, str], list]:
        """({family: address}, steps that give them back) for a new endpoint of
        `net`: an address of each family it carries. `ip`: static addresses, at
        most one per family (a string, 'A,B', or a list)."""
        subnets = family.subnets(net)
        wanted = ipam.parse_ips(ip, "--ip")
        for version, addr in wanted.items():
            if version not in subnets:
                raise InvalidInput(f"--ip {addr}: network '{net['name']}' has no IPv{version} subnet")
            ipam.check_in_subnet(addr, subnets[version], "--ip")
            if str(addr) == net[family.GATEWAY[version]]:
                raise Conflict(f"address {addr} on network '{net['name']}' is already taken by the gateway")
        static = {v: str(a) for v, a in wanted.items()}
        reserved = drv.reserve(self.ctx, ex, net, sandbox, static)
        if reserved is not None:
            return reserved
        out = {}
        for version, subnet in subnets.items():
            addr = static.get(version)
            if addr is None:
                addr = str(self._allocate_ip(net["name"], subnet, net[family.GATEWAY[version]]))
            elif self.store.ip_taken(net["name"], addr):
                raise Conflict(f"address {addr} on network '{net['name']}' is already taken by another sandbox")
            out[version] = addr
        return out, []

    def _allocate_ip(self, network: str, subnet, gateway: str):
        """The lowest free address: probed from the store's hint when it has one
        (a few indexed lookups), else found by reading all of the network's."""
        version = subnet.version
        hint = self.store.free_ip_hint(network, version)
        addr = None
        if hint is not None:
            last = ipam.last_host(subnet)
            for candidate in range(hint, min(hint + 4, last + 1)):
                text = str(ipaddress.ip_address(candidate) if version == 4 else ipaddress.IPv6Address(candidate))
                if text != gateway and not self.store.ip_taken(network, text):
                    addr = ipaddress.ip_address(text)
                    break
        if addr is None:
            addr = ipam.allocate(subnet, self.store.used_ips(network, version) + [gateway])
        self.store.set_free_ip_hint(network, int(addr) + 1, version)
        return addr

    def disconnect(self, ex, network: str, sandbox: str, ifname: str | None = None) -> dict:
        """Detach `sandbox` from `network` (the next network takes the default route);
        `ifname`: which of its interfaces there, if it has more than one."""
        net = get_network(self.store, network)
        get_sandbox(self.store, sandbox)
        ep = self.store.endpoint(network, sandbox, ifname)
        if ep is None:
            on = f" with interface {ifname}" if ifname else ""
            raise Conflict(f"sandbox '{sandbox}' is not connected to network '{network}'{on}")
        if ifname is None:
            names = [e["ifname"] for e in self.store.endpoints(network=network, sandbox=sandbox)]
            if len(names) > 1:
                raise Conflict(f"sandbox '{sandbox}' has {len(names)} interfaces on network '{network}' "
                               f"({', '.join(names)}): name the one to disconnect (ifname)")
        plan = Plan(self.plan_disconnect(ex, net, ep))
        plan.extend(self._plan_move_default_route(sandbox, ep))
        return {"disconnected": sandbox, "network": network, "errors": ex.best_effort(plan)}

    def plan_disconnect(self, ex, net: dict, ep: dict, cut_cable: bool = True, release: bool = True,
                        sandbox_goes: bool = False) -> list:
        """Forget the endpoint (frees its address, unpublishes its ports) and the
        routes that used it. cut_cable=False leaves the veth to die with its
        namespace; release=False keeps a cluster claim (its network goes whole);
        sandbox_goes: the sandbox is being removed (a host-mode one needs no
        namespace of its own again)."""
        sb = self.store.sandbox(ep["sandbox"])
        self.dns.touch(ex, ep["sandbox"], sb["netns"])
        steps = self.firewall.plan_unpublish(ep["sandbox"], net["name"], family.addresses(ep))
        self.store.remove_endpoint(ep["id"])
        subnets = family.subnets(net)
        if subnets:
            forget_routes_via(self.store, ep["sandbox"], subnets.values())
        if not self.store.endpoints(sandbox=ep["sandbox"]):
            self.store.set_sandbox_mode(ep["sandbox"], "netns")
            if sb["mode"] == "host" and not sandbox_goes:
                steps.append(LeaveHostNetns(sb["netns"], self.ctx.settings.host_netns))
        drv = get_driver(net["driver"])
        if cut_cable:
            steps += drv.plan_disconnect(net, ep, sb["netns"])
        if release:
            steps += drv.release(self.ctx, net, ep)
        return steps

    def _plan_move_default_route(self, sandbox: str, gone: dict) -> list:
        """If the network that gave a family's default route went away, the next
        network with an address of that family takes it."""
        steps = []
        for version in family.default_routes(gone):
            for ep in self.store.endpoints(sandbox=sandbox):
                net = self.store.network(ep["network"])
                if ep[family.IP[version]] and net[family.GATEWAY[version]]:
                    self.store.set_endpoint_gateway(ep["id"], version)
                    sb = self.store.sandbox(sandbox)
                    steps.append(AddRoute(sb["netns"], family.DEFAULT_ROUTE[version], via=net[family.GATEWAY[version]]))
                    break
        return steps
