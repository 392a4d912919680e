"""Published ports, Docker's syntax: [IP:]HOST[-END]:PORT[-END][/tcp|udp|sctp]
(an IPv6 IP in brackets: [::], [fd00::1])."""

from dataclasses import dataclass

from ..errors import InvalidInput
from ..firewall.ports import parse_host_ip

PROTOCOLS = ("tcp", "udp", "sctp")


@dataclass(frozen=True)
class Publish:
    host_ip: str | None
    host_ports: tuple[int, int]
    ports: tuple[int, int]
    proto: str
    text: str

    def pairs(self) -> list[tuple[int, int]]:
        """(host port, sandbox port) for every port of the range."""
        offset = self.ports[0] - self.host_ports[0]
        return [(p, p + offset) for p in range(self.host_ports[0], self.host_ports[1] + 1)]


def _ports(text: str, what: str) -> tuple[int, int]:
    first, _, last = text.partition("-")
    try:
        low, high = int(first), int(last or first)
    except ValueError:
        raise InvalidInput(f"{what} '{text}' is not a port or a range (e.g. 8080 or 8000-8010)")
    if not (1 <= low <= 65535 and 1 <= high <= 65535):
        raise InvalidInput(f"{what} '{text}' is out of range (1..65535)")
    if high < low:
        raise InvalidInput(f"{what} range '{text}' ends before it starts")
    return low, high


def parse(text) -> Publish:
    if not isinstance(text, str):
        raise InvalidInput(f"expected a string like '8080:80/tcp', got {text!r}")
    spec, _, proto = text.partition("/")
    proto = proto or "tcp"
    if proto not in PROTOCOLS:
        raise InvalidInput(f"'{text}': protocol must be one of {', '.join(PROTOCOLS)}")
    parts = spec.rsplit(":", 2)
    if len(parts) not in (2, 3) or any(":" in p for p in parts[1:]):
        raise InvalidInput(f"'{text}' is not HOST:PORT, IP:HOST:PORT (e.g. 8080:80/tcp)")
    host_ip = parse_host_ip(parts[0], text) if len(parts) == 3 else None
    host_ports = _ports(parts[-2], "host port")
    ports = _ports(parts[-1], "port")
    if host_ports[1] - host_ports[0] != ports[1] - ports[0]:
        raise InvalidInput(f"'{text}': the host and sandbox port ranges differ in length")
    return Publish(host_ip, host_ports, ports, proto, text)
