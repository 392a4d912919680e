"""The kernel executor: the only code that changes links, addresses, routes,
namespaces and sysctls. Every method names its namespace (None = the host
namespace this engine manages) and raises KernelError with the errno kept.

Teardown verbs are idempotent: removing what is already gone returns False.
Requests are encoded by netlink/messages.py and sent on one rtnetlink socket
per namespace, opened from inside it and kept (netlink/nlsocket.py).
"""

import errno
import fcntl
import os
import socket
import struct

from ..errors import KernelError
from ..names import BRIDGE_MAX_PORTS
from . import nsfs
from .addrroutes import AddressRouteOps
from .failure import GONE
from .failure import fail as _fail
from .hostops import HostOps
from .l2 import L2Ops
from .netlink import messages
from .netlink.consts import NETLINK_ROUTE
from .netlink.nlsocket import NetlinkSocket, RequestError
from .netnsops import NetnsOps
from .sandboxops import SandboxOps
from .wireguard import WireguardOps

CAP_NET_ADMIN, CAP_SYS_ADMIN = 12, 21
_INDEX = 4  # ifinfomsg: family, pad, type, then the index
SIOCGIFINDEX = 0x8933  # ioctl: a device name's index (linux/sockios.h)
_privileged: bool | None = None  # Kernel.privileged(), once read


