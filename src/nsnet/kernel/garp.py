"""A gratuitous ARP reply on a bridge, on behalf of an endpoint on another host.

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


def announce(k, ns, ifname: str, ip: str, mac: str) -> None:
    """Send it out of `ifname` (a bridge of namespace `ns`, None: the host's)."""
    with k._inside(ns):
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))
    try:
        sock.bind((ifname, 0))
        own = sock.getsockname()[4]  # the bridge's MAC: the Ethernet source, so nothing is learned wrong
        sock.send(frame(own, ip, mac))
    finally:
        sock.close()
