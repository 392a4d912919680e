"""Names and interface limits: validation of user-given names and MTUs, and
derivation of kernel object names.

Kernel interface names are limited to IFNAMSIZ-1 = 15 bytes, so objects nsnet
makes in the host namespace get short, prefixed names that mark them as ours.
"""

import re

from .errors import InvalidInput

IFNAMSIZ = 15
BRIDGE_MAX_PORTS = 1023  # the kernel's BR_MAX_PORTS (1024) less port number 0, which it never gives
# Matched with fullmatch: `$` would also match before a trailing newline ("web\n").
_MAC = re.compile(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_IFNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@:+-]*")
MAX_NAME = 48

MIN_MTU, MAX_MTU = 68, 65535  # IPv4's minimum; the largest IP packet

BRIDGE_PREFIX = "nsbr-"
HOST_VETH_PREFIX = "nsv"


def check_name(kind: str, name: str) -> str:
    """Sandbox, network and topology names: letters, digits, '_', '.', '-'."""
    if not isinstance(name, str) or not name:
        raise InvalidInput(f"{kind} name must not be empty")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"{kind} name '{name}' is too long ({len(name)} > {MAX_NAME} characters)")
    if not _NAME.fullmatch(name):
        raise InvalidInput(
            f"{kind} name '{name}' has invalid characters "
            "(use letters, digits, '_', '.', '-'; start with a letter or digit)"
        )
    return name


_HOST_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
HOST_NAME_MAX = 64  # the kernel's limit (sethostname)


def check_hostname(name: str) -> str:
    """A sandbox's --hostname: RFC 1123 labels (letters, digits, '-') joined by dots,
    at most 64 characters."""
    if not isinstance(name, str) or not name:
        raise InvalidInput("hostname must not be empty")
    if len(name) > HOST_NAME_MAX:
        raise InvalidInput(f"hostname '{name}' is too long ({len(name)} > {HOST_NAME_MAX} characters)")
    if not all(_HOST_LABEL.match(label) for label in name.split(".")):
        raise InvalidInput(f"hostname '{name}' is not a valid hostname "
                           "(letters, digits and '-' in dot-separated labels; no '-' at either end of a label)")
    return name


def check_ifname(name: str) -> str:
    """An interface name the kernel accepts: 1..15 bytes, no '/', no whitespace."""
    if not name:
        raise InvalidInput("interface name must not be empty")
    if len(name.encode()) > IFNAMSIZ:
        raise InvalidInput(
            f"interface name '{name}' is too long ({len(name.encode())} > {IFNAMSIZ} bytes)"
        )
    if not _IFNAME.fullmatch(name) or name in (".", ".."):
        raise InvalidInput(f"interface name '{name}' has invalid characters")
    return name


def check_mtu(mtu) -> int | None:
    if mtu is not None and not MIN_MTU <= int(mtu) <= MAX_MTU:
        raise InvalidInput(f"mtu {mtu} is out of range ({MIN_MTU}..{MAX_MTU})")
    return None if mtu is None else int(mtu)


def bridge_name(network: str) -> str:
    """Readable when it fits ('nsbr-devops'), else a stable hash ('nsbr-3f9a0c21d4')."""
    name = BRIDGE_PREFIX + network
    if len(name) <= IFNAMSIZ and _IFNAME.fullmatch(name):
        return name
    return BRIDGE_PREFIX + _sha1_hex(network)[: IFNAMSIZ - len(BRIDGE_PREFIX)]


def host_veth_name(endpoint_id: int) -> str:
    """Host end of a sandbox's veth: 'nsv' + the endpoint id in hex (ids never repeat)."""
    return f"{HOST_VETH_PREFIX}{endpoint_id:x}"


def default_link_ifname(peer: str) -> str:
    """Direct-link end named after the other side, as in the seeds ('veth-blue')."""
    name = f"veth-{peer}"
    return name if len(name) <= IFNAMSIZ else "veth-" + _sha1_hex(peer)[:10]


def link_local(ip: str) -> str:
    """The link-local address nsnet gives an interface with global IPv6 address
    `ip` (in a /64 or longer): fe80:: + its interface id (the low 64 bits).
    Unique on the link because the global addresses are, and in the same
    solicited-node multicast group (the low 24 bits), so it costs no
    multicast listener report of its own."""
    import ipaddress  # only for IPv6 interfaces

    return str(ipaddress.IPv6Address((0xFE80 << 112) | (int(ipaddress.IPv6Address(ip)) & (1 << 64) - 1)))


def _sha1_hex(text: str) -> str:
    import hashlib  # not at the top: loading OpenSSL costs ~3 ms, and most names need no hash

    return hashlib.sha1(text.encode()).hexdigest()


def endpoint_mac(ip: str) -> str:
    """The MAC of an endpoint with address `ip`: 02:42 + the IPv4 address, as
    Docker makes them (locally administered). Unique in a network because its
    addresses are, computable by every host (overlays), and the same for a
    sandbox re-created with the same address, so its peers' ARP caches stay
    right. An IPv6 address gives its last 32 bits (unique within a /96)."""
    if ":" in ip:
        import ipaddress  # only for IPv6 endpoints

        packed = ipaddress.IPv6Address(ip).packed[-4:]
    else:
        packed = bytes(int(part) for part in ip.split("."))
    return "02:42:" + ":".join(f"{b:02x}" for b in packed)


def check_mac(mac: str) -> str:
    """A unicast Ethernet address, as aa:bb:cc:dd:ee:ff (returned lower-case)."""
    text = str(mac).lower()
    if not _MAC.fullmatch(text):
        raise InvalidInput(f"MAC address '{mac}' is not of the form aa:bb:cc:dd:ee:ff")
    if int(text[:2], 16) & 1 or text == "00:00:00:00:00:00":
        raise InvalidInput(f"MAC address '{mac}' is not a unicast address")
    return text
