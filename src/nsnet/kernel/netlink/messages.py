"""The rtnetlink requests nsnet sends, one encoder per shape. Each returns
(message type, flags, body); the socket adds the header. A unit test encodes
the same requests with pyroute2 and compares the bytes.

Encoding them here, with struct, costs a few microseconds a request;
pyroute2's encoder cost ~0.1-0.3 ms (most of the Python time of an attach)
and importing its rtnetlink classes ~20 ms of a CLI call.

    ip link add NAME type veth peer name PEER [address MAC] netns FD [master M] [mtu N]
    ip link set NAME type bridge_slave hairpin on
    ip link add NAME type vxlan id VNI local ADDR dstport 4789 nolearning proxy
    ip link add NAME type wireguard
    bridge fdb replace MAC dev NAME dst VTEP self permanent
    ip neigh replace IP lladdr MAC dev NAME nud permanent
"""

import socket
import struct

from .attrs import asciiz, attr, be16, mac, nest, u8, u32
from .consts import (
    AF_BRIDGE,
    IFA_ADDRESS,
    IFA_BROADCAST,
    IFA_F_NODAD,
    IFA_LOCAL,
    IFF_UP,
    IFLA_ADDRESS,
    IFLA_AF_SPEC,
    IFLA_BRPORT_MODE,
    IFLA_IFALIAS,
    IFLA_IFNAME,
    IFLA_INET6_ADDR_GEN_MODE,
    IFLA_INFO_DATA,
    IFLA_INFO_KIND,
    IFLA_INFO_SLAVE_DATA,
    IFLA_INFO_SLAVE_KIND,
    IFLA_LINKINFO,
    IFLA_MASTER,
    IFLA_MTU,
    IFLA_NET_NS_FD,
    IFLA_VXLAN_ID,
    IFLA_VXLAN_LEARNING,
    IFLA_VXLAN_LOCAL,
    IFLA_VXLAN_PORT,
    IFLA_VXLAN_PROXY,
    IN6_ADDR_GEN_MODE_NONE,
    NDA_DST,
    NDA_LLADDR,
    NLM_F_CREATE,
    NLM_F_DUMP,
    NLM_F_EXCL,
    NLM_F_REPLACE,
    NTF_MASTER,
    NTF_SELF,
    NUD_PERMANENT,
    RT_SCOPE_LINK,
    RT_SCOPE_UNIVERSE,
    RT_TABLE_MAIN,
    RTA_DST,
    RTA_GATEWAY,
    RTA_OIF,
    RTM_DELADDR,
    RTM_DELLINK,
    RTM_DELNEIGH,
    RTM_DELROUTE,
    RTM_GETADDR,
    RTM_GETLINK,
    RTM_GETNEIGH,
    RTM_GETROUTE,
    RTM_NEWADDR,
    RTM_NEWLINK,
    RTM_NEWNEIGH,
    RTM_NEWROUTE,
    RTN_UNICAST,
    RTPROT_STATIC,
)

IFINFO = struct.Struct("=BxHiII")  # family, type, index, flags, change
IFADDR = struct.Struct("=BBBBI")  # family, prefixlen, flags, scope, index
RTMSG = struct.Struct("=BBBBBBBBI")  # family, dst_len, src_len, tos, table, protocol, scope, type, flags
NDMSG = struct.Struct("=BxxxiHBB")  # family, ifindex, state, flags, type
CREATE = NLM_F_CREATE | NLM_F_EXCL
_NO_LINK = IFINFO.pack(0, 0, 0, 0, 0)
_UP = IFINFO.pack(0, 0, 0, IFF_UP, IFF_UP)
_ADDRGEN_NONE = nest(IFLA_AF_SPEC, nest(socket.AF_INET6, u8(IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE)))


def ip_bytes(text: str) -> tuple[int, bytes]:
    """(address family, packed address) of an IPv4 or IPv6 address."""
    family = socket.AF_INET6 if ":" in text else socket.AF_INET
    return family, socket.inet_pton(family, text)


def prefix(cidr: str) -> tuple[int, bytes, int]:
    """'10.0.0.2/24' -> (family, packed address, prefix length); no length: a host."""
    ip, _, length = cidr.partition("/")
    family, raw = ip_bytes(ip)
    bits = len(raw) * 8
    prefixlen = int(length) if length else bits
    if not 0 <= prefixlen <= bits:
        raise ValueError(f"bad prefix length in {cidr!r}")
    return family, raw, prefixlen


# -- links -----------------------------------------------------------------------
def getlink(ifname: str):
    return RTM_GETLINK, 0, _NO_LINK + asciiz(IFLA_IFNAME, ifname)


