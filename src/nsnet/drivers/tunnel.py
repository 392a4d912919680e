"""Encrypted overlays: each host's WireGuard device, and the VXLAN of its
encrypted networks running through it (pure: no I/O).

A host with endpoints on an encrypted overlay has one WireGuard device, nswg0,
shared by all its encrypted networks, with a tunnel address of the cluster's
tunnel subnet (claimed in the cluster store, one per host) and a peer for
every other live host: its public key, its advertise address and WireGuard
port as endpoint, its tunnel address as the only allowed IP. The VXLAN
devices of encrypted networks use the tunnel addresses as VTEPs, so their
packets are routed into nswg0 and leave the host encrypted; they use a UDP
port of their own (4790), which the firewall accepts from nswg0 only.

MTU: WireGuard adds outer IPv4 20 + UDP 8 + its data header 16 + the
authentication tag 16 = 60 bytes, so nswg0 gets the underlay's MTU - 60, and
an encrypted overlay that minus VXLAN's 50: 1500 - 110 = 1390.
"""

import ipaddress
import os

from .. import names

WG_IFNAME = "nswg0"
WG_PORT = 51820
WG_OVERHEAD = 60  # outer IPv4 20 + UDP 8 + WireGuard data header 16 + Poly1305 tag 16
TUNNEL_SUBNET = ipaddress.ip_network("100.96.0.0/16")  # from RFC 6598's shared space; one address per host
ENCRYPTED_VXLAN_PORT = 4790  # VXLAN inside the tunnels; accepted from nswg0 only

ENCRYPTED = "encrypted"
_TRUE = {"", "true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def parse_flag(key: str, value) -> bool:
    """An on/off option: `--opt encrypted` (no value) is on."""
    if value is None or isinstance(value, bool):
        return value is not False
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"option '{key}' takes true or false, not '{value}'")


def wg_dir(state_dir: str) -> str:
    """Where this host's key and its device's socket, record and log live (root only)."""
    return os.path.join(state_dir, "wireguard")


def key_path(state_dir: str) -> str:
    return os.path.join(wg_dir(state_dir), "private.key")


def device(state_dir: str, tunnel_ip: str, underlay_mtu: int | None = None) -> dict:
    """The WireGuard device of a host (see kernel/wireguard.py)."""
    mtu = names.check_mtu(int(underlay_mtu) - WG_OVERHEAD) if underlay_mtu else None
    return {"ifname": WG_IFNAME, "run": os.path.join(wg_dir(state_dir), "run"), "key": key_path(state_dir),
            "port": WG_PORT, "address": f"{tunnel_ip}/{TUNNEL_SUBNET.prefixlen}", "mtu": mtu}


def overhead(encrypted: bool) -> int:
    """Bytes an overlay's packets grow by on the underlay besides VXLAN's."""
    return WG_OVERHEAD if encrypted else 0


def vtep(host: dict | None, encrypted: bool) -> str | None:
    """Where a host's VXLAN packets of a network go: its tunnel address for an
    encrypted network (None if it has no WireGuard identity), else its advertise address."""
    if not host:
        return None
    if not encrypted:
        return host.get("address")
    return (host.get("wg") or {}).get("tunnel")


def peers(hosts: dict, me: str) -> dict:
    """{public key: {endpoint, allowed_ips}} of every other live host with a WireGuard identity."""
    out = {}
    for name, host in hosts.items():
        wg = host.get("wg") or {}
        if name != me and wg.get("key") and wg.get("tunnel") and host.get("address"):
            out[wg["key"]] = {"endpoint": f"{host['address']}:{wg.get('port', WG_PORT)}",
                              "allowed_ips": f"{wg['tunnel']}/32"}
    return out


def peer_changes(current: dict, desired: dict) -> tuple[dict, list]:
    """(peers to add or update, keys to remove) from `current` (wg_peers) to `desired`."""
    add = {key: want for key, want in desired.items()
           if key not in current or any(current[key].get(f) != want[f] for f in ("endpoint", "allowed_ips"))}
    return add, sorted(set(current) - set(desired))
