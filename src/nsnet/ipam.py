"""Address management: pure functions over ipaddress objects, no I/O.

The engine calls these inside a store write transaction, so two nsnet
processes never hand out the same address. Both families: an IPv4 subnet's
first and last addresses are its network and broadcast addresses; an IPv6
subnet's first is its subnet-router anycast address (RFC 4291), and it has
no broadcast, so its last address is a host's.
"""

import bisect
import ipaddress
import itertools
import socket
from collections.abc import Iterable

from .errors import Conflict, InvalidInput
from .family import DEFAULT_ROUTE, version_of

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
SMALLEST = {4: 30, 6: 126}  # longest prefix of a network: a gateway and at least one sandbox
_AF = {4: socket.AF_INET, 6: socket.AF_INET6}

# Docker-like default pool: 172.17-31.0.0/16, then 192.168.0.0/16 cut into /20s.
DEFAULT_POOL = [ipaddress.ip_network(f"172.{i}.0.0/16") for i in range(17, 32)] + list(
    ipaddress.ip_network("192.168.0.0/16").subnets(new_prefix=20)
)


# Ranges no network or link may use, of either family: the kernel treats
# their addresses as special (never forwarded, or not unicast at all).
SPECIAL = [(ipaddress.ip_network(cidr), what) for cidr, what in (
    ("0.0.0.0/8", "'this network'"), ("127.0.0.0/8", "loopback"), ("169.254.0.0/16", "link-local"),
    ("224.0.0.0/4", "multicast"), ("240.0.0.0/4", "reserved"),
    ("::/128", "unspecified"), ("::1/128", "loopback"), ("fe80::/10", "link-local"), ("ff00::/8", "multicast"))]


def check_special(net, where: str = "subnet"):
    """`net` unless it overlaps a special range (loopback, multicast, ...)."""
    for special, what in SPECIAL:
        if special.version == net.version and net.overlaps(special):
            raise InvalidInput(f"{where}: {net} is in the {what} range {special}: not usable for a network")
    return net


def parse_subnet(text: str, where: str = "subnet") -> IPNetwork:
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise InvalidInput(f"{where}: '{text}' is not a valid CIDR")
    if "/" not in str(text):
        raise InvalidInput(f"{where}: '{text}' needs a prefix length (e.g. {text}/{24 if net.version == 4 else 64})")
    if ipaddress.ip_interface(text).ip != net.network_address:
        raise InvalidInput(f"{where}: '{text}' has host bits set (did you mean {net}?)")
    if net.prefixlen > SMALLEST[net.version]:
        raise InvalidInput(f"{where}: '{text}' is too small (need at least a /{SMALLEST[net.version]})")
    if net.version == 6 and net.prefixlen < 64:
        raise InvalidInput(f"{where}: '{text}' is larger than one link: IPv6 subnets are /64 or longer "
                           "(an interface id is 64 bits)")
    return check_special(net, where)


def per_family(value, parse, where: str, what: str) -> dict:
    """{4: x, 6: y}: `parse` applied to each of `value` (None, one text, 'A,B', or
    a list of texts), each result having a `version`; at most one per family."""
    if value is None:
        return {}
    texts = value.split(",") if isinstance(value, str) else [t for v in value for t in str(v).split(",")]
    out = {}
    for text in (t.strip() for t in texts):
        if text:
            item = parse(text, where)
            if item.version in out:
                raise InvalidInput(f"{where}: two IPv{item.version} {what} ({out[item.version]}, {item}); "
                                   "give at most one of each family")
            out[item.version] = item
    return out


def parse_subnets(subnets, where: str = "subnet") -> dict[int, IPNetwork]:
    """{4: IPv4 subnet, 6: IPv6 subnet} from one CIDR or several."""
    return per_family(subnets, parse_subnet, where, "subnets")


def parse_dest(dest: str, version: int = 4) -> str:
    """A route destination: a CIDR, or 'default' (of the family `version`)."""
    if dest == "default":
        return DEFAULT_ROUTE[version]
    try:
        net = ipaddress.ip_network(dest, strict=True)
    except ValueError:
        raise InvalidInput(f"route destination '{dest}' is not a valid CIDR (or 'default')")
    return net.compressed


def parse_ip(text: str, where: str = "ip") -> IPAddress:
    if "/" in str(text):
        raise InvalidInput(f"{where}: '{text}' is not a valid IP address (give it without a prefix)")
    try:
        return ipaddress.ip_address(str(text).strip())
    except ValueError:
        raise InvalidInput(f"{where}: '{text}' is not a valid IP address")


def parse_ips(value, where: str = "--ip") -> dict[int, IPAddress]:
    """{4: address, 6: address} from None, one address ('10.1.0.5', 'fd00::5',
    '10.1.0.5,fd00::5') or a list of them."""
    return per_family(value, parse_ip, where, "addresses")