def dellink(ifname: str):
    return RTM_DELLINK, 0, _NO_LINK + asciiz(IFLA_IFNAME, ifname)


def bridge(ifname: str, mtu: int | None = None, address: str | None = None):
    """A bridge, up (`address`: its fixed MAC)."""
    body = [_UP, asciiz(IFLA_IFNAME, ifname), nest(IFLA_LINKINFO, asciiz(IFLA_INFO_KIND, "bridge"))]
    if address:
        body.append(attr(IFLA_ADDRESS, mac(address)))
    if mtu:
        body.append(u32(IFLA_MTU, mtu))
    return RTM_NEWLINK, CREATE, b"".join(body)


def wireguard(ifname: str):
    """A WireGuard device of the kernel module, down (it is configured first)."""
    return RTM_NEWLINK, CREATE, _NO_LINK + asciiz(IFLA_IFNAME, ifname) + nest(
        IFLA_LINKINFO, asciiz(IFLA_INFO_KIND, "wireguard"))


def veth(ifname: str, peer_ifname: str, peer_netns_fd: int, master: int | None = None, mtu: int | None = None,
         peer_address: str | None = None):
    """A veth pair, this end up; the peer is made inside the namespace of `peer_netns_fd`
    (`peer_address`: its MAC, else the kernel picks a random one)."""
    peer = [_NO_LINK, asciiz(IFLA_IFNAME, peer_ifname), u32(IFLA_NET_NS_FD, peer_netns_fd)]
    if peer_address:
        peer.append(attr(IFLA_ADDRESS, mac(peer_address)))
    body = [_UP, asciiz(IFLA_IFNAME, ifname)]
    if master is not None:
        body.append(u32(IFLA_MASTER, master))
    if mtu is not None:
        body.append(u32(IFLA_MTU, mtu))
        peer.append(u32(IFLA_MTU, mtu))
    body.append(nest(IFLA_LINKINFO, asciiz(IFLA_INFO_KIND, "veth"), nest(IFLA_INFO_DATA, nest(1, *peer))))
    return RTM_NEWLINK, CREATE, b"".join(body)


def vxlan(ifname: str, vni: int, local: str, port: int, mtu: int | None = None, master: int | None = None):
    """A VXLAN device without learning, answering ARP from its neighbour table, up."""
    data = [u32(IFLA_VXLAN_ID, vni), attr(IFLA_VXLAN_LOCAL, socket.inet_aton(local)), be16(IFLA_VXLAN_PORT, port),
            u8(IFLA_VXLAN_LEARNING, 0), u8(IFLA_VXLAN_PROXY, 1)]
    body = [_UP, asciiz(IFLA_IFNAME, ifname),
            nest(IFLA_LINKINFO, asciiz(IFLA_INFO_KIND, "vxlan"), nest(IFLA_INFO_DATA, *data))]
    if mtu:
        body.append(u32(IFLA_MTU, mtu))
    if master is not None:
        body.append(u32(IFLA_MASTER, master))
    return RTM_NEWLINK, CREATE, b"".join(body)


def link_set(ifname: str, up: bool | None = None, master: int | None = None, mtu: int | None = None,
             address: str | None = None, alias: str | None = None):
    """`ip link set NAME [up|down] [master M | nomaster (0)] [mtu N] [address MAC] [alias TEXT]`."""
    flag = IFF_UP if up else 0
    body = [IFINFO.pack(0, 0, 0, flag, IFF_UP if up is not None else 0), asciiz(IFLA_IFNAME, ifname)]
    if master is not None:
        body.append(u32(IFLA_MASTER, master))
    if mtu:
        body.append(u32(IFLA_MTU, mtu))
    if address:
        body.append(attr(IFLA_ADDRESS, mac(address)))
    if alias:
        body.append(asciiz(IFLA_IFALIAS, alias))
    return RTM_NEWLINK, 0, b"".join(body)


def bridge_port(ifname: str, hairpin: bool):
    """`ip link set NAME type bridge_slave hairpin on|off`: may frames leave
    through the port they came in on?"""
    slave = nest(IFLA_INFO_SLAVE_DATA, u8(IFLA_BRPORT_MODE, int(hairpin)))
    return RTM_NEWLINK, 0, _NO_LINK + asciiz(IFLA_IFNAME, ifname) + nest(
        IFLA_LINKINFO, asciiz(IFLA_INFO_SLAVE_KIND, "bridge"), slave)


