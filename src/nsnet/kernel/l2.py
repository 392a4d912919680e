"""Layer-2 kernel verbs: neighbour tables, and VXLAN/fdb for overlays (the
messages are built in neigh.py, fdb.py and garp.py)."""

from .failure import fail as _fail


class L2Ops:
    def neighbours(self, ns: str | None) -> list[tuple[int, str, int]]:
        """[(ifindex, ip, state)] of the IPv4 neighbour table in `ns` (raw dump)."""
        from . import neigh

        return neigh.entries(self.channel(ns))

    def neigh_del(self, ns: str | None, ifindex: int, ip: str) -> bool:
        """Delete one neighbour entry (the connectivity checker's own ARP entries)."""
        from . import neigh

        return neigh.delete(self.channel(ns), ifindex, ip)

    # -- overlay (VXLAN) verbs: kernel/fdb.py ------------------------------
    def vxlan_add(self, ns, ifname, vni, local, port=4789, mtu=None, master=None) -> None:
        from . import fdb

        fdb.vxlan_add(self, ns, ifname, vni, local, port, mtu, master)

    def link_set_address(self, ns, ifname, mac) -> None:
        from . import fdb

        fdb.link_set_address(self, ns, ifname, mac)

    def fdb_replace(self, ns, ifname, mac, dst) -> None:
        from . import fdb

        fdb.fdb_replace(self, ns, ifname, mac, dst)

    def fdb_del(self, ns, ifname, mac, dst=None, master=False) -> bool:
        from . import fdb

        return fdb.fdb_del(self, ns, ifname, mac, dst, master)

    def fdb_entries(self, ns, ifname) -> dict:
        from . import fdb

        return fdb.fdb_entries(self, ns, ifname)

    def neigh_replace(self, ns, ifname, ip, mac) -> None:
        from . import fdb

        fdb.neigh_replace(self, ns, ifname, ip, mac)

    def neigh_remove(self, ns, ifname, ip) -> bool:
        from . import fdb

        return fdb.neigh_remove(self, ns, ifname, ip)

    def neigh_entries(self, ns, ifname) -> dict:
        from . import fdb

        return fdb.neigh_entries(self, ns, ifname)

    def arp_announce(self, ns, ifname, ip, mac) -> None:
        from . import garp

        try:
            garp.announce(self, ns, ifname, ip, mac)
        except OSError as exc:
            raise _fail(f"announcing {ip} on {ifname}", exc)
