"""Builders of the rtnetlink requests that kernel/template.py reuses: values
(or placeholders) in, a pyroute2 message out. pyroute2 does the encoding."""

import socket

from ._pyroute2 import ifaddrmsg, ifinfmsg

IFF_UP = 1
IN6_ADDR_GEN_MODE_NONE = 1


def getlink_msg(ifname):
    msg = ifinfmsg()
    msg["attrs"] = [("IFLA_IFNAME", ifname)]
    return msg


def addrgen_none_msg(ifname):
    msg = ifinfmsg()
    spec = {"attrs": [("AF_INET6", {"attrs": [("IFLA_INET6_ADDR_GEN_MODE", IN6_ADDR_GEN_MODE_NONE)]})]}
    msg["attrs"] = [("IFLA_IFNAME", ifname), ("IFLA_AF_SPEC", spec)]
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
    msg = ifinfmsg()
    msg["flags"] = msg["change"] = IFF_UP
    msg["attrs"] = attrs
    return msg


def addr4_msg(index, local, address, broadcast, prefixlen):
    msg = ifaddrmsg()
    msg["family"] = socket.AF_INET
    msg["prefixlen"] = prefixlen
    msg["index"] = index
    msg["attrs"] = [("IFA_LOCAL", local), ("IFA_ADDRESS", address), ("IFA_BROADCAST", broadcast)]
    return msg
