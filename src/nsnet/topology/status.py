"""`status`: what of the file exists, what is missing, what changed in the file,
what drifted in the kernel, and what the topology owns that the file dropped.
Read-only; one store read and one kernel dump per namespace."""

from collections import Counter
from dataclasses import asdict, dataclass

from .. import family
from ..errors import NsnetError
from . import commands, diff
from .model import Topology

OK, MISSING, CHANGED, DRIFTED, EXTRA, CONFLICT = "ok", "missing", "changed", "drifted", "extra", "conflict"


class Differs(NsnetError):
    """The kernel or the store does not match the file (status exits non-zero)."""

    exit_code = 1


@dataclass
class Row:
    kind: str
    name: str
    state: str
    detail: str = ""


def status(engine, topo: Topology) -> list[Row]:
    state = diff.State.read(engine)
    mine_sbs = state.owned(topo.name, "sandbox")
    mine_nets = state.owned(topo.name, "network")
    rows = _networks(topo, state, mine_nets) + _sandboxes(topo, state, mine_sbs)
    rows += _links(topo, state, mine_sbs | set(topo.sandboxes))
    rows += [Row("sandbox", n, EXTRA, "not in the file; `up` removes it")
             for n in sorted(mine_sbs - set(topo.sandboxes)) if n in state.sandboxes]
    rows += [Row("network", n, EXTRA, "not in the file; `up` removes it")
             for n in sorted(mine_nets - set(topo.networks)) if n in state.networks]
    rows = _drift(engine, rows)
    rows += [Row("host", "dns", DRIFTED, problem) for problem in engine.dns_check()]
    rows += commands.status_rows(engine, topo, Row)
    return rows


def summary(rows: list[Row]) -> str | None:
    """None when everything is ok, else a one-line count of the rest."""
    counts = Counter(row.state for row in rows if row.state != OK)  # in the order first met
    return ", ".join(f"{n} {state}" for state, n in counts.items()) or None


def to_dicts(rows: list[Row]) -> list[dict]:
    return [asdict(r) for r in rows]


def _conflict(kind, name, state, topo) -> Row:
    owner = state.owners.get((kind, name))
    return Row(kind, name, CONFLICT, f"exists outside topology '{topo.name}'"
               + (f" (in topology '{owner}')" if owner else ""))


def _networks(topo, state, mine) -> list[Row]:
    rows = []
    for name, spec in topo.networks.items():
        row = state.networks.get(name)
        if row is None:
            rows.append(Row("network", name, MISSING))
        elif name not in mine:
            rows.append(_conflict("network", name, state, topo))
        else:
            why = diff.network_change(spec, row)
            rows.append(Row("network", name, CHANGED if why else OK, why or _net_detail(row)))
    return rows


def _net_detail(row) -> str:
    subnets = ", ".join(f"{row[s]} gw {row[g]}" for s, g in (("subnet", "gateway"), ("subnet6", "gateway6"))
                        if row.get(s))
    return f"{subnets} on {row['bridge']}" if subnets else row["driver"]


def _sandboxes(topo, state, mine) -> list[Row]:
    rows, statics = [], diff.static_ips(topo)
    replaced = diff.replaced_networks(topo, state)
    drop_routes, add_routes = diff.route_changes(topo, state, mine & set(topo.sandboxes))
    drop_ports, add_ports = diff.port_changes(topo, state, mine & set(topo.sandboxes))
    remade = diff.replaced_sandboxes(topo, state)
    for name in topo.sandboxes:
        if name not in state.sandboxes:
            rows.append(Row("sandbox", name, MISSING))
            continue
        if name not in mine:
            rows.append(_conflict("sandbox", name, state, topo))
            continue
        drop, make = diff.endpoint_changes(topo, state, name, replaced, statics)
        why = [f"re-create: {remade[name]}"] if name in remade else []
        why += [f"detach {net}: {reason}" for net, reason in drop]
        why += [f"attach {a.network}" for a in make if a.network not in {n for n, _ in drop}]
        why += [f"route {dest}: {reason}" for sb, dest, reason in drop_routes if sb == name]
        why += [f"add route {r.dest} via {r.via}" for sb, r in add_routes if sb == name
                and not any(d[0] == sb and d[1] == r.dest for d in drop_routes)]
        why += [f"unpublish {diff.port_text(p)}: not in the file" for sb, p in drop_ports if sb == name]
        why += [f"publish {diff.port_text(p)}" for sb, p in add_ports if sb == name]
        eps = ", ".join(f"{ep['network']}:{ep['ifname']} {','.join(family.addresses(ep))}"
                        if family.addresses(ep) else ep["network"] for ep in state.endpoints.get(name, []))
        rows += [Row("sandbox", name, CHANGED, reason) for reason in why] or [Row("sandbox", name, OK, eps)]
    return rows


def _links(topo, state, managed) -> list[Row]:
    drop, add = diff.link_changes(topo, state, managed)
    rows = []
    missing = {link.key for link in add}
    for link in topo.links:
        name = f"{link.a}<->{link.b}"
        changed = next((why for row, why in drop if tuple(sorted((row["a"], row["b"]))) == link.key), None)
        if changed:
            rows.append(Row("link", name, CHANGED, changed))
        elif link.key in missing:
            rows.append(Row("link", name, MISSING))
        else:
            ends = [",".join(c for c in cidrs if c) for cidrs in ((link.ip_a, link.ip6_a), (link.ip_b, link.ip6_b))]
            rows.append(Row("link", name, OK, f"{link.ifname_a} {ends[0]} <-> {link.ifname_b} {ends[1]}".strip()))
    rows += [Row("link", f"{row['a']}<->{row['b']}", EXTRA, "not in the file")
             for row, why in drop if why == "not in the file"]
    return rows


def _drift(engine, rows: list[Row]) -> list[Row]:
    """`rows` with a row for every drift of the objects that exist: what the
    kernel lacks and what it has that nsnet did not put there (a changed object
    shows its changes and its drift: one never hides the other)."""
    targets = sorted({r.name for r in rows if r.state in (OK, CHANGED) and r.kind in ("sandbox", "network")})
    if not targets:
        return rows
    found: dict[tuple[str, str], list[Row]] = {}
    for d in engine.drift(target=targets):
        for owner in d.owners or [f"host {d.step.kind}"]:  # a link's cable: both its sandboxes
            kind, name = owner.split(" ", 1)
            found.setdefault((kind, name), []).append(Row(kind, name, DRIFTED, d.problem))
    out = []
    for row in rows:
        drifts = found.pop((row.kind, row.name), [])
        out += drifts if drifts and row.state == OK else [row] + drifts
    return out + [row for key in sorted(found) for row in found[key]]  # the host's own (the firewall table)
