"""The frame of a gratuitous ARP reply on a bridge, on behalf of an endpoint on
another host, and its IPv6 twin, an unsolicited neighbour advertisement (both
sent by Kernel.neigh_announce, l2.py).

A sandbox that asked for an address a moment before the agent programmed the
neighbour entry of the VXLAN device got no answer (proxy ARP had nothing to say)
and waits for its next ARP probe, a second later. An ARP reply "IP is-at MAC"
broadcast on the bridge updates such waiting entries at once (Linux updates an
existing neighbour entry from any ARP it sees), so queued packets leave now.
It is a reply, not a request, so the VXLAN device's proxy does not answer it.

IPv6 (RFC 4861 7.2.6): a neighbour advertisement to all nodes (ff02::1) with
the override flag and the target's link-layer address. Linux moves an
INCOMPLETE entry for the target to STALE on it and sends what was queued; the
source is the target itself, as the kernel's own unsolicited advertisements.
Without it a sandbox that solicited too early asks again only after its
retransmit timer (a second): measured here, one join in ten took 1,040 ms.
"""

import socket
import struct

from .netlink import attrs

ETH_P_ARP = 0x0806
ETH_P_IPV6 = 0x86DD
BROADCAST = b"\xff" * 6
ALL_NODES = "ff02::1"
ALL_NODES_MAC = b"\x33\x33\x00\x00\x00\x01"
ICMPV6, NEIGHBOUR_ADVERT, OVERRIDE = 58, 136, 0x20000000


def frame(src_mac: bytes, ip: str, mac: str) -> bytes:
    """Ethernet broadcast from `src_mac` carrying ARP reply ip is-at mac (to everyone)."""
    addr = socket.inet_aton(ip)
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 2) + attrs.mac(mac) + addr + BROADCAST + addr
    return BROADCAST + src_mac + struct.pack("!H", ETH_P_ARP) + arp


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071), of ICMP and ICMPv6 messages."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def na_frame(src_mac: bytes, ip: str, mac: str) -> bytes:
    """Ethernet to all nodes from `src_mac` carrying an unsolicited neighbour
    advertisement: ip is-at mac (override, not solicited)."""
    target, dst = socket.inet_pton(socket.AF_INET6, ip), socket.inet_pton(socket.AF_INET6, ALL_NODES)
    option = struct.pack("!BB", 2, 1) + attrs.mac(mac)  # target link-layer address, 8 bytes
    body = struct.pack("!BBHI", NEIGHBOUR_ADVERT, 0, 0, OVERRIDE) + target + option
    pseudo = target + dst + struct.pack("!I3xB", len(body), ICMPV6)
    body = body[:2] + struct.pack("!H", checksum(pseudo + body)) + body[4:]
    header = struct.pack("!IHBB", 6 << 28, len(body), ICMPV6, 255) + target + dst
    return ALL_NODES_MAC + src_mac + struct.pack("!H", ETH_P_IPV6) + header + body
