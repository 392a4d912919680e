"""The cluster store's record of this host's own endpoints, made to match the
local store (the truth for what is attached here): local endpoints missing
from the cluster store are published again (after etcd lost data, or a publish
that failed); endpoints and claims of this host that no local sandbox has any
more (a disconnect while etcd was down, a crash between claim and commit) are
released once they are older than GRACE seconds (a connect in flight is younger)."""

import time

from .. import family
from ..drivers.overlay import endpoint_record
from ..errors import NsnetError

GRACE = 30.0


def local_endpoints(engine) -> dict[tuple[str, str], dict]:
    """{(network, first address): endpoint row, with "vtep": this host's VTEP address on that network}."""
    out = {}
    for net in engine.network_rows(driver="overlay"):
        for ep in engine.endpoint_rows(network=net["name"]):
            if family.first_address(ep):
                out[(net["name"], family.first_address(ep))] = dict(ep, vtep=net["options"].get("local"))
    return out


def reconcile_own(engine, view, host: dict, now: float | None = None) -> list[str]:
    """Returns one line per change made (or refused)."""
    cluster, me = engine.cluster, host["name"]
    now = time.time() if now is None else now
    local = local_endpoints(engine)
    held = {(net, ip) for (net, _), ep in local.items() for ip in family.addresses(ep)}  # every local address
    eps, claims = view.mine(me)
    notes = []
    for (net, ip), ep in sorted(local.items()):
        if (net, ip) in eps or net not in view.networks:
            continue
        owners = {addr: view.state["claims"].get((net, addr)) for addr in family.addresses(ep)}
        theirs = [(addr, c.get("host")) for addr, c in owners.items() if c is not None and c.get("host") != me]
        if theirs:
            notes.append(f"{theirs[0][0]} of sandbox {ep['sandbox']} on {net} is claimed by host {theirs[0][1]}: "
                         "not published")
            continue
        try:
            missing = {family.version_of(addr): addr for addr, c in owners.items() if c is None}
            if missing:
                cluster.claim_addresses(net, me, ep["sandbox"], missing)
            cluster.publish({"network": net, **endpoint_record(ep), "host": me,
                             "vtep": ep.get("vtep") or host["address"], "sandbox": ep["sandbox"]})
            notes.append(f"published {ep['sandbox']} {ip} on {net} again")
        except NsnetError as exc:
            notes.append(f"could not publish {ep['sandbox']} {ip} on {net}: {exc}")
    released = set()
    for key in sorted(set(eps) | set(claims)):
        record = eps.get(key) or claims.get(key)
        if key in held or key in released or now - float(record.get("time", 0)) < GRACE:
            continue
        more = [record["ip6"]] if record.get("ip6") else []  # a dual-stack endpoint's other claim goes with it
        cluster.release(*key, *more)
        released |= {(key[0], ip) for ip in more}
        notes.append(f"released stale {key[1]} on {key[0]} (sandbox {record.get('sandbox')} is not here)")
    return notes
