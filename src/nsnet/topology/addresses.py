"""Automatic addresses for a whole topology at once: every static address of the
file is reserved first, so an automatic one never takes an address that a
sandbox created later in the same `up` asks for. Each family of a network is
planned on its own."""

import ipaddress

from .. import family, ipam
from .diff import static_ips
from .model import Topology


class AddressPlan:
    def __init__(self, topo: Topology, engine):
        self.engine = engine
        self.reserved: dict[tuple[str, int], set[int]] = {}
        self.cursor: dict[tuple[str, int], int] = {}
        self.last: dict[tuple[str, int], int] = {}
        self.statics: dict[tuple[str, int], set[int]] = {}
        for network, ip in static_ips(topo):
            addr = ipaddress.ip_address(ip)
            self.statics.setdefault((network, addr.version), set()).add(int(addr))

    def _family(self, network: str, net: dict, version: int) -> set[int]:
        key = (network, version)
        if key not in self.reserved:
            column = family.IP[version]
            used = {int(ipaddress.ip_address(ep[column])) for ep in self.engine.endpoint_rows(network=network)
                    if ep[column]}
            if net[family.GATEWAY[version]]:
                used.add(int(ipaddress.ip_address(net[family.GATEWAY[version]])))
            self.reserved[key] = used | self.statics.get(key, set())
            subnet = ipaddress.ip_network(net[family.SUBNET[version]])
            self.cursor[key] = int(subnet.network_address) + 1
            self.last[key] = ipam.last_host(subnet)
        return self.reserved[key]

    def _pick(self, network: str, net: dict, version: int) -> str | None:
        key = (network, version)
        reserved = self._family(network, net, version)
        candidate = self.cursor[key]
        while candidate <= self.last[key] and candidate in reserved:
            candidate += 1
        if candidate > self.last[key]:
            return None
        reserved.add(candidate)
        self.cursor[key] = candidate + 1
        return str(ipaddress.ip_address(candidate) if version == 4 else ipaddress.IPv6Address(candidate))

    def address(self, network: str, ip: str | None, ip6: str | None = None) -> list[str] | None:
        """The attachment's addresses, one per family of the network: the given
        ones, the others the lowest nobody has or asks for (left out when a
        family is full: the engine then says so)."""
        net = self.engine.network_get(network)
        if not family.has_subnet(net):
            return [a for a in (ip, ip6) if a] or None
        out = []
        for version, given in ((4, ip), (6, ip6)):
            if given:
                out.append(given)
            elif net[family.SUBNET[version]]:
                picked = self._pick(network, net, version)
                if picked:
                    out.append(picked)
        return out or None
