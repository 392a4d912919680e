"""Fast read-only dumps for drift checks: links, IPv4 addresses and main-table
IPv4 routes of one namespace, parsed with `struct` straight from the netlink
replies. pyroute2's decoder costs ~2 ms per namespace for these three dumps;
this is ~0.1 ms, which is what lets `status` / a no-change `up` look at
hundreds of namespaces. The dicts have the same keys as Kernel.links / addrs /
routes (links add "peer_index": IFLA_LINK, the veth peer's index)."""

import ipaddress
import socket
import struct

from .channel import _HEADER
from .nla import attrs as _attrs

RTM_GETLINK, RTM_GETADDR, RTM_GETROUTE = 18, 22, 26
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
IFF_UP = 1
IFLA_IFNAME, IFLA_MTU, IFLA_LINK, IFLA_MASTER, IFLA_LINKINFO, IFLA_INFO_KIND = 3, 4, 5, 10, 18, 1
IFA_ADDRESS, IFA_LOCAL = 1, 2
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_TABLE = 1, 4, 5, 15
RT_TABLE_MAIN, RTN_UNICAST = 254, 1

_IFINFO = struct.Struct("BxHiII")  # family, type, index, flags, change
_IFADDR = struct.Struct("BBBBI")  # family, prefixlen, flags, scope, index
_RTMSG = struct.Struct("BBBBBBBBI")  # family, dst_len, src_len, tos, table, proto, scope, type, flags
_U32 = struct.Struct("I")


def _text(raw: bytes | None) -> str | None:
    return raw.split(b"\0", 1)[0].decode() if raw is not None else None


def _dump(chan, msg_type: int, body: bytes):
    """Yield (payload_offset, end, data) for every message of one dump."""
    chan.seq += 1
    seq = chan.seq
    chan.sock.send(_HEADER.pack(16 + len(body), msg_type, NLM_F_REQUEST | NLM_F_DUMP, seq, 0) + body)
    while True:
        data = chan.sock.recv(1 << 20)
        offset = 0
        while offset + 16 <= len(data):
            length, mtype, _, mseq, _ = _HEADER.unpack_from(data, offset)
            if length < 16:
                return
            if mseq == seq:
                if mtype == NLMSG_DONE:
                    return
                if mtype == NLMSG_ERROR:
                    (err,) = struct.unpack_from("i", data, offset + 16)
                    if err:
                        raise OSError(-err, f"netlink dump failed (errno {-err})")
                    return
                yield offset + 16, offset + length, data
            offset += (length + 3) & ~3


def links(chan) -> list[dict]:
    out = []
    for off, end, data in _dump(chan, RTM_GETLINK, _IFINFO.pack(0, 0, 0, 0, 0)):
        _, _, index, flags, _ = _IFINFO.unpack_from(data, off)
        attrs = _attrs(data, off + _IFINFO.size, end)
        info = attrs.get(IFLA_LINKINFO)
        kind = _text(_attrs(info, 0, len(info)).get(IFLA_INFO_KIND)) if info else None
        master, mtu, peer = attrs.get(IFLA_MASTER), attrs.get(IFLA_MTU), attrs.get(IFLA_LINK)
        out.append({
            "index": index,
            "ifname": _text(attrs.get(IFLA_IFNAME)),
            "kind": kind,
            "master": _U32.unpack(master)[0] if master else None,
            "up": bool(flags & IFF_UP),
            "mtu": _U32.unpack(mtu)[0] if mtu else None,
            "peer_index": _U32.unpack(peer)[0] if peer else None,
        })
    return out


def addrs(chan, names: dict[int, str]) -> list[dict]:
    out = []
    body = _IFADDR.pack(socket.AF_INET, 0, 0, 0, 0)
    for off, end, data in _dump(chan, RTM_GETADDR, body):
        family, prefixlen, _, _, index = _IFADDR.unpack_from(data, off)
        attrs = _attrs(data, off + _IFADDR.size, end)
        raw = attrs.get(IFA_ADDRESS) or attrs.get(IFA_LOCAL)
        if family != socket.AF_INET or raw is None:
            continue
        out.append({"ifname": names.get(index), "cidr": f"{socket.inet_ntoa(raw)}/{prefixlen}",
                    "family": family})
    return out


def routes(chan, names: dict[int, str]) -> list[dict]:
    out = []
    body = _RTMSG.pack(socket.AF_INET, 0, 0, 0, 0, 0, 0, 0, 0)
    for off, end, data in _dump(chan, RTM_GETROUTE, body):
        family, dst_len, _, _, table, proto, _, rtype, _ = _RTMSG.unpack_from(data, off)
        attrs = _attrs(data, off + _RTMSG.size, end)
        if RTA_TABLE in attrs:
            table = _U32.unpack(attrs[RTA_TABLE])[0]
        if family != socket.AF_INET or table != RT_TABLE_MAIN or rtype != RTN_UNICAST:
            continue
        dst = socket.inet_ntoa(attrs[RTA_DST]) if RTA_DST in attrs else "0.0.0.0"
        gateway = attrs.get(RTA_GATEWAY)
        oif = attrs.get(RTA_OIF)
        out.append({
            "dest": str(ipaddress.ip_network(f"{dst}/{dst_len}", strict=False)),
            "via": socket.inet_ntoa(gateway) if gateway else None,
            "dev": names.get(_U32.unpack(oif)[0]) if oif else None,
            "proto": proto,
        })
    return out


def snapshot(chan) -> dict:
    """{"links": [...], "addrs": [...], "routes": [...]} of the channel's namespace."""
    link_list = links(chan)
    names = {link["index"]: link["ifname"] for link in link_list}
    return {"links": link_list, "addrs": addrs(chan, names), "routes": routes(chan, names)}
