"""The cluster store: overlay networks, their VNIs, address claims, published
endpoints and live hosts, kept in a KV backend (etcd or SQLite) by one set of
rules, so both backends behave the same.

Keys under the prefix (default /nsnet/):

    networks/NAME        {"name", "subnet", "gateway", "subnet6", "gateway6", "vni", "mtu", "internal",
                          "masquerade"}     (an IPv6-only network has no subnet; an IPv4-only one no subnet6)
    vni/VNI              NAME                              (VNI -> network: unique VNIs)
    index                counter bumped by every network create (serialises overlap checks)
    epoch/NAME           counter bumped by every claim/release (guards network deletion)
    ipam/NAME/IP         {"host", "sandbox", "time"}       an address claim (one per address, either family)
    endpoints/NAME/IP    {"network", "ip", "ip6", "mac", "host", "vtep", "sandbox", "time"}: keyed by the
                                                       first address (IPv4, else IPv6); ip6 beside an IPv4 one
    hosts/HOST           {"name", "address", "time", "wg"} under the host's lease; wg: {"key" (public),
                                                       "port", "tunnel"} when it can join encrypted overlays
    tunnels/IP           {"host", "time"}                  a host's tunnel address (encrypted overlays), kept

Every change is one transaction whose compares make a concurrent change on
another host fail it instead of being overwritten: an address claim needs its
key absent (a dual-stack endpoint's two claims are one transaction); creating
a network needs the index unchanged since the overlap check read it; deleting
one needs its epoch unchanged since the claims were read.
"""

import ipaddress
import json
import random
import time

from ... import family, ipam
from ...errors import Conflict, InvalidInput, NotFound
from ...names import endpoint_mac
from .kv import KV, Delete, Put, absent, present, same, unchanged

MAX_ATTEMPTS = 64  # optimistic retries of one allocation under contention
VNI_MIN, VNI_MAX = 1, (1 << 24) - 1
VNI_FIRST_AUTO = 4096


def decode(text: str | None) -> dict | None:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def _dump(record: dict) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


def parse_key(prefix: str, key: str) -> tuple[str, tuple] | None:
    """'/nsnet/endpoints/blue/10.0.0.2' -> ('endpoints', ('blue', '10.0.0.2'))."""
    if not key.startswith(prefix):
        return None
    parts = key[len(prefix):].split("/")
    kind, rest = parts[0], tuple(parts[1:])
    sizes = {"networks": 1, "hosts": 1, "ipam": 2, "endpoints": 2, "vni": 1, "epoch": 1, "index": 0, "tunnels": 1}
    if sizes.get(kind) != len(rest):
        return None
    return kind, rest


def parse_state(prefix: str, items) -> dict:
    """A snapshot of the store as {"networks": {name: rec}, "endpoints": {(net, ip): rec},
    "hosts": {name: rec}, "claims": {(net, ip): rec}}. Unparsable values are skipped."""
    state = {"networks": {}, "endpoints": {}, "hosts": {}, "claims": {}}
    for item in items:
        parsed = parse_key(prefix, item.key)
        value = decode(item.value)
        if parsed is None or not isinstance(value, dict):
            continue
        kind, rest = parsed
        if kind in ("networks", "hosts"):
            state[kind][rest[0]] = value
        elif kind == "endpoints":
            state["endpoints"][rest] = value
        elif kind == "ipam":
            state["claims"][rest] = value
    return state


def check_vni(vni) -> int:
    try:
        value = int(vni)
    except (TypeError, ValueError):
        raise InvalidInput(f"VNI '{vni}' is not a number")
    if not VNI_MIN <= value <= VNI_MAX:
        raise InvalidInput(f"VNI {value} is out of range ({VNI_MIN}..{VNI_MAX})")
    return value


def pick_vni(taken) -> int:
    taken = set(taken)
    for vni in range(VNI_FIRST_AUTO, VNI_MAX + 1):
        if vni not in taken:
            return vni
    raise Conflict("no free VNI left")