def addrgen_none(ifname: str):
    """`ip link set NAME addrgenmode none`: no IPv6 link-local address."""
    return RTM_NEWLINK, 0, _NO_LINK + asciiz(IFLA_IFNAME, ifname) + _ADDRGEN_NONE


# -- addresses and routes ----------------------------------------------------------
def addr(index: int, cidr: str, add: bool = True):
    """An address on a link; an IPv4 subnet's with its broadcast address, an
    IPv6 one without duplicate address detection (usable at once, no 1-2 s wait)."""
    family, raw, prefixlen = prefix(cidr)
    flags = IFA_F_NODAD if family == socket.AF_INET6 else 0
    body = [IFADDR.pack(family, prefixlen, flags, 0, index), attr(IFA_LOCAL, raw), attr(IFA_ADDRESS, raw)]
    if family == socket.AF_INET and prefixlen < 31:
        host_bits = (1 << (32 - prefixlen)) - 1
        body.append(attr(IFA_BROADCAST, (int.from_bytes(raw, "big") | host_bits).to_bytes(4, "big")))
    return (RTM_NEWADDR, CREATE, b"".join(body)) if add else (RTM_DELADDR, 0, b"".join(body))


def route(dest: str, via: str | None = None, oif: int | None = None, add: bool = True):
    """A static route in the main table, via a gateway or straight out of `oif`."""
    family, raw, prefixlen = prefix(dest)
    body = [RTMSG.pack(family, prefixlen, 0, 0, RT_TABLE_MAIN, RTPROT_STATIC,
                       RT_SCOPE_UNIVERSE if via else RT_SCOPE_LINK, RTN_UNICAST, 0)]
    if prefixlen:
        body.append(attr(RTA_DST, _network(raw, prefixlen)))
    if via:
        body.append(attr(RTA_GATEWAY, ip_bytes(via)[1]))
    if oif is not None:
        body.append(u32(RTA_OIF, oif))
    return (RTM_NEWROUTE, CREATE, b"".join(body)) if add else (RTM_DELROUTE, 0, b"".join(body))


def _network(raw: bytes, prefixlen: int) -> bytes:
    bits = len(raw) * 8
    value = int.from_bytes(raw, "big") >> (bits - prefixlen) << (bits - prefixlen)
    return value.to_bytes(len(raw), "big")


# -- neighbours and the fdb ----------------------------------------------------------
def _neigh(msg_type, flags, family, index, state, ntf, *nda):
    return msg_type, flags, NDMSG.pack(family, index, state, ntf, 0) + b"".join(nda)


def fdb_replace(index: int, address: str, dst: str):
    """Frames to `address` go to VTEP `dst` (`bridge fdb replace ... self permanent`)."""
    return _neigh(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, AF_BRIDGE, index, NUD_PERMANENT, NTF_SELF,
                  attr(NDA_LLADDR, mac(address)), attr(NDA_DST, ip_bytes(dst)[1]))


def fdb_del(index: int, address: str, dst: str | None = None, master: bool = False):
    """The device's own entry, or (master) what its bridge learned on it."""
    nda = [attr(NDA_LLADDR, mac(address))]
    if dst and not master:
        nda.append(attr(NDA_DST, ip_bytes(dst)[1]))
    return _neigh(RTM_DELNEIGH, 0, AF_BRIDGE, index, NUD_PERMANENT, NTF_MASTER if master else NTF_SELF, *nda)


def neigh_replace(index: int, ip: str, address: str):
    family, raw = ip_bytes(ip)
    return _neigh(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, family, index, NUD_PERMANENT, 0,
                  attr(NDA_DST, raw), attr(NDA_LLADDR, mac(address)))


def neigh_del(index: int, ip: str):
    family, raw = ip_bytes(ip)
    return _neigh(RTM_DELNEIGH, 0, family, index, 0, 0, attr(NDA_DST, raw))


# -- dumps ---------------------------------------------------------------------------
def link_dump():
    return RTM_GETLINK, NLM_F_DUMP, _NO_LINK


def addr_dump(family: int = socket.AF_UNSPEC):
    return RTM_GETADDR, NLM_F_DUMP, IFADDR.pack(family, 0, 0, 0, 0)


def route_dump(family: int = socket.AF_INET):
    return RTM_GETROUTE, NLM_F_DUMP, RTMSG.pack(family, 0, 0, 0, 0, 0, 0, 0, 0)


def neigh_dump(family: int = socket.AF_INET):
    """The neighbour table (AF_INET, AF_INET6) or the bridge fdb (AF_BRIDGE)."""
    return RTM_GETNEIGH, NLM_F_DUMP, NDMSG.pack(family, 0, 0, 0, 0)
