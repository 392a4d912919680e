"""What the kernel holds for one engine: every namespace it could touch, with
links, addresses and routes of both families. Tests compare it before/after refused calls.
Transient things (carrier flags, IPv6 DAD state) are left out on purpose."""

import json

from .helpers import sh


def _ip_json(ns: str, *args) -> list:
    return json.loads(sh("ip", "-j", "-n", ns, *args).stdout or "[]")


def ns_state(ns: str) -> dict:
    links = sorted(
        (link["ifname"], link.get("mtu"), link.get("master"), bool("UP" in link.get("flags", [])))
        for link in _ip_json(ns, "link", "show")
    )
    addrs = sorted(
        (entry["ifname"], a["local"], a["prefixlen"])
        for entry in _ip_json(ns, "addr", "show")
        for a in entry.get("addr_info", [])
        if a.get("family") in ("inet", "inet6")
    )
    routes = sorted(
        (r.get("dst"), r.get("gateway"), r.get("dev"), r.get("protocol"))
        for family in ("-4", "-6") for r in _ip_json(ns, family, "route", "show")
    )
    return {"links": links, "addrs": addrs, "routes": routes}


def kernel_snapshot(host) -> dict:
    state = {"host": ns_state(host.name)}
    for ns in host.sandbox_namespaces():
        state[ns] = ns_state(ns)
    return state


def full_snapshot(host) -> dict:
    return {"kernel": kernel_snapshot(host), "store": host.engine.store.snapshot()}
