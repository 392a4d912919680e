"""The agent's copy of the cluster store: a snapshot kept current by watch
events, and what it means for this host (pure; no I/O)."""

from dataclasses import dataclass, field

from ..drivers import tunnel
from ..state.cluster.store import decode, parse_key


@dataclass
class Changes:
    networks: set = field(default_factory=set)  # networks added, changed or deleted
    endpoints: set = field(default_factory=set)  # networks whose endpoints changed
    hosts: bool = False  # a host came, went or moved

    def __bool__(self) -> bool:
        return bool(self.networks or self.endpoints or self.hosts)


class ClusterView:
    def __init__(self, state: dict, prefix: str):
        self.state = state
        self.prefix = prefix

    @property
    def networks(self) -> dict:
        return self.state["networks"]

    @property
    def hosts(self) -> dict:
        return self.state["hosts"]

    def apply(self, events) -> Changes:
        changes = Changes()
        for ev in events:
            parsed = parse_key(self.prefix, ev.key)
            if parsed is None:
                continue
            kind, rest = parsed
            value = decode(ev.value) if ev.type == "put" else None
            table = {"networks": "networks", "hosts": "hosts", "endpoints": "endpoints", "ipam": "claims"}.get(kind)
            if table is None:
                continue
            key = rest if kind in ("endpoints", "ipam") else rest[0]
            if isinstance(value, dict):
                self.state[table][key] = value
            else:
                self.state[table].pop(key, None)
            if kind == "networks":
                changes.networks.add(rest[0])
                changes.endpoints.add(rest[0])
            elif kind == "endpoints":
                changes.endpoints.add(rest[0])
            elif kind == "hosts":
                changes.hosts = True
        return changes

    def desired(self, network: str, me: str) -> dict[str, tuple[str, str]]:
        """{ip: (mac, vtep)} of the endpoints of `network` on other live hosts, each of
        their addresses (a dual-stack endpoint's two share its MAC); for an
        encrypted network the VTEPs are the hosts' tunnel addresses."""
        encrypted = bool((self.networks.get(network) or {}).get(tunnel.ENCRYPTED))
        out = {}
        for (net, ip), ep in self.state["endpoints"].items():
            if net != network or ep.get("host") == me or not ep.get("mac"):
                continue
            vtep = tunnel.vtep(self.hosts.get(ep.get("host")), encrypted)
            if vtep:
                out[ip] = (ep["mac"], vtep)
                if ep.get("ip6"):
                    out[ep["ip6"]] = (ep["mac"], vtep)
        return out

    def peers(self, me: str) -> dict:
        """The WireGuard peers this host should have: every other live host's."""
        return tunnel.peers(self.hosts, me)

    def mine(self, me: str) -> tuple[dict, dict]:
        """This host's ({(net, ip): endpoint}, {(net, ip): claim}) in the store."""
        eps = {k: v for k, v in self.state["endpoints"].items() if v.get("host") == me}
        claims = {k: v for k, v in self.state["claims"].items() if v.get("host") == me}
        return eps, claims