class Kernel(NetnsOps, AddressRouteOps, HostOps, L2Ops, SandboxOps, WireguardOps):
    def __init__(self, host_netns: str | None = None, owner: str | None = None, reaper=None):
        self.host_netns = host_netns
        # A LinkReaper (reaper.py; every Engine's Kernel has one): link deletions return
        # once the link has left its namespace, not after the kernel's release of it.
        self.reaper = reaper
        # The mark of the namespaces this kernel makes: the alias of their `lo`,
        # set by the request that brings it up (no request of its own), read back
        # by netns_owner: `doctor` tells a namespace nsnet made from anyone else's.
        self.owner = owner
        self._sockets: dict[str | None, NetlinkSocket] = {}
        self._pinned: dict[str | None, tuple | None] = {}  # ns -> nsfs.identity() its socket was opened in
        self._checked: dict[str | None, int] = {}  # ns -> the epoch its socket was last checked in
        self._epoch = 0
        # namespace -> {interface name: index}: a namespace's are forgotten at once
        # (a per-key scan of one flat dict grew with every sandbox: O(N) per attach)
        self._indexes: dict[str | None, dict[str, int]] = {}
        self._nft = None
        self._etc_ready: set = set()  # shared /etc/netns directories checked (hostops.netns_etc)
        self._ns_nft: dict = {}  # sandbox namespace -> its nftables handle (sandboxops.py)

    @staticmethod
    def privileged() -> bool:
        """CAP_NET_ADMIN (netlink) and CAP_SYS_ADMIN (setns, mounts) in effect --
        for root too: root without them (`capsh --drop`, a container) was let
        through, and `down` then made the store forget sandboxes whose namespaces
        it could not remove. Read once per process (capabilities stay)."""
        global _privileged
        if _privileged is None:
            try:
                with open("/proc/self/status") as f:
                    caps = next(int(line.split()[1], 16) for line in f if line.startswith("CapEff:"))
            except (OSError, StopIteration):
                caps = (1 << CAP_NET_ADMIN) | (1 << CAP_SYS_ADMIN) if os.geteuid() == 0 else 0
            _privileged = bool(caps & (1 << CAP_NET_ADMIN)) and bool(caps & (1 << CAP_SYS_ADMIN))
        return _privileged

    # -- namespaces and their sockets --------------------------------------------
    def _target(self, ns: str | None) -> str | None:
        return ns if ns is not None else self.host_netns

    def new_epoch(self) -> None:
        """An engine call begins. Sockets (and interface indexes) are kept across
        calls, but another process or a user may have deleted a namespace and made
        another under its name meanwhile: each kept socket is checked once per
        epoch, before its first use (one stat), and dropped if its name now pins
        another namespace."""
        self._epoch += 1

    def _rtnl(self, ns: str | None) -> NetlinkSocket:
        sock = self._sockets.get(ns)
        if sock is not None and self._checked.get(ns) != self._epoch:
            target = self._target(ns)
            if target is not None and nsfs.identity(target) != self._pinned.get(ns):
                self._forget(ns)
                sock = None
            else:
                self._checked[ns] = self._epoch
        if sock is None:
            target = self._target(ns)
            try:
                with nsfs.inside(target) as pinned:
                    sock = NetlinkSocket(NETLINK_ROUTE)
            except FileNotFoundError:
                raise KernelError(f"network namespace '{target}' does not exist", errno.ENOENT)
            except PermissionError as exc:
                raise _fail(f"entering namespace '{target}'", exc)
            self._keep(ns, sock, pinned)
        return sock

    def _keep(self, ns: str | None, sock: NetlinkSocket, pinned) -> None:
        self._sockets[ns] = sock
        self._pinned[ns] = pinned
        self._checked[ns] = self._epoch

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
        self._forget(name)  # a socket kept from a namespace of this name that is gone
        self._keep(name, sock, nsfs.identity(name))
        self.link_set(name, "lo", up=True, alias=self.owner)

    def netns_delete(self, name: str) -> bool:
        self._forget(name)
        try:
            return nsfs.delete(name)
        except OSError as exc:
            raise _fail(f"deleting network namespace '{name}'", exc)

    def _forget(self, ns: str | None) -> None:
        sock = self._sockets.pop(ns, None)
        if sock:
            sock.close()
        nft = self._ns_nft.pop(ns, None)
        if nft:
            nft.close()
        self._pinned.pop(ns, None)
        self._checked.pop(ns, None)
        self._indexes.pop(ns, None)

    def close(self, exiting: bool = False) -> None:
        """`exiting`: this process ends next; after an nftables change its
        sockets go to a keeper (handover.py), so the exit does not wait."""
        if exiting and any(nft.committed for nft in (self._nft, *self._ns_nft.values()) if nft is not None):
            from .handover import keep_after_exit

            keep_after_exit()
        for ns in {*self._sockets, *self._ns_nft}:
            self._forget(ns)
        self._indexes.clear()
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

    def _indexed(self, ns: str | None, ifname: str, what: str, build, remove: bool = False) -> bool:
        """Send build(index of `ifname`). A kept index may be stale: the interface
        was deleted and made again (through its peer or its namespace, or behind
        nsnet's back). If the kernel has no device of that index, the index is
        looked up afresh and the request sent once more. `remove`: a delete,
        False when the interface or the object is gone already."""
        cached = ifname in self._indexes.get(ns, ())
        index = self.link_index(ns, ifname)
        while True:
            if index is None:
                if remove:
                    return False
                raise KernelError(f"{what}: interface {ifname} not found", errno.ENODEV)
            try:
                self._rtnl(ns).request(*build(index))
                return True
            except RequestError as exc:
                if exc.code == errno.ENODEV and cached:
                    cached, index = False, self._fresh_index(ns, ifname)
                    continue
                if remove and exc.code in GONE:
                    return False
                raise _fail(what, exc)

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
        cached = self._indexes.get(ns, {}).get(ifname)
        if cached is not None:
            return cached
        try:
            data, offset, _ = self._rtnl(ns).get(*messages.getlink(ifname))
        except RequestError as exc:
            if exc.code == errno.ENODEV:
                return None
            raise _fail(f"looking up {ifname}", exc)
        index = int.from_bytes(data[offset + _INDEX : offset + _INDEX + 4], "little", signed=True)
        self._indexes.setdefault(ns, {})[ifname] = index
        return index

    def _unindex(self, ns: str | None, ifname: str) -> None:
        """Forget a kept index: the interface is new, gone or not to be trusted."""
        kept = self._indexes.get(ns)
        if kept:
            kept.pop(ifname, None)

    def _named(self, ns: str | None, ifname: str) -> bool:
        """Does `ifname` name a device of the namespace now? SIOCGIFINDEX on our
        netlink socket there: the kernel looks the name up under RCU, where a
        link dump waits for the RTNL lock, which a deletion holds through its
        RCU grace period (a bridge's: ~15-20 ms)."""
        try:
            fcntl.ioctl(self._rtnl(ns).sock.fileno(), SIOCGIFINDEX, struct.pack("16si", ifname.encode(), 0))
        except OSError as exc:
            if exc.errno == errno.ENODEV:
                return False
            raise
        return True

    def _fresh_index(self, ns: str | None, ifname: str) -> int | None:
        """The index now, not the cached one (another process may have re-created it)."""
        self._unindex(ns, ifname)
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
        Set while it has no port, so no carrier, so no address made yet. Marked
        as this engine's (its alias: see `owner`)."""
        self._unindex(None, ifname)  # a new interface: an index cached for the name is stale
        self._request(None, f"creating bridge {ifname}", messages.bridge(ifname, mtu, mac))
        self._request(None, f"setting addrgenmode of {ifname}", messages.addrgen_none(ifname))
        if self.owner:  # the kernel takes no alias with RTM_NEWLINK's create: one request more
            self._request(None, f"marking bridge {ifname}", messages.link_set(ifname, alias=self.owner))

    def veth_add(
        self,
        ns: str | None,
        ifname: str,
        peer_ns: str | None,
        peer_ifname: str,
        master: str | None = None,
        mtu: int | None = None,
        peer_mac: str | None = None,
    ) -> None:
        """A veth pair with the peer created directly inside `peer_ns` (with MAC
        `peer_mac`, else a random one); both ends up. (The kernel refuses IFF_UP
        on a peer before the pair exists, so the peer is raised with a second request.)"""
        # New interfaces: indexes cached for these names (of pairs deleted since,
        # by this process or another) are stale.
        self._unindex(ns, ifname)
        self._unindex(peer_ns, peer_ifname)
        peer_target = self._target(peer_ns)
        peer_fd = nsfs.open_fd(peer_target) if peer_target else nsfs.current_netns_fd()
        try:
            for attempt in range(2):  # a kept master index may be stale (the kernel says EINVAL)
                master_index = self._require_index(ns, master, fresh=attempt > 0) if master else None
                try:
                    self._rtnl(ns).request(*messages.veth(ifname, peer_ifname, peer_fd, master_index, mtu, peer_mac))
                    break
                except RequestError as exc:
                    if master and exc.code == errno.EXFULL:  # the kernel's "Exchange full": no port number left
                        raise KernelError(f"bridge {master} is full: a Linux bridge takes at most {BRIDGE_MAX_PORTS} "
                                          "ports; attach further sandboxes to another network", exc.code) from None
                    if not (master and attempt == 0 and exc.code in (errno.EINVAL, errno.ENODEV)):
                        raise _fail(f"creating veth {ifname}", exc)
        finally:
            os.close(peer_fd)
        # No IPv6 link-local address on either end (its DAD, router solicitations and
        # MLD reports flooded every bridge port: O(N) per attach), turned off while
        # the peer is down, so none is made yet; netlink, not the disable_ipv6
        # sysctl (up to ~1 ms in a new namespace). Numbers: docs/design.md.
        self._request(ns, f"setting addrgenmode of {ifname}", messages.addrgen_none(ifname))
        self._request(peer_ns, f"setting addrgenmode of {peer_ifname}", messages.addrgen_none(peer_ifname))
        self.link_set(peer_ns, peer_ifname, up=True)

    def link_set(self, ns, ifname, up=None, master=None, mtu=None, mac=None, alias=None) -> None:
        """master: a name, or "" to leave the current master."""
        for attempt in range(2):  # a kept master index may be stale (the kernel says EINVAL)
            master_index = None
            if master is not None:
                master_index = self._require_index(ns, master, fresh=attempt > 0) if master else 0
            try:
                self._rtnl(ns).request(*messages.link_set(ifname, up, master_index, mtu, mac, alias))
                return
            except RequestError as exc:
                if not (master and attempt == 0 and exc.code in (errno.EINVAL, errno.ENODEV)):
                    raise _fail(f"setting {ifname}", exc)

    def bridge_port_set(self, ns: str | None, ifname: str, hairpin: bool) -> None:
        """Settings of bridge port `ifname`: hairpin (frames may leave through the port they came in on)."""
        self._request(ns, f"setting bridge port {ifname}", messages.bridge_port(ifname, hairpin))

    def link_del(self, ns: str | None, ifname: str) -> bool:
        if self.reaper is None:
            self._unindex(ns, ifname)
            return self._remove(ns, f"deleting {ifname}", messages.dellink(ifname))
        if self._fresh_index(ns, ifname) is None:
            return False  # gone already (asked first: "gone from view" below must mean "deleted now")
        job = self.reaper.start(self._target(ns), ifname)
        self._unindex(ns, ifname)
        while not job.done.wait(0.0005):
            if not self._named(ns, ifname):  # out of its namespace: the rest is the kernel's
                return True
        if job.error is not None:
            raise _fail(f"deleting {ifname}", job.error)
        return not job.missing

    def link_exists(self, ns: str | None, ifname: str) -> bool:
        return self._fresh_index(ns, ifname) is not None
