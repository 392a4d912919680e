"""Published-port specs: [HOST_IP:]HOST_PORT:SANDBOX_PORT[/tcp|/udp], with
ranges of equal length (8000-8010:9000-9010)."""

import ipaddress

from ..errors import InvalidInput
from ..plain import PlainData

ANY = ""  # host_ip of a port published on every host address


class Port(PlainData):
    """An immutable, hashable value (as a frozen dataclass was)."""

    def __init__(self, host_ip: str, host_port: int, proto: str, sandbox_port: int):
        # Through __dict__: __setattr__ refuses every assignment.
        self.__dict__.update(host_ip=host_ip, host_port=host_port, proto=proto, sandbox_port=sandbox_port)

    def __setattr__(self, name, value):
        raise AttributeError(f"cannot assign to field '{name}'")

    def __delattr__(self, name):
        raise AttributeError(f"cannot delete field '{name}'")

    def __hash__(self) -> int:
        return hash(tuple(vars(self).values()))

    def label(self) -> str:
        where = f"{self.host_ip}:" if self.host_ip else ""
        return f"{where}{self.host_port}->{self.sandbox_port}/{self.proto}"


def _port_range(text: str, spec: str) -> range:
    lo, _, hi = text.partition("-")
    try:
        first, last = int(lo), int(hi or lo)
    except ValueError:
        raise InvalidInput(f"publish '{spec}': '{text}' is not a port or port range")
    for port in (first, last):
        if not 1 <= port <= 65535:
            raise InvalidInput(f"publish '{spec}': port {port} is out of range (1-65535)")
    if last < first:
        raise InvalidInput(f"publish '{spec}': range {text} is reversed")
    return range(first, last + 1)


def parse_publish(spec: str) -> list[Port]:
    text, _, proto = str(spec).partition("/")
    proto = proto or "tcp"
    if proto not in ("tcp", "udp"):
        raise InvalidInput(f"publish '{spec}': protocol '{proto}' is not tcp or udp")
    parts = text.rsplit(":", 2)
    if len(parts) == 3:
        host_ip, host_ports, sandbox_ports = parts
        try:
            addr = ipaddress.IPv4Address(host_ip)
        except ValueError:
            raise InvalidInput(f"publish '{spec}': '{host_ip}' is not an IPv4 address")
        host_ip = "" if addr.is_unspecified else str(addr)
    elif len(parts) == 2:
        host_ip, (host_ports, sandbox_ports) = ANY, parts
    else:
        raise InvalidInput(f"publish '{spec}': expected [HOST_IP:]HOST_PORT:SANDBOX_PORT[/tcp|/udp]")
    hosts, inside = _port_range(host_ports, spec), _port_range(sandbox_ports, spec)
    if len(hosts) != len(inside):
        raise InvalidInput(f"publish '{spec}': ranges {host_ports} and {sandbox_ports} differ in length")
    return [Port(host_ip, h, proto, s) for h, s in zip(hosts, inside, strict=True)]


def parse_all(specs) -> list[Port]:
    ports: list[Port] = []
    seen = {}
    for spec in specs or []:
        for port in parse_publish(spec):
            key = (port.proto, port.host_port)
            other = seen.get(key)
            if other is not None and (not other.host_ip or not port.host_ip or other.host_ip == port.host_ip):
                raise InvalidInput(f"publish: host port {port.proto}/{port.host_port} is given twice")
            seen[key] = port
            ports.append(port)
    return ports
