"""Automatic addresses for a whole topology at once: every static address of the
file is reserved first, so an automatic one never takes an address that a
sandbox created later in the same `up` asks for."""

import ipaddress

from .model import Topology


class AddressPlan:
    def __init__(self, topo: Topology, engine):
        self.engine = engine
        self.reserved: dict[str, set[int]] = {}
        self.cursor: dict[str, int] = {}
        self.last: dict[str, int] = {}
        self.statics: dict[str, set[int]] = {}
        for sb in topo.sandboxes.values():
            for att in sb.attachments:
                if att.ip:
                    self.statics.setdefault(att.network, set()).add(int(ipaddress.ip_address(att.ip)))

    def _network(self, network: str):
        if network not in self.reserved:
            net = self.engine.network_get(network)
            used = {int(ipaddress.ip_address(ep["ip"])) for ep in self.engine.endpoint_rows(network=network)
                    if ep["ip"]}
            if net["gateway"]:
                used.add(int(ipaddress.ip_address(net["gateway"])))
            self.reserved[network] = used | self.statics.get(network, set())
            subnet = ipaddress.ip_network(net["subnet"])
            self.cursor[network] = int(subnet.network_address) + 1
            self.last[network] = int(subnet.broadcast_address) - 1
        return self.reserved[network]

    def address(self, network: str, ip: str | None) -> str | None:
        """`ip` if given, else the lowest address nobody has or asks for (None: let
        the engine say that the subnet is full)."""
        if ip or not self.engine.network_get(network)["subnet"]:
            return ip
        reserved = self._network(network)
        candidate = self.cursor[network]
        while candidate <= self.last[network] and candidate in reserved:
            candidate += 1
        if candidate > self.last[network]:
            return None
        reserved.add(candidate)
        self.cursor[network] = candidate + 1
        return str(ipaddress.IPv4Address(candidate))
