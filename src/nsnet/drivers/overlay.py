"""`overlay`: one network across hosts (Docker's overlay driver); docs/overlay.md
describes it whole, IPv6 inside included.

Per host and per overlay network: the bridge driver's bridge, holding the
gateway address (the same on every host, answered locally), and a VXLAN device
enslaved to it; endpoints on other hosts are static fdb and neighbour entries
that the agent keeps in step with the cluster store. The cluster store holds
the network (VNI, subnets), every host's endpoints and address claims; each
host keeps a copy of the network (a row in its own store, whose options hold
the host-specific facts: vni, vxlan (the device name), local (this host's VTEP
address), port), made at create on the creating host and on the first connect
elsewhere. The only cluster write made while planning is the address claim
(one transaction), which a ClaimAddress step gives back if the plan fails;
--dry-run claims nothing.

`--opt encrypted`: the network's VXLAN runs through this host's WireGuard
device (drivers/tunnel.py): the row's options add `encrypted` and `tunnel`
(the device), its VTEP addresses are tunnel addresses.
"""

import ipaddress
import json

from .. import family
from ..errors import Conflict, InvalidInput, NotFound
from ..names import endpoint_mac
from ..steps import DeleteLink
from . import tunnel
from .bridge import BridgeDriver

# The overlay's, the cluster store's and WireGuard's Steps (steps/overlay.py,
# steps/cluster.py, steps/wireguard.py) are imported where used: registering
# this driver costs nothing (~1 ms of start-up) to commands that never touch an overlay.

VXLAN_OVERHEAD = 50  # outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8
IPV6_MIN_MTU = 1280  # RFC 8200: a link carrying IPv6 takes packets of this size
VXLAN_PREFIX = "nsvx-"
HOST_META = "overlay_host"  # meta key: {"name", "address"} of this host, set by `nsnet agent`


def vxlan_name(vni: int) -> str:
    """'nsvx-' + the VNI: at most 13 bytes (VNIs have 24 bits)."""
    return f"{VXLAN_PREFIX}{int(vni)}"


def overlay_mtu(underlay_mtu: int, wanted: int | None = None) -> int:
    """The largest MTU whose VXLAN packets fit the underlay (or `wanted`, if smaller)."""
    fits = int(underlay_mtu) - VXLAN_OVERHEAD
    return min(fits, int(wanted)) if wanted else fits


def remote_steps(vxlan: str, endpoints) -> list:
    """fdb + neighbour entries for endpoints on other hosts: [(ip, mac, vtep)]
    (a dual-stack endpoint is two of them, one MAC)."""
    from ..steps.overlay import AddFdb, AddNeigh

    steps, macs = [], set()
    for ip, mac, vtep in endpoints:
        if mac not in macs:
            steps.append(AddFdb(vxlan, mac, vtep))
            macs.add(mac)
        steps.append(AddNeigh(vxlan, ip, mac))
    return steps


def endpoint_record(ep: dict) -> dict:
    """What the cluster store keeps of a (local) endpoint: keyed by its first
    address, with its IPv6 one beside an IPv4 one, and the MAC made from it."""
    first = family.first_address(ep)
    record = {"ip": first, "mac": endpoint_mac(first)}
    if ep.get("ip6") and ep["ip6"] != first:
        record["ip6"] = ep["ip6"]
    return record


# -- this host on the underlay -----------------------------------------------------
def this_host(store) -> dict | None:
    raw = store.meta(HOST_META)
    return json.loads(raw) if raw else None


def require_host(store) -> dict:
    host = this_host(store)
    if not host:
        raise Conflict("this host has no advertise address for overlay networks: run "
                       "`nsnet agent --advertise-address IP` on it first")
    return host


def require_tunnel(host: dict) -> dict:
    """This host's WireGuard identity (public key, port, tunnel address), made by `nsnet agent`."""
    wg = host.get("wg") or {}
    if not wg.get("tunnel") or not wg.get("key"):
        raise Conflict("this host has no WireGuard identity for encrypted overlays: install wireguard-tools and "
                       "wireguard-go (scripts/setup.sh), then restart `nsnet agent`")
    return wg


def underlay_mtu(ctx, address: str) -> int:
    """MTU of the host interface that holds `address` (the VXLAN underlay)."""
    names = [a["ifname"] for a in ctx.kernel.addrs(None) if a["cidr"].split("/")[0] == address]
    if not names:
        where = f"namespace {ctx.settings.host_netns}" if ctx.settings.host_netns else "the host"
        raise InvalidInput(f"advertise address {address} is not an address of {where}")
    return next(link["mtu"] for link in ctx.kernel.links(None) if link["ifname"] == names[0])


