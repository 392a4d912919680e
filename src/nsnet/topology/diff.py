"""The file against the state: what is missing, what changed, what is extra.
Pure functions over one bulk read of the state through the engine (State),
shared by `up` (which re-reads between phases) and `status`."""

from dataclasses import dataclass

from .. import family
from ..drivers import DRIVERS
from ..firewall.ports import parse_publish
from ..names import HOST_NAME_MAX, bridge_name
from .model import Attachment, Link, Route, Topology
from .validate import gateway_of


@dataclass
class State:
    networks: dict
    sandboxes: dict
    endpoints: dict  # sandbox -> [endpoint rows]
    links: list
    routes: dict  # sandbox -> [route rows]
    owners: dict  # (kind, name) -> topology
    ports: dict  # sandbox -> {(host_ip, host_port, proto, sandbox_port)}

    @classmethod
    def read(cls, engine) -> "State":
        endpoints, routes = {}, {}
        for ep in engine.endpoint_rows():
            endpoints.setdefault(ep["sandbox"], []).append(ep)
        for route in engine.route_ls():
            routes.setdefault(route["sandbox"], []).append(route)
        ports: dict = {}
        for row in engine.port_ls():
            ports.setdefault(row["sandbox"], set()).add(
                (row["host_ip"] or "", row["host_port"], row["proto"], row["sandbox_port"]))
        return cls({n["name"]: n for n in engine.network_rows()}, {s["name"]: s for s in engine.sandbox_rows()},
                   endpoints, engine.link_ls(), routes, engine.topology_owners(), ports)

    def owned(self, topology: str, kind: str) -> set[str]:
        return {name for (k, name), t in self.owners.items() if k == kind and t == topology}


def network_change(spec, row) -> str | None:
    """Why the recorded network differs from the file (None: it does not)."""
    diffs = []
    if row["driver"] != spec.driver:
        return f"driver {row['driver']} -> {spec.driver}"
    if DRIVERS[spec.driver].uses_subnet:
        for version in (4, 6):  # a family the file wants and the row lacks, or the other way round
            has, wants = bool(row[family.SUBNET[version]]), version in spec.versions()
            if has != wants:
                diffs.append(f"IPv{version} {'yes' if has else 'no'} -> {'yes' if wants else 'no'}")
        for what, have, want in (("subnet", row["subnet"], spec.subnet), ("gateway", row["gateway"], gateway_of(spec)),
                                 ("subnet", row["subnet6"], spec.subnet6),
                                 ("gateway", row["gateway6"], gateway_of(spec, 6)),
                                 ("mtu", row["mtu"], spec.mtu),
                                 ("bridge", row["bridge"], spec.bridge or bridge_name(spec.name))):
            if (want is not None and have != want) or (what == "mtu" and have != want):
                diffs.append(f"{what} {have or '-'} -> {want or '-'}")
    options = row.get("options") or {}
    flags = [(key, bool(options.get(key, default)), getattr(spec, key))
             for key, default in (("internal", False), ("masquerade", True), ("direct_routing", False))]
    flags += [(key, options.get(key) or False, spec.options.get(key) or False)  # the driver's own (--opt), absent: off
              for key in sorted(DRIVERS[spec.driver].options)]
    diffs += [f"{key} {have} -> {want}" for key, have, want in flags if have != want]
    return ", ".join(diffs) or None


def replaced_sandboxes(topo: Topology, state: State) -> dict[str, str]:
    """Sandboxes of the file whose hostname differs from the one they were made
    with: {name: why}. A hostname is its UTS namespace's, made once: `up` makes
    the sandbox again (its commands start again in it)."""
    out = {}
    for name, spec in topo.sandboxes.items():
        row = state.sandboxes.get(name)
        if row is None or (row.get("options") or {}).get("external"):
            continue
        have = (row.get("options") or {}).get("hostname") or name[:HOST_NAME_MAX]
        want = spec.hostname or name[:HOST_NAME_MAX]
        if have != want:
            out[name] = f"hostname {have} -> {want}"
    return out


def conflicts(topo: Topology, state: State) -> list[str]:
    """Objects the file names that exist, or that another topology claimed (its
    `up` may be making them right now), and are not this topology's."""
    out = []
    for kind, names, rows in (("network", topo.networks, state.networks),
                              ("sandbox", topo.sandboxes, state.sandboxes)):
        for name in names:
            owner = state.owners.get((kind, name))
            if owner is not None and owner != topo.name:
                what = "already exists" if name in rows else "is claimed"
                out.append(f"{kind} '{name}' {what} and is not part of topology '{topo.name}' (it belongs "
                           f"to topology '{owner}'); remove it or rename it in the file")
            elif name in rows and owner is None:
                out.append(f"{kind} '{name}' already exists and is not part of topology '{topo.name}' "
                           "(it was made outside any topology); remove it or rename it in the file")
    return out


def foreign_endpoints(topo: Topology, state: State, network: str) -> list[str]:
    """Sandboxes attached to `network` that this topology does not own."""
    mine = state.owned(topo.name, "sandbox") | set(topo.sandboxes)
    return sorted(ep["sandbox"] for eps in state.endpoints.values() for ep in eps
                  if ep["network"] == network and ep["sandbox"] not in mine)


