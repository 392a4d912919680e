"""The DNS server's view of the state store: which networks resolve names,
which names and addresses they hold, and the host's upstream resolvers.

Pure functions of a Store: the engine uses them to answer `dns status`, the
server (started with --state-dir) to reload after every committed change."""

import os
import re

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def dns_name(text: str) -> str | None:
    """Lower-cased DNS name, or None if `text` cannot be one ('a_b', '-x')."""
    name = text.lower().rstrip(".")
    if not name or len(name) > 253 or not all(_LABEL.match(label) for label in name.split(".")):
        return None
    return name


def upstreams(host_netns: str | None) -> list[str]:
    """The host namespace's resolvers: /etc/netns/HOST/resolv.conf as `ip netns
    exec` would give it, else /etc/resolv.conf."""
    candidates = ([f"/etc/netns/{host_netns}/resolv.conf"] if host_netns else []) + ["/etc/resolv.conf"]
    for path in candidates:
        if os.path.exists(path):
            with open(path) as f:
                return [line.split()[1] for line in f if line.startswith("nameserver") and len(line.split()) > 1]
    return []


def dns_networks(store) -> list[dict]:
    return [n for n in store.networks() if n["bridge"] and (n.get("options") or {}).get("dns", True)]


def build_config(store, host_netns: str | None) -> dict:
    """The server's config: per network its listen address (the gateway), its
    records (sandbox names and aliases), whether unknown names go upstream
    (not for internal networks), and per multi-homed sandbox the other
    networks whose names it may resolve too."""
    nets = dns_networks(store)
    names = {n["name"] for n in nets}
    by_sandbox: dict[str, list[dict]] = {}
    for ep in store.endpoints():
        if ep["network"] in names and ep["ip"]:
            by_sandbox.setdefault(ep["sandbox"], []).append(ep)
    config = {"upstreams": [], "networks": {}}
    for net in nets:
        records: dict[str, list[str]] = {}
        views: dict[str, list[str]] = {}
        for sandbox, eps in by_sandbox.items():
            mine = [ep for ep in eps if ep["network"] == net["name"]]
            if not mine:
                continue
            ep = mine[0]
            for name in [dns_name(sandbox), *(ep.get("options") or {}).get("aliases", [])]:
                if name:
                    records.setdefault(name, []).append(ep["ip"])
            others = [e["network"] for e in eps if e["network"] != net["name"]]
            if others:
                views[ep["ip"]] = others
        internal = (net.get("options") or {}).get("internal", False)
        config["networks"][net["name"]] = {"listen": [net["gateway"]], "records": records,
                                           "forward": not internal, "views": views}
    gateways = {n["gateway"] for n in nets}
    config["upstreams"] = [u for u in upstreams(host_netns) if u not in gateways]
    return config
