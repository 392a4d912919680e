"""`overlay`: one network across hosts (Docker's overlay driver).

Per host and per overlay network: a Linux bridge in the host namespace holding
the network's gateway address (the same address on every host: an anycast
gateway answered locally, so outbound traffic is NATed by the local host), and
a VXLAN device enslaved to it. Sandboxes attach to the bridge with a veth, as
with the bridge driver, under a MAC derived from their address. Endpoints on
other hosts are reached through static fdb entries (MAC -> VTEP) and neighbour
entries (IP -> MAC, answered by proxy ARP) that the agent keeps in step with
the cluster store: no multicast, no flooding, no learning.

Host-specific facts live in the local network row's options: vni, vxlan (the
device name), local (this host's underlay address), port.
"""

import ipaddress

from ..steps import AddAddress, AddRoute, CreateBridge, CreateVeth, DeleteLink, SetMacAddress
from ..steps.overlay import VXLAN_PORT, AddFdb, AddNeigh, CreateVxlan
from .base import Driver

VXLAN_OVERHEAD = 50  # outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8
VXLAN_PREFIX = "nsvx-"


def vxlan_name(vni: int) -> str:
    """'nsvx-' + the VNI: at most 13 bytes (VNIs have 24 bits)."""
    return f"{VXLAN_PREFIX}{int(vni)}"


def endpoint_mac(ip: str) -> str:
    """02:42 + the IPv4 address (locally administered, as Docker does): unique in
    a network because addresses are, and computable by every host."""
    packed = ipaddress.IPv4Address(ip).packed
    return "02:42:" + ":".join(f"{b:02x}" for b in packed)


def overlay_mtu(underlay_mtu: int, wanted: int | None = None) -> int:
    """The largest MTU whose VXLAN packets fit the underlay (or `wanted`, if smaller)."""
    fits = int(underlay_mtu) - VXLAN_OVERHEAD
    return min(fits, int(wanted)) if wanted else fits


def remote_steps(vxlan: str, endpoints) -> list:
    """fdb + neighbour entries for endpoints on other hosts: [(ip, mac, vtep)]."""
    steps = []
    for ip, mac, vtep in endpoints:
        steps += [AddFdb(vxlan, mac, vtep), AddNeigh(vxlan, ip, mac)]
    return steps


class OverlayDriver(Driver):
    name = "overlay"
    uses_subnet = True

    def plan_create(self, net):
        opts = net["options"]
        prefix = ipaddress.ip_network(net["subnet"]).prefixlen
        return [
            CreateBridge(net["bridge"], net["mtu"]),
            AddAddress(None, net["bridge"], f"{net['gateway']}/{prefix}"),
            CreateVxlan(opts["vxlan"], opts["vni"], opts["local"], opts.get("port", VXLAN_PORT), net["mtu"],
                        master=net["bridge"]),
        ]

    def plan_remove(self, net):
        return [DeleteLink(None, net["options"]["vxlan"]), DeleteLink(None, net["bridge"])]

    def plan_connect(self, net, ep, sandbox_ns, default_route):
        prefix = ipaddress.ip_network(net["subnet"]).prefixlen
        steps = [
            CreateVeth(None, ep["host_ifname"], sandbox_ns, ep["ifname"], master=net["bridge"], mtu=net["mtu"]),
            SetMacAddress(sandbox_ns, ep["ifname"], endpoint_mac(ep["ip"])),
            AddAddress(sandbox_ns, ep["ifname"], f"{ep['ip']}/{prefix}"),
        ]
        if default_route:
            steps.append(AddRoute(sandbox_ns, "0.0.0.0/0", via=net["gateway"]))
        return steps

    def plan_disconnect(self, net, ep, sandbox_ns):
        return [DeleteLink(None, ep["host_ifname"])]
