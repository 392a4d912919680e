"""Published ports in topology files: [IP:]HOST[-END]:PORT[-END][/tcp|udp] (an IPv6 IP in brackets: [::]),
read by the engine's own parser (firewall/ports.py), so a file accepts exactly
what `nsnet publish` and the API accept (it took /sctp, which the engine refuses,
and failed half-way through `up`)."""

from dataclasses import dataclass

from ..errors import InvalidInput
from ..firewall.ports import parse_publish


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


def parse(text) -> Publish:
    if not isinstance(text, str):
        raise InvalidInput(f"expected a string like '8080:80/tcp', got {text!r}")
    ports = parse_publish(text)
    first, last = ports[0], ports[-1]
    return Publish(first.host_ip or None, (first.host_port, last.host_port), (first.sandbox_port, last.sandbox_port),
                   first.proto, text)
