"""Published-port specs: [HOST_IP:]HOST_PORT:SANDBOX_PORT[/tcp|/udp], with
ranges of equal length (8000-8010:9000-9010). HOST_IP is an IPv4 address or
an IPv6 one in brackets ([::], [fd00::1]). Without one, a port is published
on every host address of each family the sandbox has an address of; 0.0.0.0
means every IPv4 address only, [::] every IPv6 address only (as with Docker)."""

import ipaddress

from ..errors import InvalidInput
from ..plain import PlainData

ANY = ""  # host_ip of a port published on every host address (of the families the sandbox has)
ANY4, ANY6 = "0.0.0.0", "::"  # ... of one family only
WILDCARDS = (ANY, ANY4, ANY6)


def host_ip_text(host_ip: str, version: int) -> str:
    """How a stored host address reads (in `port` listings): all addresses of the family if none."""
    return host_ip or (ANY6 if version == 6 else ANY4)


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

    @property
    def family(self) -> int | None:
        """4 or 6 for a port on addresses of one family; None: on both."""
        return None if not self.host_ip else 6 if ":" in self.host_ip else 4

    @property
    def wildcard(self) -> bool:
        return self.host_ip in WILDCARDS

    def label(self) -> str:
        host = f"[{self.host_ip}]" if ":" in self.host_ip else self.host_ip
        where = f"{host}:" if host else ""
        return f"{where}{self.host_port}->{self.sandbox_port}/{self.proto}"


def _port_range(text: str, spec: str) -> range:
    lo, _, hi = text.partition("-")
    # ASCII digits only: int() would also take ' 80', '+80', '8_0' and '٨٠'.
    if not all(part.isascii() and part.isdigit() for part in (lo, hi or lo)):
        raise InvalidInput(f"publish '{spec}': '{text}' is not a port or port range (e.g. 8080 or 8000-8010)")
    first, last = int(lo), int(hi or lo)
    for port in (first, last):
        if not 1 <= port <= 65535:
            raise InvalidInput(f"publish '{spec}': port {port} is out of range (1-65535)")
    if last < first:
        raise InvalidInput(f"publish '{spec}': range {text} is reversed")
    return range(first, last + 1)


def parse_host_ip(text: str, spec: str) -> str:
    bracketed = text.startswith("[") and text.endswith("]")
    try:
        addr = ipaddress.ip_address(text[1:-1] if bracketed else text)
    except ValueError:
        raise InvalidInput(f"publish '{spec}': '{text}' is not an IPv4 address or an IPv6 one in brackets")
    if addr.version == 6 and not bracketed:
        raise InvalidInput(f"publish '{spec}': an IPv6 host address goes in brackets ([{addr}]:PORT:PORT)")
    if addr.version == 4 and bracketed:
        raise InvalidInput(f"publish '{spec}': only IPv6 host addresses go in brackets")
    if addr.version == 6 and addr.is_loopback:
        raise InvalidInput(f"publish '{spec}': ports on ::1 cannot be forwarded (the kernel routes ::1 on "
                           "lo only); publish on 127.0.0.1 or [::]")
    return ANY4 if addr == ipaddress.IPv4Address(0) else addr.compressed


class Spec(PlainData):
    """One spec as given: host address (ANY: every one), the host and sandbox
    port ranges, the protocol, and the text."""

    def __init__(self, host_ip: str, host_ports: range, sandbox_ports: range, proto: str, text: str):
        self.host_ip, self.host_ports, self.sandbox_ports = host_ip, host_ports, sandbox_ports
        self.proto, self.text = proto, text

    def ports(self) -> list[Port]:
        return [Port(self.host_ip, h, self.proto, s) for h, s in zip(self.host_ports, self.sandbox_ports, strict=True)]


def parse_spec(spec) -> Spec:
    """The one parser of published-port specs (CLI, API, topology files)."""
    if not isinstance(spec, str):
        raise InvalidInput(f"publish: expected a string like '8080:80/tcp', got {type(spec).__name__}")
    text, _, proto = spec.partition("/")
    proto = proto or "tcp"
    if proto not in ("tcp", "udp"):
        raise InvalidInput(f"publish '{spec}': protocol '{proto}' is not tcp or udp")
    parts = text.rsplit(":", 2)
    if len(parts) == 3:
        host_ip, host_ports, sandbox_ports = parts
        host_ip = parse_host_ip(host_ip, spec)
    elif len(parts) == 2:
        host_ip, (host_ports, sandbox_ports) = ANY, parts
    else:
        raise InvalidInput(f"publish '{spec}': expected [HOST_IP:]HOST_PORT:SANDBOX_PORT[/tcp|/udp]")
    hosts, inside = _port_range(host_ports, spec), _port_range(sandbox_ports, spec)
    if len(hosts) != len(inside):
        raise InvalidInput(f"publish '{spec}': ranges {host_ports} and {sandbox_ports} differ in length")
    return Spec(host_ip, hosts, inside, proto, spec)


def parse_publish(spec: str) -> list[Port]:
    return parse_spec(spec).ports()


def parse_all(specs) -> list[Port]:
    ports: list[Port] = []
    seen = {}
    for spec in specs or []:
        for port in parse_publish(spec):
            others = seen.setdefault((port.proto, port.host_port), [])
            if any(overlap(other.host_ip, port.host_ip) for other in others):
                raise InvalidInput(f"publish: host port {port.proto}/{port.host_port} is given twice")
            others.append(port)
            ports.append(port)
    return ports


def overlap(a: str, b: str) -> bool:
    """Do host addresses `a` and `b` (as stored: '' for all addresses, 0.0.0.0, ::,
    or one address) share an address the same port cannot be published on twice?"""
    fam_a = None if a == ANY else 6 if ":" in a else 4
    fam_b = None if b == ANY else 6 if ":" in b else 4
    if fam_a and fam_b and fam_a != fam_b:
        return False
    return a in WILDCARDS or b in WILDCARDS or a == b
