"""Address management: pure functions over ipaddress objects, no I/O.

The engine calls these inside a store write transaction, so two nsnet
processes never hand out the same address.
"""

import ipaddress
import socket
from collections.abc import Iterable

from .errors import Conflict, InvalidInput

IPv4Network = ipaddress.IPv4Network
DEFAULT_ROUTE = "0.0.0.0/0"

# Docker-like default pool: 172.17-31.0.0/16, then 192.168.0.0/16 cut into /20s.
DEFAULT_POOL = [ipaddress.ip_network(f"172.{i}.0.0/16") for i in range(17, 32)] + list(
    ipaddress.ip_network("192.168.0.0/16").subnets(new_prefix=20)
)


def parse_subnet(text: str, where: str = "subnet") -> IPv4Network:
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise InvalidInput(f"{where}: '{text}' is not a valid CIDR")
    if "/" not in str(text):
        raise InvalidInput(f"{where}: '{text}' needs a prefix length (e.g. {text}/24)")
    if net.version != 4:
        raise InvalidInput(f"{where}: '{text}': only IPv4 subnets are supported")
    if str(net) != str(text).strip():
        raise InvalidInput(f"{where}: '{text}' has host bits set (did you mean {net}?)")
    if net.prefixlen > 30:
        raise InvalidInput(f"{where}: '{text}' is too small (need at least a /30)")
    return net


def parse_dest(dest: str) -> str:
    """A route destination: a CIDR, or 'default'."""
    if dest == "default":
        return DEFAULT_ROUTE
    try:
        net = ipaddress.ip_network(dest, strict=True)
    except ValueError:
        raise InvalidInput(f"route destination '{dest}' is not a valid CIDR (or 'default')")
    if net.version != 4:
        raise InvalidInput(f"route destination '{dest}': only IPv4 is supported")
    return str(net)


def parse_ip(text: str, where: str = "ip") -> ipaddress.IPv4Address:
    if "/" in str(text):
        raise InvalidInput(f"{where}: '{text}' is not a valid IP address (give it without a prefix)")
    try:
        ip = ipaddress.ip_address(str(text))
    except ValueError:
        raise InvalidInput(f"{where}: '{text}' is not a valid IP address")
    if ip.version != 4:
        raise InvalidInput(f"{where}: '{text}': only IPv4 is supported")
    return ip


def default_gateway(subnet: IPv4Network) -> ipaddress.IPv4Address:
    return subnet.network_address + 1


def check_in_subnet(ip, subnet: IPv4Network, what: str) -> None:
    if ip not in subnet or ip in (subnet.network_address, subnet.broadcast_address):
        raise InvalidInput(f"{what} {ip} is not a usable address in subnet {subnet}")


def allocate(subnet: IPv4Network, reserved: Iterable) -> ipaddress.IPv4Address:
    """Lowest free host address. Addresses become integers through inet_aton
    (a C call): ipaddress' parser made this O(N) loop cost ~1 ms at N=200."""
    used = {int.from_bytes(socket.inet_aton(a), "big") for a in map(str, reserved)}
    first, last = int(subnet.network_address) + 1, int(subnet.broadcast_address) - 1
    candidate = first
    while candidate <= last:
        if candidate not in used:
            return ipaddress.IPv4Address(candidate)
        candidate += 1
    raise Conflict(f"subnet {subnet} has no free addresses left")


def overlapping(subnet: IPv4Network, others: dict[str, IPv4Network]) -> str | None:
    """Name of the first entry of `others` that overlaps `subnet`, else None."""
    for name, other in others.items():
        if subnet.overlaps(other):
            return name
    return None


def pick_subnet(taken: Iterable[IPv4Network], pool=DEFAULT_POOL) -> IPv4Network:
    taken = list(taken)
    for candidate in pool:
        if not any(candidate.overlaps(t) for t in taken):
            return candidate
    raise Conflict("the default address pool is exhausted; pass --subnet")
