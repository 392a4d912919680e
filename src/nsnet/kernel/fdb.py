"""Kernel verbs of the overlay driver: VXLAN devices, their static forwarding
database (fdb) and neighbour (ARP) entries, and a link's MAC address.

Every function takes the Kernel (for its per-namespace netlink channels) and
builds pyroute2 messages (ifinfmsg, ndmsg) sent through the Channel. Interface
indexes are looked up afresh: the agent is long-lived and another process may
have re-created a device under the same name.

    ip link add NAME type vxlan id VNI local ADDR dstport 4789 nolearning proxy
    bridge fdb replace MAC dev NAME dst VTEP self permanent
    ip neigh replace IP lladdr MAC dev NAME nud permanent
"""

import errno
import socket

from ._pyroute2 import ifinfmsg, ndmsg
from .channel import RequestError
from .nlconst import NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, RTM_DELNEIGH, RTM_GETNEIGH, RTM_NEWLINK, RTM_NEWNEIGH

NTF_SELF, NTF_MASTER = 0x02, 0x04
NUD_NOARP, NUD_PERMANENT = 0x40, 0x80
AF_BRIDGE = 7
IFF_UP = 1
VXLAN_PORT = 4789
_GONE = {errno.ENODEV, errno.ENOENT, errno.ESRCH, errno.EADDRNOTAVAIL}


def _fail(what, exc):
    from .failure import fail

    return fail(what, exc)


def fresh_index(k, ns, ifname: str) -> int | None:
    """The interface's index now (not the Kernel's cache); None if it is gone."""
    k._index_cache.pop((ns, ifname), None)
    return k.link_index(ns, ifname)


def _index(k, ns, ifname: str) -> int:
    index = fresh_index(k, ns, ifname)
    if index is None:
        from ..errors import KernelError

        raise KernelError(f"interface {ifname} not found", errno.ENODEV)
    return index


def vxlan_add(k, ns, ifname: str, vni: int, local: str, port: int = VXLAN_PORT, mtu: int | None = None,
              master: str | None = None) -> None:
    """A VXLAN device without learning and with proxy ARP, up, enslaved to `master`."""
    data = {"attrs": [("IFLA_VXLAN_ID", int(vni)), ("IFLA_VXLAN_LOCAL", local), ("IFLA_VXLAN_PORT", int(port)),
                      ("IFLA_VXLAN_LEARNING", 0), ("IFLA_VXLAN_PROXY", 1)]}
    attrs = [("IFLA_IFNAME", ifname),
             ("IFLA_LINKINFO", {"attrs": [("IFLA_INFO_KIND", "vxlan"), ("IFLA_INFO_DATA", data)]})]
    if mtu:
        attrs.append(("IFLA_MTU", int(mtu)))
    if master:
        attrs.append(("IFLA_MASTER", _index(k, ns, master)))
    msg = ifinfmsg()
    msg["flags"] = msg["change"] = IFF_UP
    msg["attrs"] = attrs
    try:
        k.channel(ns).request(msg, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL)
    except RequestError as exc:
        raise _fail(f"creating vxlan {ifname} (vni {vni})", exc)


def link_set_address(k, ns, ifname: str, mac: str) -> None:
    msg = ifinfmsg()
    msg["index"] = _index(k, ns, ifname)
    msg["attrs"] = [("IFLA_ADDRESS", mac)]
    try:
        k.channel(ns).request(msg, RTM_NEWLINK)
    except RequestError as exc:
        raise _fail(f"setting the address of {ifname} to {mac}", exc)


def _ndmsg(family: int, index: int, state: int, flags: int, attrs: list) -> ndmsg:
    msg = ndmsg()
    msg["family"] = family
    msg["ifindex"] = index
    msg["state"] = state
    msg["flags"] = flags
    msg["attrs"] = attrs
    return msg


