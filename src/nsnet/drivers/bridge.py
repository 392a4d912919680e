"""`bridge`: a Linux bridge in the host namespace, the host as gateway, and one
veth pair per attached sandbox (the seeds' v-net-0 / docker0). Each family the
network carries gets the gateway's address on the bridge, the sandbox's on its
end, and a default route via the gateway in the sandbox that takes it there."""

from .. import family
from ..names import BRIDGE_MAX_PORTS, endpoint_mac, link_local
from ..steps import AddAddress, AddRoute, CreateBridge, CreateVeth, DeleteLink
from .base import Driver


class BridgeDriver(Driver):
    name = "bridge"
    uses_subnet = True
    derived_mac_kept = False  # is a changed derived MAC drift? (overlays: other hosts program it)
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
        # The sandbox's MAC: a fixed one (a container runtime's --mac-address), else
        # derived from its address, so that a sandbox re-created (or repaired) with
        # the same address is reached at once, not after its peers' ARP entries
        # for the old MAC time out (~20-25 s).
        fixed = (ep.get("options") or {}).get("mac")
        steps = [CreateVeth(None, ep["host_ifname"], sandbox_ns, ep["ifname"], master=net["bridge"], mtu=net["mtu"],
                            peer_mac=fixed or endpoint_mac(family.first_address(ep)),
                            mac_kept=bool(fixed) or self.derived_mac_kept)]
        for version, subnet in family.subnets(net).items():
            ip = ep.get(family.IP[version])
            if ip:
                steps.append(AddAddress(sandbox_ns, ep["ifname"], f"{ip}/{subnet.prefixlen}"))
        for version in default_route:
            steps.append(AddRoute(sandbox_ns, family.DEFAULT_ROUTE[version], via=net[family.GATEWAY[version]]))
        return steps

    def plan_disconnect(self, net, ep, sandbox_ns):
        # Deleting the host end deletes the pair, its addresses and routes.
        return [DeleteLink(None, ep["host_ifname"])]
