"""`bridge`: a Linux bridge in the host namespace, the host as gateway, and one
veth pair per attached sandbox (the seeds' v-net-0 / docker0)."""

import ipaddress

from ..ipam import DEFAULT_ROUTE
from ..steps import AddAddress, AddRoute, CreateBridge, CreateVeth, DeleteLink, SetMacAddress
from .base import Driver


class BridgeDriver(Driver):
    name = "bridge"
    uses_subnet = True

    def plan_create(self, net):
        prefix = ipaddress.ip_network(net["subnet"]).prefixlen
        return [
            CreateBridge(net["bridge"], net["mtu"]),
            AddAddress(None, net["bridge"], f"{net['gateway']}/{prefix}"),
        ]

    def plan_remove(self, net):
        return [DeleteLink(None, net["bridge"])]

    def plan_connect(self, net, ep, sandbox_ns, default_route):
        prefix = ipaddress.ip_network(net["subnet"]).prefixlen
        steps = [
            CreateVeth(None, ep["host_ifname"], sandbox_ns, ep["ifname"], master=net["bridge"], mtu=net["mtu"]),
            AddAddress(sandbox_ns, ep["ifname"], f"{ep['ip']}/{prefix}"),
        ]
        mac = (ep.get("options") or {}).get("mac")
        if mac:  # a fixed MAC (a container runtime's --mac-address)
            steps.insert(1, SetMacAddress(sandbox_ns, ep["ifname"], mac))
        if default_route:
            steps.append(AddRoute(sandbox_ns, DEFAULT_ROUTE, via=net["gateway"]))
        return steps

    def plan_disconnect(self, net, ep, sandbox_ns):
        # Deleting the host end deletes the pair, its addresses and routes.
        return [DeleteLink(None, ep["host_ifname"])]
