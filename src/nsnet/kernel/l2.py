"""Layer-2 kernel verbs: VXLAN devices for overlays, their static forwarding
database (fdb) and neighbour (ARP) entries, gratuitous ARP, and the neighbour
tables the connectivity checker cleans up after. Interface indexes are looked
up afresh: the agent is long-lived and another process may have re-created a
device under the same name.

The kernel's IPv4 neighbour table is one table for all namespaces, capped by
the root namespace's gc_thresh3 (1024 by default): `nsnet check` probing every
pair of 50 sandboxes on one bridge would need 2,450 entries and overflow it for
the whole machine, so the checker asks how much room is left and deletes the
entries its probes created."""

import socket

from .failure import fail as _fail
from .netlink import messages
from .netlink.consts import AF_BRIDGE, NTF_SELF, NUD_NOARP, NUD_PERMANENT

VXLAN_PORT = 4789
_NO_MAC = "00:00:00:00:00:00"


class L2Ops:
    def vxlan_add(self, ns, ifname, vni, local, port=VXLAN_PORT, mtu=None, master=None) -> None:
        """A VXLAN device without learning and with proxy ARP, up, enslaved to `master`."""
        master_index = self._require_index(ns, master, fresh=True) if master else None
        self._unindex(ns, ifname)  # a new interface: an index cached for the name is stale
        self._request(ns, f"creating vxlan {ifname} (vni {vni})",
                      messages.vxlan(ifname, int(vni), local, int(port), mtu and int(mtu), master_index))

    def fdb_replace(self, ns, ifname, mac, dst) -> None:
        """`bridge fdb replace MAC dev IF dst DST self permanent`: frames to MAC go to VTEP DST."""
        msg = messages.fdb_replace(self._require_index(ns, ifname, fresh=True), mac, dst)
        self._request(ns, f"adding fdb entry {mac} dst {dst} on {ifname}", msg)

    def fdb_del(self, ns, ifname, mac, dst=None, master=False) -> bool:
        """The device's own entry (`self`), or with master=True what the bridge it
        is enslaved to learned for `mac` on it."""
        index = self._fresh_index(ns, ifname)
        if index is None:
            return False
        return self._remove(ns, f"deleting fdb entry {mac} on {ifname}", messages.fdb_del(index, mac, dst, master))

    def fdb_entries(self, ns, ifname) -> dict:
        """{mac: dst} of the device's own (NTF_SELF) unicast entries that have a remote."""
        index = self._fresh_index(ns, ifname)
        if index is None:
            return {}
        entries = self._read(ns, f"the fdb of {ifname}", messages.neigh_dump(AF_BRIDGE), "neighbours")
        return {e["mac"]: e["ip"] for e in entries
                if e["ifindex"] == index and e["flags"] & NTF_SELF and e["mac"] and e["ip"] and e["mac"] != _NO_MAC}

    def neigh_replace(self, ns, ifname, ip, mac) -> None:
        """`ip neigh replace IP lladdr MAC dev IF nud permanent` (what proxy ARP answers)."""
        msg = messages.neigh_replace(self._require_index(ns, ifname, fresh=True), ip, mac)
        self._request(ns, f"adding neighbour {ip} lladdr {mac} on {ifname}", msg)

    def neigh_remove(self, ns, ifname, ip) -> bool:
        index = self._fresh_index(ns, ifname)
        if index is None:
            return False
        return self._remove(ns, f"deleting neighbour {ip} on {ifname}", messages.neigh_del(index, ip))

    def neigh_entries(self, ns, ifname) -> dict:
        """{ip: mac} of the permanent neighbour entries (IPv4 and IPv6) on the device."""
        index = self._fresh_index(ns, ifname)
        if index is None:
            return {}
        entries = self.neighbours(ns) + self.neighbours(ns, socket.AF_INET6)
        return {e["ip"]: e["mac"] for e in entries
                if e["ifindex"] == index and e["state"] & (NUD_PERMANENT | NUD_NOARP) and e["ip"] and e["mac"]}

    def neighbours(self, ns, family=socket.AF_INET) -> list[dict]:
        """ifindex, ip, mac, state, flags of every entry of the neighbour table in `ns`."""
        return self._read(ns, "neighbours", messages.neigh_dump(family), "neighbours")

    def neigh_del(self, ns, ifindex, ip) -> bool:
        """Delete one neighbour entry by interface index (the checker's own ARP entries)."""
        return self._remove(ns, f"deleting neighbour {ip}", messages.neigh_del(ifindex, ip))

    @staticmethod
    def neigh_table_room() -> int:
        """How many more neighbour entries the machine's table takes before it
        overflows (gc_thresh3 minus the entries of every namespace)."""
        try:
            with open("/proc/sys/net/ipv4/neigh/default/gc_thresh3") as f:
                limit = int(f.read())
        except OSError:
            limit = 1024
        try:
            with open("/proc/net/stat/arp_cache") as f:
                f.readline()
                used = int(f.readline().split()[0], 16)
        except (OSError, ValueError, IndexError):
            used = 0
        return max(0, limit - used)

    def neigh_announce(self, ns, ifname, entries) -> None:
        """For each (ip, mac) of `entries`, out of `ifname`: a gratuitous ARP reply
        `ip is-at mac` (IPv6: an unsolicited neighbour advertisement; garp.py).
        One socket for all: making one inside a namespace costs 10-30 ms here."""
        from . import garp

        if not entries:
            return
        try:
            sock = self.socket_in(ns, socket.AF_PACKET, socket.SOCK_RAW, 0)  # sends only: receives nothing
            try:
                sock.bind((ifname, 0))
                own = sock.getsockname()[4]  # the bridge's MAC: the Ethernet source, so nothing is learned wrong
                for ip, mac in entries:
                    if ":" in ip:
                        sock.sendto(garp.na_frame(own, ip, mac), (ifname, garp.ETH_P_IPV6))
                    else:
                        sock.sendto(garp.frame(own, ip, mac), (ifname, garp.ETH_P_ARP))
            finally:
                sock.close()
        except OSError as exc:
            raise _fail(f"announcing {', '.join(ip for ip, _ in entries)} on {ifname}", exc)