def fdb_replace(k, ns, ifname: str, mac: str, dst: str) -> None:
    """`bridge fdb replace MAC dev IF dst DST self permanent`: frames to MAC go to VTEP DST."""
    msg = _ndmsg(AF_BRIDGE, _index(k, ns, ifname), NUD_PERMANENT, NTF_SELF,
                 [("NDA_LLADDR", mac), ("NDA_DST", dst)])
    try:
        k.channel(ns).request(msg, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE)
    except RequestError as exc:
        raise _fail(f"adding fdb entry {mac} dst {dst} on {ifname}", exc)


def fdb_del(k, ns, ifname: str, mac: str, dst: str | None = None, master: bool = False) -> bool:
    """The device's own entry (`self`), or with master=True what the bridge it
    is enslaved to learned for `mac` on it."""
    index = fresh_index(k, ns, ifname)
    if index is None:
        return False
    attrs = [("NDA_LLADDR", mac)] + ([("NDA_DST", dst)] if dst and not master else [])
    flags = NTF_MASTER if master else NTF_SELF
    msg = _ndmsg(AF_BRIDGE, index, NUD_PERMANENT, flags, attrs)
    return _delete(k, ns, msg, f"deleting fdb entry {mac} on {ifname}")


def _delete(k, ns, msg, what: str) -> bool:
    """RTM_DELNEIGH of one fdb or neighbour entry; an entry already gone is fine."""
    try:
        k.channel(ns).request(msg, RTM_DELNEIGH)
    except RequestError as exc:
        if exc.code in _GONE:
            return False
        raise _fail(what, exc)
    return True


def fdb_entries(k, ns, ifname: str) -> dict[str, str]:
    """{mac: dst} of the device's own (NTF_SELF) unicast entries that have a remote."""
    index = fresh_index(k, ns, ifname)
    if index is None:
        return {}
    out = {}
    try:
        msgs = k.channel(ns).dump(_ndmsg(AF_BRIDGE, index, 0, 0, []), RTM_GETNEIGH)
    except RequestError as exc:
        raise _fail(f"listing the fdb of {ifname}", exc)
    for msg in msgs:
        if msg["ifindex"] != index or not msg["flags"] & NTF_SELF:
            continue
        mac, dst = msg.get_attr("NDA_LLADDR"), msg.get_attr("NDA_DST")
        if mac and dst and mac != "00:00:00:00:00:00":
            out[mac] = dst
    return out


def neigh_replace(k, ns, ifname: str, ip: str, mac: str) -> None:
    """`ip neigh replace IP lladdr MAC dev IF nud permanent` (what proxy ARP answers)."""
    msg = _ndmsg(socket.AF_INET, _index(k, ns, ifname), NUD_PERMANENT, 0, [("NDA_DST", ip), ("NDA_LLADDR", mac)])
    try:
        k.channel(ns).request(msg, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE)
    except RequestError as exc:
        raise _fail(f"adding neighbour {ip} lladdr {mac} on {ifname}", exc)


def neigh_remove(k, ns, ifname: str, ip: str) -> bool:
    index = fresh_index(k, ns, ifname)
    if index is None:
        return False
    msg = _ndmsg(socket.AF_INET, index, 0, 0, [("NDA_DST", ip)])
    return _delete(k, ns, msg, f"deleting neighbour {ip} on {ifname}")


def neigh_entries(k, ns, ifname: str) -> dict[str, str]:
    """{ip: mac} of the permanent IPv4 neighbour entries on the device."""
    index = fresh_index(k, ns, ifname)
    if index is None:
        return {}
    out = {}
    try:
        msgs = k.channel(ns).dump(_ndmsg(socket.AF_INET, 0, 0, 0, []), RTM_GETNEIGH)
    except RequestError as exc:
        raise _fail(f"listing the neighbours of {ifname}", exc)
    for msg in msgs:
        if msg["ifindex"] == index and msg["state"] & (NUD_PERMANENT | NUD_NOARP):
            ip, mac = msg.get_attr("NDA_DST"), msg.get_attr("NDA_LLADDR")
            if ip and mac:
                out[ip] = mac
    return out
