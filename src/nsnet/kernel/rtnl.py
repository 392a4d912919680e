"""The kernel executor: the only code that changes links, addresses, routes,
namespaces and sysctls. Every method names its namespace (None = the host
namespace this engine manages) and raises KernelError with the errno kept.

Teardown verbs are idempotent: removing what is already gone returns False.
"""

import errno
import ipaddress
import os
import socket

from ..errors import KernelError
from . import nsfs, requests
from .channel import Channel, RequestError
from .failure import fail as _fail
from .hostops import HostOps
from .l2 import L2Ops
from .nlconst import (
    NLM_F_CREATE,
    NLM_F_EXCL,
    RTM_DELADDR,
    RTM_DELLINK,
    RTM_DELROUTE,
    RTM_GETADDR,
    RTM_GETLINK,
    RTM_GETROUTE,
    RTM_NEWADDR,
    RTM_NEWLINK,
    RTM_NEWROUTE,
)
from .template import Field, Templates

CAP_NET_ADMIN, CAP_SYS_ADMIN = 12, 21
_GONE = {errno.ENODEV, errno.ENOENT, errno.ESRCH, errno.EADDRNOTAVAIL}


def _builders_stamp() -> tuple:
    """Size and mtime of the files that say what each template key encodes to
    (this one and requests.py): saved templates from other code are not used."""
    return tuple(x for path in (__file__, requests.__file__) for st in [os.stat(path)]
                 for x in (st.st_size, st.st_mtime_ns))