def replaced_networks(topo: Topology, state: State) -> dict[str, str]:
    """Networks of the file recorded with other settings: name -> why."""
    out = {}
    for name, spec in topo.networks.items():
        row = state.networks.get(name)
        reason = network_change(spec, row) if row else None
        if reason:
            out[name] = reason
    return out


def static_ips(topo: Topology) -> dict[tuple[str, str], str]:
    return {(a.network, ip): sb.name for sb in topo.sandboxes.values() for a in sb.attachments
            for ip in (a.ip, a.ip6) if ip}


def endpoint_changes(topo: Topology, state: State, sandbox: str, replaced=(),
                     statics=None) -> tuple[list[tuple[str, str]], list[Attachment]]:
    """For a sandbox that exists: endpoints to drop [(network, why)] and attachments to make."""
    spec = topo.sandboxes[sandbox]
    statics = static_ips(topo) if statics is None else statics
    current = {ep["network"]: ep for ep in state.endpoints.get(sandbox, [])}
    wanted = {a.network: a for a in spec.attachments}
    drop = []
    for net, ep in current.items():
        att = wanted.get(net)
        if att is None:
            why = "not in the file"
        elif net in replaced:
            why = f"network '{net}' is re-created"
        elif att.ifname and ep["ifname"] != att.ifname:
            why = f"ifname {ep['ifname']} -> {att.ifname}"
        else:
            why = _address_change(att, ep, statics, net, sandbox)
            if why is None:
                continue
        drop.append((net, why))
    dropped = {net for net, _ in drop}
    make = [a for a in spec.attachments if a.network not in current or a.network in dropped]
    return drop, make


def _address_change(att: Attachment, ep: dict, statics: dict, net: str, sandbox: str) -> str | None:
    """Why the endpoint's addresses do not do for the attachment (None: they do)."""
    for given, have in ((att.ip, ep["ip"]), (att.ip6, ep["ip6"])):
        if given and have != given:
            return f"ip {have} -> {given}"
        if not given and have and statics.get((net, have), sandbox) != sandbox:
            return f"ip {have} is given to sandbox '{statics[(net, have)]}' in the file"
    return None


def _ends(link: dict) -> dict:
    """{sandbox: (ifname, ip, ip6)} of a link row (or vars() of a Link): either way round."""
    return {link[side]: (link[f"ifname_{side}"], link[f"ip_{side}"], link[f"ip6_{side}"]) for side in ("a", "b")}


def link_changes(topo: Topology, state: State, managed: set[str]) -> tuple[list, list[Link]]:
    """Links among `managed` sandboxes: rows to remove [(row, why)], links to add."""
    wanted = {link.key: link for link in topo.links}
    drop, keep = [], set()
    for row in state.links:
        if row["a"] not in managed or row["b"] not in managed:
            continue
        key = tuple(sorted((row["a"], row["b"])))
        spec = wanted.get(key)
        if spec is None:
            drop.append((row, "not in the file"))
        elif _ends(row) != _ends(vars(spec)):
            drop.append((row, "interface names or addresses changed"))
        else:
            keep.add(key)
    return drop, [link for key, link in wanted.items() if key not in keep]


def route_changes(topo: Topology, state: State, managed: set[str]) -> tuple[list, list]:
    """Routes of existing `managed` sandboxes: [(sandbox, dest, why)] to remove and
    [(sandbox, Route)] to add."""
    drop, add = [], []
    for name in sorted(managed):
        if name not in state.sandboxes:
            continue
        have = {r["dest"]: r for r in state.routes.get(name, [])}
        spec = topo.sandboxes.get(name)
        want: dict[str, Route] = {r.dest: r for r in spec.routes} if spec else {}
        for dest, row in have.items():
            if dest not in want:
                drop.append((name, dest, "not in the file"))
            elif want[dest].via != row["via"]:
                drop.append((name, dest, f"via {row['via']} -> {want[dest].via}"))
        for dest, route in want.items():
            if dest not in have or have[dest]["via"] != route.via:
                add.append((name, route))
    return drop, add


def port_text(port: tuple) -> str:
    host_ip, host_port, proto, sandbox_port = port
    return f"{host_ip + ':' if host_ip else ''}{host_port}:{sandbox_port}/{proto}"


def port_changes(topo: Topology, state: State, sandboxes) -> tuple[list, list]:
    """Published ports of existing sandboxes: [(sandbox, port)] to withdraw and to
    publish, one port each (port: (host_ip, host_port, proto, sandbox_port))."""
    drop, add = [], []
    for name in sandboxes:
        if name not in state.sandboxes or name not in topo.sandboxes:
            continue
        have = state.ports.get(name, set())
        want = {(p.host_ip, p.host_port, p.proto, p.sandbox_port) for text in topo.sandboxes[name].publish
                for p in parse_publish(text)}
        drop += [(name, p) for p in sorted(have - want)]
        add += [(name, p) for p in sorted(want - have)]
    return drop, add
