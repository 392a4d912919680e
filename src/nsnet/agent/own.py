"""The cluster store's record of this host's own endpoints, made to match the
local store (the truth for what is attached here): local endpoints missing
from the cluster store are published again (after etcd lost data, or a publish
that failed); endpoints and claims of this host that no local sandbox has any
more (a disconnect while etcd was down, a crash between claim and commit) are
released once they are older than GRACE seconds (a connect in flight is younger)."""

import time

from ..drivers.overlay import endpoint_mac
from ..errors import NsnetError

GRACE = 30.0


def local_endpoints(engine) -> dict[tuple[str, str], dict]:
    """{(network, ip): endpoint row, with "vtep": this host's VTEP address on that network}."""
    out = {}
    for net in engine.network_rows(driver="overlay"):
        for ep in engine.endpoint_rows(network=net["name"]):
            if ep["ip"]:
                out[(net["name"], ep["ip"])] = dict(ep, vtep=net["options"].get("local"))
    return out


def reconcile_own(engine, view, host: dict, now: float | None = None) -> list[str]:
    """Returns one line per change made (or refused)."""
    cluster, me = engine.cluster, host["name"]
    now = time.time() if now is None else now
    local = local_endpoints(engine)
    eps, claims = view.mine(me)
    notes = []
    for (net, ip), ep in sorted(local.items()):
        if (net, ip) in eps or net not in view.networks:
            continue
        claim = view.state["claims"].get((net, ip))
        try:
            if claim is None:
                cluster.claim(net, me, ep["sandbox"], ip)
            elif claim.get("host") != me:
                notes.append(f"{ip} of sandbox {ep['sandbox']} on {net} is claimed by host {claim.get('host')}: "
                             "not published")
                continue
            cluster.publish({"network": net, "ip": ip, "mac": endpoint_mac(ip), "host": me,
                             "vtep": ep.get("vtep") or host["address"], "sandbox": ep["sandbox"]})
            notes.append(f"published {ep['sandbox']} {ip} on {net} again")
        except NsnetError as exc:
            notes.append(f"could not publish {ep['sandbox']} {ip} on {net}: {exc}")
    for key in sorted(set(eps) | set(claims)):
        record = eps.get(key) or claims.get(key)
        if key in local or now - float(record.get("time", 0)) < GRACE:
            continue
        cluster.release(*key)
        notes.append(f"released stale {key[1]} on {key[0]} (sandbox {record.get('sandbox')} is not here)")
    return notes
