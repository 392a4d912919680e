"""The frame of a gratuitous ARP reply on a bridge, on behalf of an endpoint on
another host (sent by Kernel.arp_announce, l2.py).

A sandbox that asked for an address a moment before the agent programmed the
neighbour entry of the VXLAN device got no answer (proxy ARP had nothing to say)
and waits for its next ARP probe, a second later. An ARP reply "IP is-at MAC"
broadcast on the bridge updates such waiting entries at once (Linux updates an
existing neighbour entry from any ARP it sees), so queued packets leave now.
It is a reply, not a request, so the VXLAN device's proxy does not answer it.
"""

import socket
import struct

ETH_P_ARP = 0x0806
BROADCAST = b"\xff" * 6


def _mac(text: str) -> bytes:
    return bytes(int(part, 16) for part in text.split(":"))


def frame(src_mac: bytes, ip: str, mac: str) -> bytes:
    """Ethernet broadcast from `src_mac` carrying ARP reply ip is-at mac (to everyone)."""
    addr = socket.inet_aton(ip)
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 2) + _mac(mac) + addr + BROADCAST + addr
    return BROADCAST + src_mac + struct.pack("!H", ETH_P_ARP) + arp
