"""IPv4 and IPv6 side by side in the store's rows. A network has a subnet and a
gateway of each family it carries (`subnet`/`gateway`, `subnet6`/`gateway6`;
an IPv6-only network has no `subnet`), an endpoint an address of each (`ip`,
`ip6`) and, per family, whether its network gives the sandbox's default route
(`is_gateway`, `is_gateway6`); a direct link's ends an address of each.
These read them by family: 4 or 6."""

import ipaddress

VERSIONS = (4, 6)
SUBNET = {4: "subnet", 6: "subnet6"}
GATEWAY = {4: "gateway", 6: "gateway6"}
IP = {4: "ip", 6: "ip6"}
IS_GATEWAY = {4: "is_gateway", 6: "is_gateway6"}
LINK_IP = {4: ("ip_a", "ip_b"), 6: ("ip6_a", "ip6_b")}
DEFAULT_ROUTE = {4: "0.0.0.0/0", 6: "::/0"}


def version_of(text: str) -> int:
    """4 or 6, of an address or CIDR known to be valid."""
    return 6 if ":" in str(text) else 4


def subnets(net: dict) -> dict[int, ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """{4: IPv4Network, 6: IPv6Network} of the families a network row carries."""
    return {v: ipaddress.ip_network(net[SUBNET[v]]) for v in VERSIONS if net.get(SUBNET[v])}


def has_subnet(net: dict) -> bool:
    return bool(net.get("subnet") or net.get("subnet6"))


def addresses(ep: dict) -> list[str]:
    """An endpoint's addresses, IPv4 first."""
    return [ep[IP[v]] for v in VERSIONS if ep.get(IP[v])]


def first_address(ep: dict) -> str | None:
    """The address an endpoint is named by (its IPv4 one, else its IPv6 one)."""
    return ep.get("ip") or ep.get("ip6")


def default_routes(ep: dict) -> tuple[int, ...]:
    """The families whose default route goes via this endpoint's network."""
    return tuple(v for v in VERSIONS if ep.get(IS_GATEWAY[v]))


def link_cidrs(link: dict, sandbox: str) -> list[str]:
    """The CIDRs of `sandbox`'s end of a direct link, IPv4 first."""
    side = 0 if link["a"] == sandbox else 1
    return [link[LINK_IP[v][side]] for v in VERSIONS if link.get(LINK_IP[v][side])]
