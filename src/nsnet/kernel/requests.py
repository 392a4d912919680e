"""Builders of rtnetlink requests: values (or template placeholders) in, a
pyroute2 message out; pyroute2 does the encoding. Called only when a request
has no template yet (template.py) or cannot have one, so pyroute2's message
classes are imported on the first call, not with this module."""

import ipaddress
import socket

IFF_UP = 1
IN6_ADDR_GEN_MODE_NONE = 1
RT_TABLE_MAIN = 254
RTPROT_STATIC = 4
RTN_UNICAST = 1
RT_SCOPE_UNIVERSE, RT_SCOPE_LINK = 0, 253


def new(kind: str):
    """An empty pyroute2 message: 'ifinfmsg', 'ifaddrmsg', 'rtmsg' or 'ndmsg'."""
    from . import _pyroute2

    return getattr(_pyroute2, kind)()


def getlink_msg(ifname):
    msg = new("ifinfmsg")
    msg["attrs"] = [("IFLA_IFNAME", ifname)]
    return msg


def addrgen_none_msg(ifname):
    msg = new("ifinfmsg")
    spec = {"attrs": [("AF_INET6", {"attrs": [("IFLA_INET6_ADDR_GEN_MODE", IN6_ADDR_GEN_MODE_NONE)]})]}
    msg["attrs"] = [("IFLA_IFNAME", ifname), ("IFLA_AF_SPEC", spec)]
    return msg


def newlink_msg(attrs, up=False):
    msg = new("ifinfmsg")
    if up:
        msg["flags"] = msg["change"] = IFF_UP
    msg["attrs"] = attrs
    return msg


def veth_msg(ifname, peer_ifname, peer_fd, master=None, mtu=None):
    peer_attrs = [("IFLA_IFNAME", peer_ifname), ("IFLA_NET_NS_FD", peer_fd)]
    attrs = [("IFLA_IFNAME", ifname)]
    if master is not None:
        attrs.append(("IFLA_MASTER", master))
    if mtu is not None:
        attrs.append(("IFLA_MTU", mtu))
        peer_attrs.append(("IFLA_MTU", mtu))
    info = {"attrs": [("VETH_INFO_PEER", {"attrs": peer_attrs})]}
    attrs.append(("IFLA_LINKINFO", {"attrs": [("IFLA_INFO_KIND", "veth"), ("IFLA_INFO_DATA", info)]}))
    return newlink_msg(attrs, up=True)


def link_set_msg(ifname, up=None, master_index=None, mtu=None, mac=None):
    msg = new("ifinfmsg")
    if up is not None:
        msg["change"] = IFF_UP
        msg["flags"] = IFF_UP if up else 0
    msg["attrs"] = [("IFLA_IFNAME", ifname)]
    if master_index is not None:
        msg["attrs"].append(("IFLA_MASTER", master_index))
    if mtu:
        msg["attrs"].append(("IFLA_MTU", mtu))
    if mac:
        msg["attrs"].append(("IFLA_ADDRESS", mac))
    return msg


def addr4_msg(index, local, address, broadcast, prefixlen):
    msg = new("ifaddrmsg")
    msg["family"] = socket.AF_INET
    msg["prefixlen"] = prefixlen
    msg["index"] = index
    msg["attrs"] = [("IFA_LOCAL", local), ("IFA_ADDRESS", address), ("IFA_BROADCAST", broadcast)]
    return msg


def addr_msg(index, cidr):
    """Any address (IPv4 or IPv6); an IPv4 subnet's with its broadcast address."""
    iface = ipaddress.ip_interface(cidr)
    ip, prefixlen = str(iface.ip), iface.network.prefixlen
    if iface.version == 4 and prefixlen < 31:
        return addr4_msg(index, ip, ip, str(iface.network.broadcast_address), prefixlen)
    msg = new("ifaddrmsg")
    msg["family"] = socket.AF_INET if iface.version == 4 else socket.AF_INET6
    msg["prefixlen"] = prefixlen
    msg["index"] = index
    msg["attrs"] = [("IFA_LOCAL", ip), ("IFA_ADDRESS", ip)]
    return msg


def route_msg(dest, via=None, oif=None):
    net = ipaddress.ip_network(dest)
    msg = new("rtmsg")
    msg["family"] = socket.AF_INET if net.version == 4 else socket.AF_INET6
    msg["dst_len"] = net.prefixlen
    msg["table"] = RT_TABLE_MAIN
    msg["proto"] = RTPROT_STATIC
    msg["type"] = RTN_UNICAST
    msg["scope"] = RT_SCOPE_UNIVERSE if via else RT_SCOPE_LINK
    attrs = []
    if net.prefixlen:
        attrs.append(("RTA_DST", str(net.network_address)))
    if via:
        attrs.append(("RTA_GATEWAY", str(via)))
    if oif is not None:
        attrs.append(("RTA_OIF", oif))
    msg["attrs"] = attrs
    return msg


def route_dump_msg(family):
    msg = new("rtmsg")
    msg["family"] = family
    return msg
