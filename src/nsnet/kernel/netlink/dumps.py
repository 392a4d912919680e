"""One decoder per rtnetlink dump, parsed with struct straight from the
replies (pyroute2's decoder cost ~2 ms a namespace for links, addresses and
routes; this is ~0.1 ms, which lets drift checks look at hundreds of
namespaces). `Kernel.links/addrs/routes` and the drift snapshot both use
these. Each takes what NetlinkSocket.dump yields."""

import socket

from .attrs import mac_text, number, parse, text
from .consts import (
    IFA_ADDRESS,
    IFA_LOCAL,
    IFF_UP,
    IFLA_ADDRESS,
    IFLA_BRPORT_MODE,
    IFLA_IFALIAS,
    IFLA_IFNAME,
    IFLA_INFO_KIND,
    IFLA_INFO_SLAVE_DATA,
    IFLA_LINK,
    IFLA_LINK_NETNSID,
    IFLA_LINKINFO,
    IFLA_MASTER,
    IFLA_MTU,
    NDA_DST,
    NDA_LLADDR,
    RT_TABLE_MAIN,
    RTA_DST,
    RTA_GATEWAY,
    RTA_OIF,
    RTA_TABLE,
    RTN_UNICAST,
)
from .messages import IFADDR, IFINFO, NDMSG, RTMSG

_ANY = {socket.AF_INET: "0.0.0.0", socket.AF_INET6: "::"}


def ip_text(raw: bytes | None) -> str | None:
    """A packed IPv4 or IPv6 address as text."""
    if not raw:
        return None
    return socket.inet_ntop(socket.AF_INET6 if len(raw) == 16 else socket.AF_INET, raw)


def _nsid(raw) -> int:
    """IFLA_LINK_NETNSID, signed (no attribute: the peer is in the same namespace)."""
    return int.from_bytes(raw[:4], "little", signed=True) if raw else 0


def links(replies) -> list[dict]:
    """index, ifname, kind, master, up, mtu, mac, alias, (veths) peer_index:
    the peer's index (IFLA_LINK), peer_ns_gone: the peer's namespace is being
    deleted (the kernel removes this end with it, moments later), and (bridge
    ports) hairpin."""
    out = []
    for _, data, off, end in replies:
        _, _, index, flags, _ = IFINFO.unpack_from(data, off)
        a = parse(data, off + IFINFO.size, end)
        info = a.get(IFLA_LINKINFO)
        info = parse(info, 0, len(info)) if info else {}
        port = info.get(IFLA_INFO_SLAVE_DATA)
        mode = parse(port, 0, len(port)).get(IFLA_BRPORT_MODE) if port else None
        out.append({
            "index": index,
            "ifname": text(a.get(IFLA_IFNAME)),
            "kind": text(info.get(IFLA_INFO_KIND)),
            "master": number(a.get(IFLA_MASTER)),
            "up": bool(flags & IFF_UP),
            "mtu": number(a.get(IFLA_MTU)),
            "mac": mac_text(a.get(IFLA_ADDRESS)),
            "peer_index": number(a.get(IFLA_LINK)),
            "peer_ns_gone": _nsid(a.get(IFLA_LINK_NETNSID)) < 0,
            "alias": text(a.get(IFLA_IFALIAS)),
            "hairpin": bool(mode[0]) if mode else None,
        })
    return out


def addrs(replies, names: dict[int, str]) -> list[dict]:
    """ifname, cidr, family; `names`: {index: ifname}."""
    out = []
    for _, data, off, end in replies:
        family, prefixlen, _, _, index = IFADDR.unpack_from(data, off)
        a = parse(data, off + IFADDR.size, end)
        address = ip_text(a.get(IFA_ADDRESS) or a.get(IFA_LOCAL))
        if address:
            out.append({"ifname": names.get(index), "cidr": f"{address}/{prefixlen}", "family": family})
    return out


def routes(replies, names: dict[int, str]) -> list[dict]:
    """Unicast routes of the main table: dest, via, dev, proto."""
    out = []
    for _, data, off, end in replies:
        family, dst_len, _, _, table, proto, _, rtype, _ = RTMSG.unpack_from(data, off)
        a = parse(data, off + RTMSG.size, end)
        if RTA_TABLE in a:
            table = number(a[RTA_TABLE])
        if table != RT_TABLE_MAIN or rtype != RTN_UNICAST or family not in _ANY:
            continue
        oif = number(a.get(RTA_OIF))
        out.append({
            "dest": f"{ip_text(a.get(RTA_DST)) or _ANY[family]}/{dst_len}",
            "via": ip_text(a.get(RTA_GATEWAY)),
            "dev": names.get(oif) if oif is not None else None,
            "proto": proto,
        })
    return out


def neighbours(replies) -> list[dict]:
    """Neighbour or fdb entries: ifindex, ip (NDA_DST: the neighbour, or an fdb
    entry's VTEP), mac, state, flags."""
    out = []
    for _, data, off, end in replies:
        _, index, state, flags, _ = NDMSG.unpack_from(data, off)
        a = parse(data, off + NDMSG.size, end)
        out.append({"ifindex": index, "ip": ip_text(a.get(NDA_DST)), "mac": mac_text(a.get(NDA_LLADDR)),
                    "state": state, "flags": flags})
    return out


def qdiscs(replies, names: dict[int, str]) -> list[dict]:
    """Queueing disciplines and classes (RTM_GETQDISC / RTM_GETTCLASS):
    ifindex, ifname, kind, handle, parent, is_class, and what nsnet sets:
    an htb root's default class, an htb class's rate (bytes/s), a netem's
    delay and jitter (seconds)."""
    from . import tc
    from .consts import RTM_NEWTCLASS, TCA_HTB_INIT, TCA_HTB_PARMS, TCA_HTB_RATE64, TCA_KIND, TCA_OPTIONS

    out = []
    for mtype, data, off, end in replies:
        _, index, handle, parent, _ = tc.TCMSG.unpack_from(data, off)
        a = parse(data, off + tc.TCMSG.size, end)
        kind, options = text(a.get(TCA_KIND)), a.get(TCA_OPTIONS) or b""
        entry = {"ifindex": index, "ifname": names.get(index), "kind": kind, "handle": handle, "parent": parent,
                 "is_class": mtype == RTM_NEWTCLASS}
        if kind == "htb":
            o = parse(options, 0, len(options))
            if TCA_HTB_INIT in o:
                entry["default"] = tc.HTB_GLOB.unpack_from(o[TCA_HTB_INIT])[2]
            if TCA_HTB_PARMS in o:
                rate = tc.RATESPEC.unpack_from(o[TCA_HTB_PARMS])[5]
                entry["rate"] = int.from_bytes(o[TCA_HTB_RATE64], "little") if TCA_HTB_RATE64 in o else rate
        elif kind == "netem" and len(options) >= tc.NETEM_QOPT.size:
            latency, _, _, _, _, jitter = tc.NETEM_QOPT.unpack_from(options)
            entry["delay"], entry["jitter"] = latency / tc.TICKS_PER_US / 1e6, jitter / tc.TICKS_PER_US / 1e6
        out.append(entry)
    return out
