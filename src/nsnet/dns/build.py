"""The DNS server's view of the state store: which networks resolve names,
which names and addresses they hold, which sandboxes ask (and see which
networks), and the host's upstream resolvers.

Pure functions of a Store: the engine uses them to answer `dns status`, the
server (started with --state-dir) to reload after every committed change."""

import os

_LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


def _label(label: str) -> bool:
    """1-63 letters, digits and '-', not at either end (no `re`: the server imports this)."""
    return 0 < len(label) <= 63 and label[0] != "-" and label[-1] != "-" and _LABEL_CHARS.issuperset(label)


def dns_name(text: str) -> str | None:
    """Lower-cased DNS name, or None if `text` cannot be one ('a_b', '-x')."""
    name = text.lower().rstrip(".")
    if not name or len(name) > 253 or not all(_label(label) for label in name.split(".")):
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
    """The server's config: per network its records (sandbox names and
    aliases, with their addresses of both families) and whether unknown names
    go upstream (not for internal networks); per sandbox on a DNS network
    ("asker") its namespace and its networks, the one with its default route
    first, and whether it has an IPv6 address there (then its resolver
    listens on ::1 too)."""
    nets = dns_networks(store)
    names = {n["name"] for n in nets}
    by_sandbox: dict[str, list[dict]] = {}
    for ep in store.endpoints():
        if ep["network"] in names and (ep["ip"] or ep["ip6"]):
            by_sandbox.setdefault(ep["sandbox"], []).append(ep)
    networks = {}
    for net in nets:
        networks[net["name"]] = {"records": {}, "forward": not (net.get("options") or {}).get("internal", False)}
    for sandbox, eps in by_sandbox.items():
        for ep in eps:
            records = networks[ep["network"]]["records"]
            for name in [dns_name(sandbox), *(ep.get("options") or {}).get("aliases", [])]:
                if name:
                    records.setdefault(name, []).extend(a for a in (ep["ip"], ep["ip6"]) if a)
    sandboxes = {}
    for sb in store.sandboxes():
        eps = by_sandbox.get(sb["name"])
        if eps and sb["mode"] == "netns":
            eps = sorted(eps, key=lambda ep: (not (ep["is_gateway"] or ep["is_gateway6"]), ep["id"]))
            sandboxes[sb["name"]] = {"netns": sb["netns"], "networks": [ep["network"] for ep in eps]}
            if any(ep["ip6"] for ep in eps):  # its resolver answers over IPv6 too
                sandboxes[sb["name"]]["ipv6"] = True
    return {"upstreams": upstreams(host_netns), "networks": networks, "sandboxes": sandboxes}