class OverlayDriver(BridgeDriver):
    name = "overlay"
    uses_subnet = True
    spans_hosts = True
    has_dns = False  # overlay networks have no DNS yet
    fixed_macs = False  # an endpoint's MAC is derived from its address
    derived_mac_kept = True  # other hosts program it: a changed one is drift
    options = {tunnel.ENCRYPTED: tunnel.parse_flag}
    max_endpoints = BridgeDriver.max_endpoints - 1  # the VXLAN device is a port of the bridge too

    # -- planners: the bridge driver's (MACs derived from addresses), plus the VXLAN device ---
    def plan_create(self, net):
        from ..steps.overlay import VXLAN_PORT, CreateVxlan
        from ..steps.wireguard import StartTunnel

        opts = net["options"]
        first = [StartTunnel(opts["tunnel"])] if opts.get("encrypted") else []
        return first + super().plan_create(net) + [
            CreateVxlan(opts["vxlan"], opts["vni"], opts["local"], opts.get("port", VXLAN_PORT), net["mtu"],
                        master=net["bridge"])]

    def plan_remove(self, net):
        return [DeleteLink(None, net["options"]["vxlan"])] + super().plan_remove(net)

    def plan_vacate(self, ctx, net):
        """The WireGuard device goes with the host's last encrypted network."""
        from ..steps.wireguard import StopTunnel

        if not net["options"].get("encrypted"):
            return []
        if any((other.get("options") or {}).get("encrypted") for other in ctx.store.networks()):
            return []
        return [StopTunnel(net["options"]["tunnel"])]

    def host_ifnames(self, net):
        return [net["bridge"], net["options"]["vxlan"]]

    # -- creating a network: the cluster's record, then this host's copy --------
    def check_create(self, ctx, vni):
        from ..state.cluster.store import check_vni

        return check_vni(vni) if vni is not None else None

    def taken_subnets(self, ctx):
        require_host(ctx.store)
        return [tunnel.TUNNEL_SUBNET] + [s for n in ctx.cluster.networks() for s in family.subnets(n).values()]

    def plan_share(self, ctx, record):
        from ..steps.cluster import CreateClusterNetwork

        host = require_host(ctx.store)
        encrypted = bool(record.get(tunnel.ENCRYPTED))
        if encrypted:
            require_tunnel(host)
        if record["subnet"] and ipaddress.ip_network(record["subnet"]).overlaps(tunnel.TUNNEL_SUBNET):
            raise Conflict(f"subnet {record['subnet']} overlaps {tunnel.TUNNEL_SUBNET}, the tunnel addresses of "
                           "encrypted overlays")
        ctx.cluster.check_new_network(record["name"], record["subnet"], record["vni"], record.get("subnet6"))
        fits = underlay_mtu(ctx, host["address"]) - VXLAN_OVERHEAD - tunnel.overhead(encrypted)
        wireguard = f" and {tunnel.WG_OVERHEAD} of WireGuard" if encrypted else ""
        why = f"underlay MTU minus {VXLAN_OVERHEAD} bytes of VXLAN headers{wireguard}"
        if record["mtu"] and record["mtu"] > fits:
            raise InvalidInput(f"mtu {record['mtu']} does not fit the underlay: at most {fits} ({why})")
        if record.get("subnet6") and min(record["mtu"] or fits, fits) < IPV6_MIN_MTU:
            raise InvalidInput(f"an overlay carrying IPv6 needs an MTU of at least {IPV6_MIN_MTU}; this one would "
                               f"have {min(record['mtu'] or fits, fits)} ({why})")
        shared = {"name": record["name"], "subnet": record["subnet"], "gateway": record["gateway"],
                  "vni": record["vni"] or ctx.cluster.free_vni(), "mtu": record["mtu"],
                  "internal": record["internal"], "masquerade": record["masquerade"],
                  "direct_routing": record["direct_routing"]}
        if record.get("subnet6"):  # an IPv4-only network's record stays as it was
            shared.update(subnet6=record["subnet6"], gateway6=record["gateway6"])
        if encrypted:
            shared[tunnel.ENCRYPTED] = True
        record["vni"] = shared["vni"]
        return [CreateClusterNetwork(ctx.cluster, shared)]

    def local_row(self, ctx, record, bridge):
        from ..steps.overlay import VXLAN_PORT

        host = require_host(ctx.store)
        row = super().local_row(ctx, dict(record, dns=False), bridge)
        under = underlay_mtu(ctx, host["address"])
        row["options"].update(vni=record["vni"], vxlan=vxlan_name(record["vni"]))
        if record.get(tunnel.ENCRYPTED):
            wg = require_tunnel(host)
            dev = tunnel.device(ctx.settings.state_dir, wg["tunnel"], under)
            row["mtu"] = overlay_mtu(dev["mtu"], record.get("mtu"))
            row["options"].update(local=wg["tunnel"], port=tunnel.ENCRYPTED_VXLAN_PORT, encrypted=True, tunnel=dev)
        else:
            row["mtu"] = overlay_mtu(under, record.get("mtu"))
            row["options"].update(local=host["address"], port=VXLAN_PORT)
        return row

    def plan_peers(self, ctx, net):
        from ..steps.wireguard import SetTunnelPeers

        me = require_host(ctx.store)["name"]
        hosts = ctx.cluster.hosts()
        encrypted = bool(net["options"].get("encrypted"))
        steps = [SetTunnelPeers(net["options"]["tunnel"], tunnel.peers(hosts, me))] if encrypted else []
        remote = []
        for ep in ctx.cluster.endpoints(net["name"]):
            vtep = tunnel.vtep(hosts.get(ep["host"]), encrypted) if ep["host"] != me else None
            if vtep:
                remote += [(ip, ep["mac"], vtep) for ip in family.addresses(ep)]
        return steps + remote_steps(net["options"]["vxlan"], remote)

    # -- the network in the cluster store --------------------------------------------
    def find(self, ctx, name):
        if not ctx.has_cluster():
            return None  # no cluster store configured and no embedded one yet: nothing to ask
        from ..state.cluster import ClusterUnavailable

        try:
            return ctx.cluster.network(name)
        except ClusterUnavailable as exc:
            raise ClusterUnavailable(f"network '{name}' is not on this host and the cluster store cannot be "
                                     f"asked: {exc}")

    def listed(self, ctx, local):
        if not ctx.settings.cluster_store:
            return []
        return [{"name": rec["name"], "driver": self.name, "subnet": rec.get("subnet"),
                 "gateway": rec.get("gateway"), "subnet6": rec.get("subnet6"), "gateway6": rec.get("gateway6"),
                 "bridge": None, "sandboxes": 0}
                for rec in ctx.cluster.networks() if rec["name"] not in local]

    def joined(self, ctx, name, net):
        record = ctx.cluster.network(name)
        if record is None:
            raise NotFound(f"network '{name}' not found (not in the cluster store {ctx.cluster.url})")
        if net is not None and net["options"].get("vni") != record["vni"]:
            raise Conflict(f"this host's copy of network '{name}' is stale (VNI {net['options'].get('vni')}, "
                           f"the cluster has {record['vni']}); remove it here with `nsnet network rm {name}`")
        require_host(ctx.store)
        return record

    def plan_unshare(self, ctx, name, endpoints):
        from ..steps.cluster import DeleteClusterNetwork

        if ctx.cluster.network(name) is None:
            return []
        ours = [ip for ep in endpoints for ip in family.addresses(ep)]
        claims = ctx.cluster.claims(name)
        others = [ip for ip in claims if ip not in ours]
        if others:
            raise Conflict(f"network '{name}' has {len(others)} endpoint(s) on other hosts "
                           f"({', '.join(sorted({claims[ip].get('host', '?') for ip in others}))}); "
                           "disconnect them there first")
        return [DeleteClusterNetwork(ctx.cluster, name, ours)]

    # -- endpoints: addresses claimed in the cluster store -----------------------------
    def reserve(self, ctx, ex, net, sandbox, ips):
        from ..steps.cluster import ClaimAddress

        host = require_host(ctx.store)
        owner = {"host": host["name"], "sandbox": sandbox}
        wanted = {version: ips.get(version) for version in family.subnets(net)}
        if ex.dry_run:
            claims = ctx.cluster.claims(net["name"])
            addrs = {v: ip or ctx.cluster.free_address(net, claims, v) for v, ip in wanted.items()}
        else:
            addrs = ctx.cluster.claim_addresses(net["name"], host["name"], sandbox, wanted)
        ordered = [addrs[v] for v in sorted(addrs)]
        return addrs, [ClaimAddress(ctx.cluster, net["name"], ordered, owner, claimed=not ex.dry_run)]

    def announce(self, ctx, net, ep):
        from ..steps.cluster import PublishEndpoint

        host = require_host(ctx.store)
        return [PublishEndpoint(ctx.cluster, {"network": net["name"], **endpoint_record(ep), "host": host["name"],
                                              "vtep": net["options"]["local"], "sandbox": ep["sandbox"]})]

    def release(self, ctx, net, ep):
        """Disconnecting gives the address back to the cluster (a step: with
        --dry-run nothing is written; if etcd is down it is reported, and the
        agent removes the stale endpoint once etcd is back)."""
        from ..steps.cluster import ReleaseEndpoint

        ips = family.addresses(ep)
        return [ReleaseEndpoint(ctx.cluster, net["name"], ips)] if ips else []