def default_gateway(subnet: IPNetwork) -> IPAddress:
    return subnet.network_address + 1


def check_in_subnet(ip, subnet: IPNetwork, what: str) -> None:
    reserved = (subnet.network_address, subnet.broadcast_address) if subnet.version == 4 else (subnet.network_address,)
    if ip.version != subnet.version or ip not in subnet or ip in reserved:
        raise InvalidInput(f"{what} {ip} is not a usable address in subnet {subnet}")


def last_host(subnet: IPNetwork) -> int:
    """The highest address a sandbox may have, as an integer."""
    return int(subnet.broadcast_address) - (1 if subnet.version == 4 else 0)


def to_int(text: str) -> int:
    """An address as an integer through inet_pton (a C call): ipaddress' parser
    made IPAM's O(N) loop cost ~1 ms at N=200."""
    version = version_of(text)
    return int.from_bytes(socket.inet_pton(_AF[version], text), "big")


def allocate(subnet: IPNetwork, reserved: Iterable) -> IPAddress:
    """Lowest free host address."""
    used = {to_int(a) for a in map(str, reserved)}
    for candidate in range(int(subnet.network_address) + 1, last_host(subnet) + 1):
        if candidate not in used:
            return ipaddress.ip_address(candidate) if subnet.version == 4 else ipaddress.IPv6Address(candidate)
    raise Conflict(f"subnet {subnet} has no free addresses left")


def _span(net) -> tuple[tuple[int, int], tuple[int, int]]:
    """First and last address, comparable across families (IPv4 sorts first)."""
    return (net.version, int(net.network_address)), (net.version, int(net.broadcast_address))


def overlapping_pairs(named: dict) -> list[tuple[str, str]]:
    """(name, other) for every subnet of `named` that overlaps one before it in
    address order: one sweep, O(n log n) (a file of 4,000 networks, checked
    pair by pair, took 25 s; 4,000 that all overlap, 55 s and 1.2 GB)."""
    out, reach = [], None  # reach: (last address, name) of the subnet reaching furthest so far
    for first, last, name in sorted((*_span(net), name) for name, net in named.items()):
        if reach is not None and first <= reach[0]:
            out.append((name, reach[1]))
        if reach is None or last > reach[0]:
            reach = (last, name)
    return out


class SubnetIndex:
    """Which of many named subnets a subnet overlaps: O(log n) a question."""

    def __init__(self, named: dict):
        spans = sorted((*_span(net), name) for name, net in named.items())
        self._firsts = [first for first, _, _ in spans]
        self._reach = []  # [k]: (last address, name) reaching furthest among the first k+1
        for _, last, name in spans:
            if not self._reach or last > self._reach[-1][0]:
                self._reach.append((last, name))
            else:
                self._reach.append(self._reach[-1])

    def find(self, subnet) -> str | None:
        first, last = _span(subnet)
        k = bisect.bisect_right(self._firsts, last) - 1
        return self._reach[k][1] if k >= 0 and self._reach[k][0] >= first else None


def overlapping(subnet: IPNetwork, others: dict[str, IPNetwork]) -> str | None:
    """Name of the first entry of `others` that overlaps `subnet`, else None."""
    for name, other in others.items():
        if other.version == subnet.version and subnet.overlaps(other):
            return name
    return None


def pick_subnet(taken: Iterable[IPNetwork], pool=DEFAULT_POOL) -> IPNetwork:
    taken = [t for t in taken if t.version == 4]
    for candidate in pool:
        if not any(candidate.overlaps(t) for t in taken):
            return candidate
    raise Conflict("the default address pool is exhausted; pass --subnet")


def ula_prefix(machine_id: str) -> ipaddress.IPv6Network:
    """This machine's unique local /48 (RFC 4193: fd + a 40-bit global ID), the
    global ID taken from a hash of the machine's id, as Docker derives its own
    from the host: the same on every call, unlikely to meet another machine's."""
    import hashlib  # only when a subnet is picked: loading OpenSSL costs ~3 ms

    global_id = hashlib.sha1(machine_id.encode()).digest()[:5]
    return ipaddress.IPv6Network((b"\xfd" + global_id + bytes(10), 48))


def pick_subnet6(taken: Iterable[IPNetwork], prefix: ipaddress.IPv6Network, limit: int = 65536) -> IPNetwork:
    """The lowest /64 of `prefix` (a /48) that overlaps nothing `taken`."""
    taken = [t for t in taken if t.version == 6]
    for candidate in itertools.islice(prefix.subnets(new_prefix=64), limit):
        if not any(candidate.overlaps(t) for t in taken):
            return candidate
    raise Conflict(f"the IPv6 pool {prefix} is exhausted; pass --subnet")
