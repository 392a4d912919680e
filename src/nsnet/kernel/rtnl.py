"""The kernel executor: the only code that changes links, addresses, routes,
namespaces and sysctls. Every method names its namespace (None = the host
namespace this engine manages) and raises KernelError with the errno kept.

Teardown verbs are idempotent: removing what is already gone returns False.
Requests are encoded by netlink/messages.py and sent on one rtnetlink socket
per namespace, opened from inside it and kept (netlink/nlsocket.py).
"""

import errno
import os
import socket

from ..errors import KernelError
from ..names import BRIDGE_MAX_PORTS
from . import nsfs
from .failure import fail as _fail
from .hostops import HostOps
from .l2 import L2Ops
from .netlink import messages
from .netlink.consts import NETLINK_ROUTE
from .netlink.nlsocket import NetlinkSocket, RequestError
from .sandboxops import SandboxOps

CAP_NET_ADMIN, CAP_SYS_ADMIN = 12, 21
GONE = {errno.ENODEV, errno.ENOENT, errno.ESRCH, errno.EADDRNOTAVAIL}
_INDEX = 4  # ifinfomsg: family, pad, type, then the index


class Kernel(HostOps, L2Ops, SandboxOps):
    def __init__(self, host_netns: str | None = None):
        self.host_netns = host_netns
        self._sockets: dict[str | None, NetlinkSocket] = {}
        self._index_cache: dict[tuple[str | None, str], int] = {}
        self._nft = None
        self._etc_ready: set = set()  # shared /etc/netns directories checked (hostops.netns_etc)
        self._ns_nft: dict = {}  # sandbox namespace -> its nftables handle (sandboxops.py)

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

    # -- namespaces and their sockets --------------------------------------------
    def _target(self, ns: str | None) -> str | None:
        return ns if ns is not None else self.host_netns

    def _rtnl(self, ns: str | None) -> NetlinkSocket:
        sock = self._sockets.get(ns)
        if sock is None:
            target = self._target(ns)
            try:
                with nsfs.inside(target):
                    sock = NetlinkSocket(NETLINK_ROUTE)
            except FileNotFoundError:
                raise KernelError(f"network namespace '{target}' does not exist", errno.ENOENT)
            except PermissionError as exc:
                raise _fail(f"entering namespace '{target}'", exc)
            self._sockets[ns] = sock
        return sock

    def socket_in(self, ns: str | None, family: int, kind: int, proto: int = 0) -> socket.socket:
        """A socket made inside namespace `ns` (it stays bound to it): probes,
        listeners, raw frames."""
        try:
            with nsfs.inside(self._target(ns)):
                return socket.socket(family, kind, proto)
        except FileNotFoundError:
            raise KernelError(f"network namespace '{self._target(ns)}' does not exist", errno.ENOENT)

    def netns_create(self, name: str) -> None:
        """New namespace with `lo` up; its netlink socket is opened from inside."""
        try:
            sock = nsfs.create(name, on_enter=lambda: NetlinkSocket(NETLINK_ROUTE))
        except FileExistsError:
            raise KernelError(f"network namespace '{name}' already exists", errno.EEXIST)
        except OSError as exc:
            raise _fail(f"creating network namespace '{name}'", exc)
        self._sockets[name] = sock
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
        sock = self._sockets.pop(ns, None)
        if sock:
            sock.close()
        nft = self._ns_nft.pop(ns, None)
        if nft:
            nft.close()
        for key in [k for k in self._index_cache if k[0] == ns]:
            del self._index_cache[key]

    def close(self) -> None:
        for sock in self._sockets.values():
            sock.close()
        self._sockets.clear()
        for nft in self._ns_nft.values():
            nft.close()
        self._ns_nft.clear()
        if self._nft is not None:
            self._nft.close()
            self._nft = None

    # -- requests ------------------------------------------------------------------
    def _request(self, ns: str | None, what: str, msg: tuple) -> None:
        try:
            self._rtnl(ns).request(*msg)
        except RequestError as exc:
            raise _fail(what, exc)

    def _remove(self, ns: str | None, what: str, msg: tuple) -> bool:
        """A delete request; False if the object was gone already."""
        try:
            self._rtnl(ns).request(*msg)
        except RequestError as exc:
            if exc.code in GONE:
                return False
            raise _fail(what, exc)
        return True

    def _read(self, ns: str | None, what: str, request: tuple, decoder: str, *args) -> list:
        """A dump, decoded by the function `decoder` of netlink/dumps.py (imported
        here: commands that only change things never read a dump)."""
        from .netlink import dumps

        try:
            return getattr(dumps, decoder)(self._rtnl(ns).dump(*request), *args)
        except RequestError as exc:
            raise _fail(f"listing {what}", exc)

    # -- links ---------------------------------------------------------------------
    def link_index(self, ns: str | None, ifname: str) -> int | None:
        cached = self._index_cache.get((ns, ifname))
        if cached is not None:
            return cached
        try:
            data, offset, _ = self._rtnl(ns).get(*messages.getlink(ifname))
        except RequestError as exc:
            if exc.code == errno.ENODEV:
                return None
            raise _fail(f"looking up {ifname}", exc)
        index = int.from_bytes(data[offset + _INDEX : offset + _INDEX + 4], "little", signed=True)
        self._index_cache[(ns, ifname)] = index
        return index

    def _fresh_index(self, ns: str | None, ifname: str) -> int | None:
        """The index now, not the cached one (another process may have re-created it)."""
        self._index_cache.pop((ns, ifname), None)
        return self.link_index(ns, ifname)

    def _require_index(self, ns: str | None, ifname: str, fresh: bool = False) -> int:
        index = self._fresh_index(ns, ifname) if fresh else self.link_index(ns, ifname)
        if index is None:
            raise KernelError(f"interface {ifname} not found", errno.ENODEV)
        return index

    def bridge_add(self, ifname: str, mtu: int | None = None, mac: str | None = None) -> None:
        """A bridge, up, with no address of the kernel's making: an IPv6 link-local
        address would go through DAD (~1-2 s unusable) when the first port brings
        carrier; networks with IPv6 give it one without (see drivers/bridge.py).
        Set while it has no port, so no carrier, so no address made yet."""
        self._request(None, f"creating bridge {ifname}", messages.bridge(ifname, mtu, mac))
        self._request(None, f"setting addrgenmode of {ifname}", messages.addrgen_none(ifname))

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
        master_index = self._require_index(ns, master) if master else None
        peer_target = self._target(peer_ns)
        peer_fd = nsfs.open_fd(peer_target) if peer_target else nsfs.current_netns_fd()
        try:
            self._request(ns, f"creating veth {ifname}", messages.veth(ifname, peer_ifname, peer_fd, master_index, mtu))
        except KernelError as exc:
            if master and exc.errno == errno.EXFULL:  # the kernel's "Exchange full": no port number left
                raise KernelError(f"bridge {master} is full: a Linux bridge takes at most {BRIDGE_MAX_PORTS} "
                                  "ports; attach further sandboxes to another network", exc.errno) from None
            raise
        finally:
            os.close(peer_fd)
        # nsnet is IPv4-only, and an IPv6 link-local address on a veth end means
        # DAD, router solicitations and MLD reports, flooded to every port of the
        # bridge: attaching the N-th sandbox cost O(N) (measured: 2 ms at N=0,
        # 8 ms at N=600; flat without). Address generation is turned off on both
        # ends while the peer is still down (no carrier: no address made yet).
        # Netlink, not the disable_ipv6 sysctl: opening /proc/sys in a new
        # namespace cost up to ~1 ms.
        self._request(ns, f"setting addrgenmode of {ifname}", messages.addrgen_none(ifname))
        self._request(peer_ns, f"setting addrgenmode of {peer_ifname}", messages.addrgen_none(peer_ifname))
        self.link_set(peer_ns, peer_ifname, up=True)

    def link_set(self, ns, ifname, up=None, master=None, mtu=None, mac=None) -> None:
        """master: a name, or "" to leave the current master."""
        master_index = None
        if master is not None:
            master_index = self._require_index(ns, master) if master else 0
        self._request(ns, f"setting {ifname}", messages.link_set(ifname, up, master_index, mtu, mac))

    def link_del(self, ns: str | None, ifname: str) -> bool:
        self._index_cache.pop((ns, ifname), None)
        return self._remove(ns, f"deleting {ifname}", messages.dellink(ifname))

    def link_exists(self, ns: str | None, ifname: str) -> bool:
        return self._fresh_index(ns, ifname) is not None

    # -- addresses and routes --------------------------------------------------------
    def addr_add(self, ns: str | None, ifname: str, cidr: str) -> None:
        msg = messages.addr(self._require_index(ns, ifname), cidr)
        self._request(ns, f"adding address {cidr} to {ifname}", msg)

    def addr_del(self, ns: str | None, ifname: str, cidr: str) -> bool:
        index = self.link_index(ns, ifname)
        if index is None:
            return False
        return self._remove(ns, f"deleting address {cidr} from {ifname}", messages.addr(index, cidr, add=False))

    def route_add(self, ns, dest: str, via: str | None = None, dev: str | None = None) -> None:
        oif = self._require_index(ns, dev) if dev else None
        try:
            self._rtnl(ns).request(*messages.route(dest, via, oif))
        except RequestError as exc:
            hint = ""
            if exc.code == errno.ENETUNREACH:
                hint = f" (gateway {via} is not on a directly connected network)"
            raise _fail(f"adding route {dest} via {via or dev}{hint}", exc)

    def route_del(self, ns, dest: str, via: str | None = None, dev: str | None = None) -> bool:
        oif = self.link_index(ns, dev) if dev else None
        if dev and oif is None:
            return False
        return self._remove(ns, f"deleting route {dest}", messages.route(dest, via, oif, add=False))

    # -- reads (inspect, explain, drift) ----------------------------------------------
    def links(self, ns: str | None) -> list[dict]:
        """index, ifname, kind, master (index), up, mtu, mac, peer_index (veths)."""
        return self._read(ns, "links", messages.link_dump(), "links")

    def _names(self, ns: str | None) -> dict[int, str]:
        return {link["index"]: link["ifname"] for link in self.links(ns)}

    def addrs(self, ns: str | None, family: int = socket.AF_UNSPEC) -> list[dict]:
        """ifname, cidr, family of every address (of one family if given)."""
        return self._read(ns, "addresses", messages.addr_dump(family), "addrs", self._names(ns))

    def routes(self, ns: str | None, family: int = socket.AF_INET) -> list[dict]:
        """dest, via, dev, proto of the main table's unicast routes."""
        return self._read(ns, "routes", messages.route_dump(family), "routes", self._names(ns))

    def snapshot(self, ns: str | None) -> dict:
        """links, addrs and routes (the main table's unicast ones) of both
        families of `ns` in three dumps (drift checks, the checker's probes)."""
        link_list = self.links(ns)
        names = {link["index"]: link["ifname"] for link in link_list}
        return {"links": link_list,
                "addrs": self._read(ns, "addresses", messages.addr_dump(socket.AF_UNSPEC), "addrs", names),
                "routes": self._read(ns, "routes", messages.route_dump(socket.AF_UNSPEC), "routes", names)}