class ClusterStore:
    def __init__(self, kv: KV, prefix: str = "/nsnet/"):
        self.kv = kv
        self.prefix = prefix if prefix.endswith("/") else prefix + "/"
        self.url = kv.url + ("" if self.prefix == "/nsnet/" else self.prefix.rstrip("/"))

    def key(self, *parts) -> str:
        return self.prefix + "/".join(str(p) for p in parts)

    def close(self) -> None:
        self.kv.close()

    def describe(self, verb: str, *parts, value: dict | None = None) -> str:
        return self.kv.describe(verb, self.key(*parts), _dump(value) if value is not None else None)

    # -- reads --------------------------------------------------------------
    def snapshot(self) -> tuple[dict, int]:
        items, rev = self.kv.range(self.prefix)
        return parse_state(self.prefix, items), rev

    def network(self, name: str) -> dict | None:
        item = self.kv.get(self.key("networks", name))
        return decode(item.value) if item else None

    def networks(self) -> list[dict]:
        items, _ = self.kv.range(self.key("networks", ""))
        return sorted((v for v in (decode(i.value) for i in items) if v), key=lambda n: n["name"])

    def endpoints(self, network: str | None = None) -> list[dict]:
        where = self.key("endpoints", network, "") if network else self.key("endpoints", "")
        items, _ = self.kv.range(where)
        return [v for v in (decode(i.value) for i in items) if v]

    def claims(self, network: str) -> dict[str, dict]:
        items, _ = self.kv.range(self.key("ipam", network, ""))
        return {i.key.rsplit("/", 1)[1]: (decode(i.value) or {}) for i in items}

    def hosts(self) -> dict[str, dict]:
        items, _ = self.kv.range(self.key("hosts", ""))
        return {v["name"]: v for v in (decode(i.value) for i in items) if v}

    # -- networks -----------------------------------------------------------
    def check_new_network(self, name: str, subnet, vni: int | None, subnet6=None) -> None:
        """The checks create_network repeats atomically, as clear errors up front."""
        nets = self.networks()
        if any(n["name"] == name for n in nets):
            raise Conflict(f"network '{name}' already exists in the cluster store ({self.url})")
        for net in (ipaddress.ip_network(s) for s in (subnet, subnet6) if s):
            for other in nets:
                theirs = family.subnets(other).get(net.version)
                if theirs is not None and net.overlaps(theirs):
                    raise Conflict(f"subnet {net} overlaps overlay network '{other['name']}' ({theirs})")
        if vni is not None:
            owner = self.kv.get(self.key("vni", vni))
            if owner is not None:
                raise Conflict(f"VNI {vni} is taken by network '{owner.value}'")

    def free_vni(self) -> int:
        return pick_vni(n["vni"] for n in self.networks())

    def create_network(self, record: dict) -> dict:
        name, vni = record["name"], check_vni(record["vni"])
        record = dict(record, vni=vni)
        for _ in range(MAX_ATTEMPTS):
            index = self.kv.get(self.key("index"))
            self.check_new_network(name, record.get("subnet"), vni, record.get("subnet6"))
            count = int(index.value) + 1 if index else 1
            ok = self.kv.txn(
                [absent(self.key("networks", name)), absent(self.key("vni", vni)), unchanged(self.key("index"), index)],
                [Put(self.key("networks", name), _dump(record)), Put(self.key("vni", vni), name),
                 Put(self.key("index"), str(count))])
            if ok:
                return record
            _jitter()
        raise Conflict(f"network '{name}': the cluster store kept changing under the create; try again")

    def delete_network(self, name: str, release: list[str] = ()) -> bool:
        """Delete network `name` (and the claims/endpoints of `release`, in the same
        transaction). Refused while other addresses are claimed. False if absent."""
        for _ in range(MAX_ATTEMPTS):
            item = self.kv.get(self.key("networks", name))
            if item is None:
                return False
            record = decode(item.value) or {}
            epoch = self.kv.get(self.key("epoch", name))
            owners = self.claims(name)
            others = sorted(set(owners) - set(release))
            if others:
                who = ", ".join(f"{ip} ({owners[ip].get('sandbox')}@{owners[ip].get('host')})" for ip in others[:5])
                raise Conflict(f"network '{name}' still has {len(others)} endpoint(s) on the cluster: {who}; "
                               "disconnect them on their hosts first")
            ops = [Delete(self.key("networks", name)), Delete(self.key("epoch", name))]
            if record.get("vni") is not None:
                ops.append(Delete(self.key("vni", record["vni"])))
            for ip in release:
                ops += [Delete(self.key("endpoints", name, ip)), Delete(self.key("ipam", name, ip))]
            if self.kv.txn([unchanged(self.key("networks", name), item),
                            unchanged(self.key("epoch", name), epoch)], ops):
                return True
            _jitter()
        raise Conflict(f"network '{name}': the cluster store kept changing under the delete; try again")

    # -- addresses ----------------------------------------------------------
    def free_address(self, network: dict, taken, version: int = 4) -> str:
        """The lowest free address of the network's subnet of `version`. Without an
        IPv4 subnet an endpoint's MAC comes from its IPv6 address's low 32 bits
        (names.endpoint_mac): addresses that would share one are skipped."""
        subnet = ipaddress.ip_network(network[family.SUBNET[version]])
        same = [ip for ip in taken if family.version_of(ip) == version]
        reserved = same + [network[family.GATEWAY[version]]]
        for _ in range(MAX_ATTEMPTS):
            addr = ipam.allocate(subnet, reserved)
            if mac_clash(network, str(addr), same) is None:
                return str(addr)
            reserved.append(addr)
        raise Conflict(f"subnet {subnet} has no free address whose MAC is unique left")

    def claim(self, network: str, host: str, sandbox: str, ip: str | None = None) -> str:
        """Claim `ip` (or the lowest free address of the network's first family)."""
        if ip is not None:
            wanted = {family.version_of(ip): ip}
        else:
            record = self.network(network) or {}
            wanted = {next((v for v in family.VERSIONS if record.get(family.SUBNET[v])), 4): None}
        return next(iter(self.claim_addresses(network, host, sandbox, wanted).values()))

    def claim_addresses(self, network: str, host: str, sandbox: str, wanted: dict) -> dict[int, str]:
        """Claim an address of each family of `wanted` ({4|6: address, or None for
        the lowest free}) of `network` for host/sandbox, all in one transaction
        per attempt, so two hosts never get the same address."""
        owner = _dump({"host": host, "sandbox": sandbox, "time": round(time.time(), 3)})
        for _ in range(MAX_ATTEMPTS):
            item = self.kv.get(self.key("networks", network))
            if item is None:
                raise NotFound(f"network '{network}' not found in the cluster store ({self.url})")
            record = decode(item.value) or {}
            claims = self.claims(network)
            got = {}
            for version, ip in sorted(wanted.items()):
                if not record.get(family.SUBNET[version]):
                    raise InvalidInput(f"network '{network}' has no IPv{version} subnet")
                if ip is None:
                    got[version] = self.free_address(record, claims, version)
                    continue
                if ip in claims:
                    raise Conflict(f"address {ip} on network '{network}' is already taken by "
                                   f"{claims[ip].get('sandbox')} on host {claims[ip].get('host')}")
                clash = mac_clash(record, ip, claims)
                if clash:
                    raise Conflict(f"address {ip} on network '{network}' would share its MAC with {clash} "
                                   "(an IPv6-only overlay's MACs come from the last 32 bits of the address)")
                got[version] = ip
            epoch = self.kv.get(self.key("epoch", network))
            count = int(epoch.value) + 1 if epoch else 1
            keys = [self.key("ipam", network, ip) for ip in got.values()]
            if self.kv.txn([same(self.key("networks", network), item), *(absent(k) for k in keys)],
                           [*(Put(k, owner) for k in keys), Put(self.key("epoch", network), str(count))]):
                return got
            _jitter()
        raise Conflict(f"could not claim an address on network '{network}' (too much contention); try again")

    def release(self, network: str, ip: str, *more: str) -> None:
        """Forget an endpoint (named by its first address `ip`) and the claims of
        `ip` and `more` (its other addresses); all gone already is fine."""
        ops = [Delete(self.key("endpoints", network, ip))]
        ops += [Delete(self.key("ipam", network, addr)) for addr in (ip, *more)]
        epoch = self.kv.get(self.key("epoch", network))
        if epoch is not None:
            ops.append(Put(self.key("epoch", network), str(int(epoch.value) + 1)))
        self.kv.txn([], ops)

    # -- endpoints ----------------------------------------------------------
    def publish(self, endpoint: dict) -> None:
        """Announce an endpoint (its addresses must be claimed)."""
        net, ip = endpoint["network"], endpoint["ip"]
        record = dict(endpoint, time=round(time.time(), 3))
        claimed = [present(self.key("ipam", net, addr)) for addr in (ip, endpoint.get("ip6")) if addr]
        if not self.kv.txn(claimed, [Put(self.key("endpoints", net, ip), _dump(record))]):
            raise Conflict(f"address {ip} on network '{net}' is not claimed; cannot publish it")

    def unpublish(self, network: str, ip: str) -> None:
        self.kv.txn([], [Delete(self.key("endpoints", network, ip))])

    # -- hosts --------------------------------------------------------------
    def register(self, host: str, address: str, ttl: int, wg: dict | None = None) -> int:
        """Put hosts/HOST under a fresh lease; returns the lease id. `wg`: the
        host's WireGuard public key, port and tunnel address."""
        lease = self.kv.grant(ttl)
        record = {"name": host, "address": address, "time": round(time.time(), 3)}
        if wg:
            record["wg"] = wg
        self.kv.txn([], [Put(self.key("hosts", host), _dump(record), lease)])
        return lease

    def claim_tunnel(self, host: str, subnet, preferred: str | None = None) -> str:
        """This host's tunnel address in `subnet`: the one it claimed before (kept
        across restarts; not leased), else `preferred` or the lowest free one,
        claimed in one transaction so two hosts never share one."""
        subnet = ipaddress.ip_network(subnet)
        for _ in range(MAX_ATTEMPTS):
            items, _ = self.kv.range(self.key("tunnels", ""))
            claims = {i.key.rsplit("/", 1)[1]: (decode(i.value) or {}) for i in items}
            mine = sorted((ip for ip, c in claims.items() if c.get("host") == host), key=ipaddress.ip_address)
            if mine:
                return preferred if preferred in mine else mine[0]
            if preferred and preferred not in claims and ipaddress.ip_address(preferred) in subnet:
                want = preferred
            else:
                want = str(ipam.allocate(subnet, list(claims)))
            owner = _dump({"host": host, "time": round(time.time(), 3)})
            if self.kv.txn([absent(self.key("tunnels", want))], [Put(self.key("tunnels", want), owner)]):
                return want
            _jitter()
        raise Conflict(f"could not claim a tunnel address for host '{host}' (too much contention); try again")

    def keepalive(self, lease: int) -> bool:
        return self.kv.keepalive(lease) > 0

    def unregister(self, lease: int) -> None:
        self.kv.revoke(lease)

    def watch(self, start_rev: int):
        return self.kv.watch(self.prefix, start_rev)


def mac_clash(network: dict, ip: str, taken) -> str | None:
    """The claimed address of `taken` whose endpoint would get the same MAC as
    `ip`'s: only on a network without IPv4, where MACs come from IPv6 addresses."""
    if network.get("subnet") or family.version_of(ip) != 6:
        return None
    mine = endpoint_mac(ip)
    return next((other for other in taken if family.version_of(other) == 6 and other != ip
                 and endpoint_mac(other) == mine), None)


def _jitter() -> None:
    time.sleep(random.uniform(0.001, 0.01))
