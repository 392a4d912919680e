"""Address and route verbs, and the reads of links, addresses and routes
(inspect, explain, drift): Kernel's, on its per-namespace netlink sockets and
interface indexes (rtnl.py)."""

import errno
import socket

from ..errors import KernelError
from .netlink import messages


class AddressRouteOps:
    def addr_add(self, ns: str | None, ifname: str, cidr: str) -> None:
        self._indexed(ns, ifname, f"adding address {cidr} to {ifname}", lambda index: messages.addr(index, cidr))

    def addr_del(self, ns: str | None, ifname: str, cidr: str) -> bool:
        return self._indexed(ns, ifname, f"deleting address {cidr} from {ifname}",
                             lambda index: messages.addr(index, cidr, add=False), remove=True)

    def route_add(self, ns, dest: str, via: str | None = None, dev: str | None = None) -> None:
        what = f"adding route {dest} via {via or dev}"
        try:
            if dev:
                self._indexed(ns, dev, what, lambda oif: messages.route(dest, via, oif))
            else:
                self._request(ns, what, messages.route(dest, via, None))
        except KernelError as exc:
            if exc.errno == errno.ENETUNREACH:
                raise KernelError(f"{exc} (gateway {via} is not on a directly connected network)", exc.errno)
            raise

    def route_del(self, ns, dest: str, via: str | None = None, dev: str | None = None) -> bool:
        if dev:
            return self._indexed(ns, dev, f"deleting route {dest}",
                                 lambda oif: messages.route(dest, via, oif, add=False), remove=True)
        return self._remove(ns, f"deleting route {dest}", messages.route(dest, via, None, add=False))

    # -- reads (inspect, explain, drift) ----------------------------------------------
    def links(self, ns: str | None) -> list[dict]:
        """index, ifname, kind, master (index), up, mtu, mac, peer_index (veths), hairpin (bridge ports)."""
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