class Kernel(HostOps, L2Ops):
    def __init__(self, host_netns: str | None = None, templates_path: str | None = None):
        """templates_path: where encoded requests are kept between processes
        (kernel/template.py); None keeps them in memory only."""
        self.host_netns = host_netns
        self.templates = Templates(templates_path, _builders_stamp()) if templates_path else Templates()
        self._channels: dict[str | None, Channel] = {}
        self._index_cache: dict[tuple[str | None, str], int] = {}
        self._nft = None

    @staticmethod
    def privileged() -> bool:
        """Root, or both CAP_NET_ADMIN (netlink) and CAP_SYS_ADMIN (setns, mounts)."""
        if os.geteuid() == 0:
            return True
        try:
            with open("/proc/self/status") as f:
                caps = next(int(line.split()[1], 16) for line in f if line.startswith("CapEff:"))
        except (OSError, StopIteration):
            return False
        return bool(caps & (1 << CAP_NET_ADMIN)) and bool(caps & (1 << CAP_SYS_ADMIN))

    # -- namespaces -------------------------------------------------------
    def channel(self, ns: str | None) -> Channel:
        chan = self._channels.get(ns)
        if chan is None:
            target = ns if ns is not None else self.host_netns
            fd = None
            if target is not None:
                try:
                    fd = nsfs.open_fd(target)
                except FileNotFoundError:
                    raise KernelError(f"network namespace '{target}' does not exist", errno.ENOENT)
            try:
                with nsfs.entered(fd):
                    chan = Channel(self.templates)
            except PermissionError as exc:
                raise _fail(f"entering namespace '{target}'", exc)
            finally:
                if fd is not None:
                    os.close(fd)
            self._channels[ns] = chan
        return chan

    def host_fd(self) -> int | None:
        """A fresh fd of the host namespace (None: the caller's own namespace)."""
        return nsfs.open_fd(self.host_netns) if self.host_netns else None

    def netns_create(self, name: str) -> None:
        """New namespace with `lo` up; its netlink socket is opened from inside."""
        try:
            chan = nsfs.create(name, on_enter=lambda: Channel(self.templates))
        except FileExistsError:
            raise KernelError(f"network namespace '{name}' already exists", errno.EEXIST)
        except OSError as exc:
            raise _fail(f"creating network namespace '{name}'", exc)
        self._channels[name] = chan
        self.link_set(name, "lo", up=True)

    def netns_delete(self, name: str) -> bool:
        self._forget(name)
        try:
            return nsfs.delete(name)
        except OSError as exc:
            raise _fail(f"deleting network namespace '{name}'", exc)

    def netns_in_use(self, name: str) -> bool:
        return bool(nsfs.holders(name))

    def netns_exists(self, name: str) -> bool:
        return nsfs.exists(name)

    def _forget(self, ns: str) -> None:
        chan = self._channels.pop(ns, None)
        if chan:
            chan.close()
        for key in [k for k in self._index_cache if k[0] == ns]:
            del self._index_cache[key]

    def close(self) -> None:
        self.templates.save()
        for chan in self._channels.values():
            chan.close()
        self._channels.clear()
        if self._nft is not None:
            self._nft.close()
            self._nft = None

    # -- links ------------------------------------------------------------
    def link_index(self, ns: str | None, ifname: str) -> int | None:
        cached = self._index_cache.get((ns, ifname))
        if cached is not None:
            return cached
        try:
            index = self.channel(ns).link_index(requests.getlink_msg, RTM_GETLINK, "getlink", [Field("str", ifname)])
        except RequestError as exc:
            raise _fail(f"looking up {ifname}", exc)
        if index is not None:
            self._index_cache[(ns, ifname)] = index
        return index

    def _require_index(self, ns: str | None, ifname: str) -> int:
        index = self.link_index(ns, ifname)
        if index is None:
            raise KernelError(f"interface {ifname} not found", errno.ENODEV)
        return index

    def _newlink(self, ns, what, attrs, up=False, flags=NLM_F_CREATE | NLM_F_EXCL):
        try:
            self.channel(ns).request(requests.newlink_msg(attrs, up), RTM_NEWLINK, flags)
        except RequestError as exc:
            raise _fail(what, exc)

    def bridge_add(self, ifname: str, mtu: int | None = None, mac: str | None = None) -> None:
        attrs = [("IFLA_IFNAME", ifname), ("IFLA_LINKINFO", {"attrs": [("IFLA_INFO_KIND", "bridge")]})]
        if mac:
            attrs.append(("IFLA_ADDRESS", mac))
        if mtu:
            attrs.append(("IFLA_MTU", mtu))
        self._newlink(None, f"creating bridge {ifname}", attrs, up=True)

    def veth_add(
        self,
        ns: str | None,
        ifname: str,
        peer_ns: str | None,
        peer_ifname: str,
        master: str | None = None,
        mtu: int | None = None,
    ) -> None:
        """A veth pair with the peer created directly inside `peer_ns`; both ends up.
        (The kernel refuses IFF_UP on a peer before the pair exists, so the peer is
        raised with a second request.)"""
        peer_target = peer_ns if peer_ns is not None else self.host_netns
        peer_fd = nsfs.open_fd(peer_target) if peer_target else nsfs.current_netns_fd()
        fields = [Field("str", ifname), Field("str", peer_ifname), Field("u32", peer_fd)]
        if master:
            fields.append(Field("u32", self._require_index(ns, master)))
        try:
            self.channel(ns).request(lambda *values: requests.veth_msg(*values, mtu=mtu), RTM_NEWLINK,
                                     NLM_F_CREATE | NLM_F_EXCL, key=("veth", mtu), fields=fields)
        except RequestError as exc:
            raise _fail(f"creating veth {ifname}", exc)
        finally:
            os.close(peer_fd)
        # nsnet is IPv4-only, and an IPv6 link-local address on a veth end means
        # DAD, router solicitations and MLD reports, flooded to every port of the
        # bridge: attaching the N-th sandbox cost O(N) (measured: 2 ms at N=0,
        # 8 ms at N=600; flat without). Address generation is turned off on both
        # ends while the peer is still down (no carrier: no address made yet).
        # Netlink, not the disable_ipv6 sysctl: opening /proc/sys in a new
        # namespace cost up to ~1 ms.
        self._addrgen_none(ns, ifname)
        self._addrgen_none(peer_ns, peer_ifname)
        self.link_set(peer_ns, peer_ifname, up=True)

    def _addrgen_none(self, ns, ifname) -> None:
        try:
            self.channel(ns).request(requests.addrgen_none_msg, RTM_NEWLINK, key="addrgen_none",
                                     fields=[Field("str", ifname)])
        except RequestError as exc:
            raise _fail(f"setting addrgenmode of {ifname}", exc)

    def link_set(self, ns, ifname, up=None, master=None, mtu=None, mac=None) -> None:
        master_index = None
        if master is not None:
            master_index = self._require_index(ns, master) if master else 0

        try:
            # A MAC is one endpoint's (rare): encoded afresh rather than kept as a template.
            self.channel(ns).request(lambda: requests.link_set_msg(ifname, up, master_index, mtu, mac), RTM_NEWLINK, 0,
                                     key=None if mac else ("link_set", ifname, up, master_index, mtu))
        except RequestError as exc:
            raise _fail(f"setting {ifname}", exc)

    def link_del(self, ns: str | None, ifname: str) -> bool:
        self._index_cache.pop((ns, ifname), None)
        try:
            self.channel(ns).request(requests.getlink_msg, RTM_DELLINK, key="dellink", fields=[Field("str", ifname)])
        except RequestError as exc:
            if exc.code in _GONE:
                return False
            raise _fail(f"deleting {ifname}", exc)
        return True

    def link_exists(self, ns: str | None, ifname: str) -> bool:
        self._index_cache.pop((ns, ifname), None)
        return self.link_index(ns, ifname) is not None

    # -- addresses and routes ----------------------------------------------
    def _addr_msg(self, ns, ifname, cidr):
        return requests.addr_msg(self._require_index(ns, ifname), cidr)

    def addr_add(self, ns: str | None, ifname: str, cidr: str) -> None:
        try:
            iface = ipaddress.IPv4Interface(cidr) if ":" not in cidr else None
            if iface is not None and iface.network.prefixlen < 31:
                # The common case from a template: index, address and broadcast patched in.
                ip, prefixlen = str(iface.ip), iface.network.prefixlen
                fields = [Field("u32", self._require_index(ns, ifname)), Field("ip4", ip), Field("ip4", ip),
                          Field("ip4", str(iface.network.broadcast_address))]
                self.channel(ns).request(lambda *values: requests.addr4_msg(*values, prefixlen=prefixlen), RTM_NEWADDR,
                                         NLM_F_CREATE | NLM_F_EXCL, key=("addr4", prefixlen), fields=fields)
            else:
                self.channel(ns).request(self._addr_msg(ns, ifname, cidr), RTM_NEWADDR,
                                         NLM_F_CREATE | NLM_F_EXCL)
        except RequestError as exc:
            raise _fail(f"adding address {cidr} to {ifname}", exc)

    def addr_del(self, ns: str | None, ifname: str, cidr: str) -> bool:
        if self.link_index(ns, ifname) is None:
            return False
        try:
            self.channel(ns).request(self._addr_msg(ns, ifname, cidr), RTM_DELADDR)
        except RequestError as exc:
            if exc.code in _GONE:
                return False
            raise _fail(f"deleting address {cidr} from {ifname}", exc)
        return True

    def route_add(self, ns, dest: str, via: str | None = None, dev: str | None = None) -> None:
        oif = self._require_index(ns, dev) if dev else None
        try:
            self.channel(ns).request(lambda: requests.route_msg(dest, via, oif), RTM_NEWROUTE,
                                     NLM_F_CREATE | NLM_F_EXCL, key=("route_add", dest, via, oif))
        except RequestError as exc:
            hint = ""
            if exc.code == errno.ENETUNREACH:
                hint = f" (gateway {via} is not on a directly connected network)"
            raise _fail(f"adding route {dest} via {via or dev}{hint}", exc)

    def route_del(self, ns, dest: str, via: str | None = None, dev: str | None = None) -> bool:
        if dev and self.link_index(ns, dev) is None:
            return False
        try:
            oif = self._require_index(ns, dev) if dev else None
            self.channel(ns).request(requests.route_msg(dest, via, oif), RTM_DELROUTE)
        except RequestError as exc:
            if exc.code in _GONE:
                return False
            raise _fail(f"deleting route {dest}", exc)
        return True

    # -- reads (inspect, explain, overlap checks; not on the hot path) ------
    def links(self, ns: str | None) -> list[dict]:
        out = []
        for msg in self.channel(ns).dump(requests.new("ifinfmsg"), RTM_GETLINK):
            info = msg.get_attr("IFLA_LINKINFO")
            out.append(
                {
                    "index": msg["index"],
                    "ifname": msg.get_attr("IFLA_IFNAME"),
                    "kind": info.get_attr("IFLA_INFO_KIND") if info else None,
                    "master": msg.get_attr("IFLA_MASTER"),
                    "up": bool(msg["flags"] & requests.IFF_UP),
                    "mtu": msg.get_attr("IFLA_MTU"),
                    "mac": msg.get_attr("IFLA_ADDRESS"),
                }
            )
        return out

    def addrs(self, ns: str | None) -> list[dict]:
        names = {link["index"]: link["ifname"] for link in self.links(ns)}
        out = []
        for msg in self.channel(ns).dump(requests.new("ifaddrmsg"), RTM_GETADDR):
            out.append(
                {
                    "ifname": names.get(msg["index"]),
                    "cidr": f"{msg.get_attr('IFA_ADDRESS')}/{msg['prefixlen']}",
                    "family": msg["family"],
                }
            )
        return out

    def routes(self, ns: str | None, family: int = socket.AF_INET) -> list[dict]:
        names = {link["index"]: link["ifname"] for link in self.links(ns)}
        out = []
        for msg in self.channel(ns).dump(requests.route_dump_msg(family), RTM_GETROUTE):
            if msg["table"] != requests.RT_TABLE_MAIN or msg["type"] != requests.RTN_UNICAST:
                continue
            dst = msg.get_attr("RTA_DST") or ("0.0.0.0" if family == socket.AF_INET else "::")
            out.append(
                {
                    "dest": f"{dst}/{msg['dst_len']}",
                    "via": msg.get_attr("RTA_GATEWAY"),
                    "dev": names.get(msg.get_attr("RTA_OIF")),
                    "proto": msg["proto"],
                }
            )
        return out

    def snapshot(self, ns: str | None) -> dict:
        """links, IPv4 addrs and main-table routes of `ns` in three raw dumps
        (no pyroute2 decoding): for drift checks over many namespaces."""
        from . import rawdump

        return rawdump.snapshot(self.channel(ns))
