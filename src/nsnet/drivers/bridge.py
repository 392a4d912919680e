"""`bridge`: a Linux bridge in the host namespace, the host as gateway, and one
veth pair per attached sandbox (the seeds' v-net-0 / docker0). Each family the
network carries gets the gateway's address on the bridge, the sandbox's on its
end, and a default route via the gateway in the sandbox that takes it there."""

from .. import family
from ..names import BRIDGE_MAX_PORTS, link_local
from ..steps import AddAddress, AddRoute, CreateBridge, CreateVeth, DeleteLink, SetMacAddress
from .base import Driver


class BridgeDriver(Driver):
    name = "bridge"
    uses_subnet = True
    max_endpoints = BRIDGE_MAX_PORTS  # a veth's host end per sandbox, all on the bridge

    def plan_create(self, net):
        steps = [CreateBridge(net["bridge"], net["mtu"])]
        subnets = family.subnets(net)
        for version, subnet in subnets.items():
            steps.append(AddAddress(None, net["bridge"], f"{net[family.GATEWAY[version]]}/{subnet.prefixlen}"))
        if 6 in subnets:
            # A link-local address, made at once (no DAD): the host's neighbour
            # solicitations for what it forwards into the network (from another
            # network, from outside) come from it. Sandboxes need none: what
            # they send comes from their own global address.
            steps.append(AddAddress(None, net["bridge"], f"{link_local(net['gateway6'])}/64"))
        return steps

    def plan_remove(self, net):
        return [DeleteLink(None, net["bridge"])]

    def plan_connect(self, net, ep, sandbox_ns, default_route):
        steps = [CreateVeth(None, ep["host_ifname"], sandbox_ns, ep["ifname"], master=net["bridge"], mtu=net["mtu"])]
        for version, subnet in family.subnets(net).items():
            ip = ep.get(family.IP[version])
            if ip:
                steps.append(AddAddress(sandbox_ns, ep["ifname"], f"{ip}/{subnet.prefixlen}"))
        mac = (ep.get("options") or {}).get("mac")
        if mac:  # a fixed MAC (a container runtime's --mac-address)
            steps.insert(1, SetMacAddress(sandbox_ns, ep["ifname"], mac))
        for version in default_route:
            steps.append(AddRoute(sandbox_ns, family.DEFAULT_ROUTE[version], via=net[family.GATEWAY[version]]))
        return steps

    def plan_disconnect(self, net, ep, sandbox_ns):
        # Deleting the host end deletes the pair, its addresses and routes.
        return [DeleteLink(None, ep["host_ifname"])]
