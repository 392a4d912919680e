"""What Step.check() reads: the kernel's read verbs, memoized, so a drift check
over many steps dumps every namespace at most once."""

import ipaddress

from ..errors import NsnetError


class KernelView:
    def __init__(self, kernel):
        self.kernel = kernel
        self._exists: dict[str, bool] = {}
        self._snaps: dict[str | None, dict] = {}
        self._sysctls: dict = {}
        self._nft = False
        self._nft_in: dict = {}
        self._qdiscs: dict = {}

    def netns_exists(self, name: str) -> bool:
        if name not in self._exists:
            self._exists[name] = self.kernel.netns_exists(name)
        return self._exists[name]

    def netns_is_host(self, name: str) -> bool:
        return self.kernel.netns_is_host(name)

    def _snap(self, ns: str | None) -> dict:
        snap = self._snaps.get(ns)
        if snap is None:
            if ns is not None and not self.netns_exists(ns):
                snap = {"links": [], "addrs": [], "routes": []}
            else:
                snap = self.kernel.snapshot(ns)
            snap["by_name"] = {x["ifname"]: x for x in snap["links"]}
            self._snaps[ns] = snap
        return snap

    def links(self, ns):
        return self._snap(ns)["links"]

    def addrs(self, ns):
        return self._snap(ns)["addrs"]

    def routes(self, ns):
        return self._snap(ns)["routes"]

    def link(self, ns, ifname) -> dict | None:
        return self._snap(ns)["by_name"].get(ifname)

    def link_exists(self, ns, ifname) -> bool:
        return self.link(ns, ifname) is not None

    def master_name(self, ns: str | None, link: dict) -> str | None:
        if not link.get("master"):
            return None
        return next((m["ifname"] for m in self.links(ns) if m["index"] == link["master"]), None)

    def has_addr(self, ns: str | None, ifname: str, cidr: str) -> bool:
        want = ipaddress.ip_interface(cidr)
        return any(a["ifname"] == ifname and ipaddress.ip_interface(a["cidr"]) == want for a in self.addrs(ns))

    def has_route(self, ns: str | None, dest: str, via: str | None, dev: str | None) -> bool:
        want = ipaddress.ip_network(dest)
        return any(ipaddress.ip_network(r["dest"]) == want and (via is None or r["via"] == via)
                   and (dev is None or r["dev"] == dev) for r in self.routes(ns))

    def sysctl_get(self, ns, key) -> str:
        if (ns, key) not in self._sysctls:
            try:
                self._sysctls[(ns, key)] = self.kernel.sysctl_get(ns, key)
            except OSError as exc:
                self._sysctls[(ns, key)] = exc
        value = self._sysctls[(ns, key)]
        if isinstance(value, OSError):
            raise value
        return value

    def nft_table(self) -> dict | None:
        """nsnet's nftables table as JSON, listed once (None: there is none)."""
        if self._nft is False:
            try:
                self._nft = self.kernel.nft("list table inet nsnet")
            except NsnetError:
                self._nft = None
        return self._nft

    def nft_table_in(self, ns: str, family: str, table: str) -> dict | None:
        """A table of namespace `ns` as JSON, listed once (None: there is none)."""
        if ns not in self._nft_in:
            if not self.netns_exists(ns):
                return None
            try:
                self._nft_in[ns] = self.kernel.nft_in(ns, f"list table {family} {table}")
            except NsnetError:
                self._nft_in[ns] = None
        return self._nft_in[ns]

    def qdiscs(self, ns: str) -> list[dict]:
        """The queueing disciplines and classes of namespace `ns`, dumped once."""
        if ns not in self._qdiscs:
            try:
                self._qdiscs[ns] = self.kernel.qdiscs(ns) if self.netns_exists(ns) else []
            except NsnetError:
                self._qdiscs[ns] = []
        return self._qdiscs[ns]
