"""`up`: make the state and the kernel match the file.

Phases, each reading the state afresh: remove what the file dropped (sandboxes,
links, routes, endpoints, networks; changed objects are removed and made
again), create what is missing (networks, sandboxes with their attachments,
links, routes), then repair drift in what was already there. Every step is
an ordinary engine call, so validation, rollback and the store stay the
engine's. A dry run makes the same calls with dry_run=True inside one
rehearsal (engine.rehearsal: nothing is kept), so later calls see earlier ones.

All or nothing: if a call fails half-way (a host port taken, SIGTERM), what
this `up` made is removed again, newest first, and the names it claimed are
released; what it removed because the file no longer lists it stays removed.
"""

import ipaddress

from .. import interrupt, ipam
from ..errors import Conflict, NsnetError, RollbackError
from . import commands, diff
from .addresses import AddressPlan
from .model import Topology
from .runner import Outcome, Runner


def claim_or_refuse(engine, topo: Topology) -> diff.State:
    state = diff.State.read(engine)
    problems = diff.conflicts(topo, state)
    replaced = diff.replaced_networks(topo, state)
    gone = state.owned(topo.name, "network") - set(topo.networks)
    for name in sorted(set(replaced) | gone):
        who = diff.foreign_endpoints(topo, state, name)
        if who and name in state.networks:
            problems.append(f"network '{name}' must be re-created or removed but sandboxes outside "
                            f"topology '{topo.name}' are attached ({', '.join(who)})")
    problems += _overlaps_outside(topo, state)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise Conflict(problems[0] + more)
    return state


def _overlaps_outside(topo: Topology, state: diff.State) -> list[str]:
    """Subnets of the file (networks, links) that overlap a network this `up`
    keeps and does not own: refused before anything is claimed or made."""
    mine = state.owned(topo.name, "network")
    out = []
    for column, end in (("subnet", "ip_a"), ("subnet6", "ip6_a")):  # each family on its own
        others = {name: ipaddress.ip_network(row[column]) for name, row in state.networks.items()
                  if row.get(column) and name not in mine and name not in topo.networks}
        index = ipam.SubnetIndex(others)
        wanted = [(f"network '{n.name}'", ipaddress.ip_network(getattr(n, column)))
                  for n in topo.networks.values() if getattr(n, column)]
        wanted += [(f"the link {link.a} <-> {link.b}", ipaddress.ip_interface(getattr(link, end)).network)
                   for link in topo.links if getattr(link, end)]
        for what, subnet in wanted:
            clash = index.find(subnet)
            if clash:
                out.append(f"the subnet of {what} ({subnet}) overlaps network '{clash}' ({others[clash]}), "
                           f"which is not part of topology '{topo.name}'")
    return out


def up(engine, topo: Topology, dry_run: bool = False, progress=None) -> Outcome:
    out = Outcome(topo.name, dry_run)
    run = Runner(engine, out, progress)
    if not dry_run:
        engine.require_privileges()
        out.warnings.extend(engine.settle())  # a killed change first: a file that is up makes no change
        # The check and the claim in one store transaction: of two `up`s at once
        # that name the same object, one claims it and the other is refused.
        with engine.topology_transaction():
            state = claim_or_refuse(engine, topo)
            engine.topology_claim(topo.name, networks=topo.networks, sandboxes=topo.sandboxes)
        return _converge(engine, topo, state, run)
    state = claim_or_refuse(engine, topo)
    repair = _dry_repair(engine, topo, state)
    with engine.rehearsal():
        _converge(engine, topo, state, run, repair=False)
    if repair:
        out.changes.extend(f"~ repair {owner}" for owner in repair["owners"])
        out.commands.extend(["# ~ repair drift"] + repair["commands"])
    return out


def _dry_repair(engine, topo, state) -> dict | None:
    """The drift repair of the objects this topology had and keeps as they are."""
    replaced = set(diff.replaced_networks(topo, state))
    targets = ([s for s in topo.sandboxes if s in state.sandboxes]
               + [n for n in topo.networks if n in state.networks and n not in replaced])
    drift = engine.drift(target=targets, exclude=replaced)
    if not drift:
        return None
    result = engine.repair(target=targets, exclude=replaced, dry_run=True)
    owner_names = sorted({d.owners[0] if d.owners else f"host {d.step.kind}" for d in drift})
    return {"owners": owner_names, "commands": result.get("commands", [])}


def _converge(engine, topo: Topology, state: diff.State, run: Runner, repair: bool = True) -> Outcome:
    name = topo.name
    before_sbs, before_nets = set(state.sandboxes), set(state.networks)
    replaced = set(diff.replaced_networks(topo, state))
    engine.topology_claim(name, networks=topo.networks, sandboxes=topo.sandboxes)
    claimed = {"networks": set(topo.networks) - state.owned(name, "network"),
               "sandboxes": set(topo.sandboxes) - state.owned(name, "sandbox")}
    run.forget()
    owned_sbs = run.state().owned(name, "sandbox")
    try:
        _removals(engine, topo, run, owned_sbs)
        _creations(engine, topo, run, owned_sbs)
    except BaseException as exc:
        if not run.out.dry_run:
            _roll_back(engine, topo, run, claimed, exc)
        raise
    state = run.state()
    engine.topology_release(name, networks=state.owned(name, "network") - set(topo.networks),
                            sandboxes=state.owned(name, "sandbox") - set(topo.sandboxes))
    if repair:
        fresh = (set(topo.sandboxes) - before_sbs) | (set(topo.networks) - before_nets) | replaced
        targets = [n for n in list(topo.sandboxes) + list(topo.networks) if n not in fresh]
        _repair(engine, run, targets, fresh)
        _repair_dns(engine, run)
    commands.converge(engine, topo, run)
    return run.out


def _roll_back(engine, topo: Topology, run: Runner, claimed: dict, exc: BaseException) -> None:
    """Remove what this `up` made and release the names it claimed (SIGTERM waits)."""
    with interrupt.deferred():
        done, errors = run.roll_back()
        try:
            engine.topology_release(topo.name, **claimed)
        except NsnetError as release_exc:
            errors.append(str(release_exc))
    if errors:
        raise RollbackError(f"{exc}; rolling back `up` also failed: {'; '.join(errors)}") from exc
    if isinstance(exc, NsnetError) and done:
        exc.args = (f"{exc} (`up` of '{topo.name}' rolled back: {done} change(s) undone)",)


def _removals(engine, topo: Topology, run: Runner, owned_sbs: set[str]) -> None:
    state = run.state()
    for sb in run.expect(sorted(sb for sb in owned_sbs - set(topo.sandboxes) if sb in state.sandboxes)):
        run.call(f"- sandbox '{sb}'", engine.sandbox_rm, sb)
    for sb, why in run.expect(diff.replaced_sandboxes(topo, state).items()):
        run.call(f"~ sandbox '{sb}' re-created ({why})", engine.sandbox_rm, sb)
    state = run.state()
    drop_links, _ = diff.link_changes(topo, state, owned_sbs)
    for row, why in run.expect(drop_links):
        run.call(f"- link '{row['a']}' <-> '{row['b']}' ({why})", engine.link_rm, row["a"], row["b"])
    state = run.state()
    drop_routes, _ = diff.route_changes(topo, state, owned_sbs)
    for sb, dest, why in run.expect(drop_routes):
        run.call(f"- route '{sb}' {dest} ({why})", engine.route_rm, sb, dest)
    state = run.state()
    drop_ports, _ = diff.port_changes(topo, state, topo.sandboxes)
    for sb, port in run.expect(drop_ports):
        # Published by hand (or by an older file) on a sandbox the file owns: the
        # file decides, and the output says so (never withdrawn silently).
        run.call(f"- port '{sb}' {diff.port_text(port)} (not in the file)", engine.port_unpublish, sb,
                 [diff.port_text(port)])
    state = run.state()
    replaced = diff.replaced_networks(topo, state)
    statics = diff.static_ips(topo)
    drops = [(sb, net, why) for sb in topo.sandboxes if sb in state.sandboxes
             for net, why in diff.endpoint_changes(topo, state, sb, replaced, statics)[0]]
    for sb, net, why in run.expect(drops):
        run.call(f"- attachment '{sb}' to '{net}' ({why})", engine.network_disconnect, net, sb)
    state = run.state()
    for net in run.expect(sorted(n for n in state.owned(topo.name, "network") - set(topo.networks)
                                 if n in state.networks)):
        run.call(f"- network '{net}'", engine.network_rm, net, force=True)
    for net, why in run.expect(replaced.items()):
        run.call(f"~ network '{net}' re-created ({why})", engine.network_rm, net, force=True)


def _creations(engine, topo: Topology, run: Runner, owned_sbs: set[str]) -> None:
    state = run.state()
    for net in run.expect(n for n in topo.networks.values() if n.name not in state.networks):
        run.undo_by(engine.network_rm, net.name, force=True)
        run.call(f"+ network '{net.name}'", engine.network_create, net.name, driver=net.driver,
                 subnet=[s for s in (net.subnet, net.subnet6) if s] or None,
                 gateway=[g for g in (net.gateway, net.gateway6) if g] or None, ipv6=net.ipv6,
                 mtu=net.mtu, bridge=net.bridge, internal=net.internal, masquerade=net.masquerade,
                 direct_routing=net.direct_routing, options=net.options)
    state = run.state()
    ips = AddressPlan(topo, engine)
    before = set(state.sandboxes)
    makes = {sb.name: diff.endpoint_changes(topo, state, sb.name)[1] for sb in topo.sandboxes.values()
             if sb.name in state.sandboxes}
    run.expect(range(sum(len(make) for make in makes.values())
                     + sum(_calls(sb) for sb in topo.sandboxes.values() if sb.name not in makes)))
    for sb in topo.sandboxes.values():
        if sb.name not in makes:
            _create_sandbox(engine, run, sb, ips)
            continue
        for att in makes[sb.name]:
            run.undo_by(engine.network_disconnect, att.network, sb.name)
            run.call(f"+ attachment '{sb.name}' to '{att.network}'", engine.network_connect, att.network,
                     sb.name, ip=ips.address(att.network, att.ip, att.ip6), ifname=att.ifname)
    state = run.state()
    _, add_ports = diff.port_changes(topo, state, [n for n in topo.sandboxes if n in before])
    for sb, port in run.expect(add_ports):
        run.undo_by(engine.port_unpublish, sb, [diff.port_text(port)])
        run.call(f"+ port '{sb}' {diff.port_text(port)}", engine.port_publish, sb, [diff.port_text(port)])
    state = run.state()
    managed = owned_sbs | set(topo.sandboxes)
    _, add_links = diff.link_changes(topo, state, managed)
    for link in run.expect(add_links):
        run.undo_by(engine.link_rm, link.a, link.b)
        run.call(f"+ link '{link.a}' <-> '{link.b}'", engine.link_add, link.a, link.b,
                 ip_a=[c for c in (link.ip_a, link.ip6_a) if c] or None,
                 ip_b=[c for c in (link.ip_b, link.ip6_b) if c] or None, ifname_a=link.ifname_a,
                 ifname_b=link.ifname_b)
    state = run.state()
    _, add_routes = diff.route_changes(topo, state, managed)
    for sb, route in run.expect(add_routes):
        run.undo_by(engine.route_rm, sb, route.dest)
        run.call(f"+ route '{sb}' {route.dest} via {route.via}", engine.route_add, sb, route.dest, route.via)


def _in_one_call(sb) -> bool:
    """Can sandbox_create attach it (interfaces eth0, eth1, ... in order)?"""
    plain = [a.ifname for a in sb.attachments if a.ifname] == [f"eth{i}" for i in range(len(sb.attachments))]
    return plain or any(a.ifname is None for a in sb.attachments)


def _calls(sb) -> int:
    """The engine calls _create_sandbox makes for `sb`."""
    return 1 if _in_one_call(sb) else 1 + len(sb.attachments)


def _create_sandbox(engine, run: Runner, sb, ips: AddressPlan) -> None:
    kwargs = {"publish": list(sb.publish)} if sb.publish else {}
    made = {"hostname": sb.hostname} if sb.hostname else {}
    run.undo_by(engine.sandbox_rm, sb.name)
    if _in_one_call(sb):
        nets = [(a.network, ips.address(a.network, a.ip, a.ip6)) for a in sb.attachments]
        run.call(f"+ sandbox '{sb.name}'", engine.sandbox_create, sb.name, networks=nets, **kwargs, **made)
        return
    run.call(f"+ sandbox '{sb.name}'", engine.sandbox_create, sb.name, **made)
    for i, att in enumerate(sb.attachments):
        extra = kwargs if i == 0 else {}  # ports go to the first network, as sandbox_create does
        run.call(f"+ attachment '{sb.name}' to '{att.network}' as {att.ifname}", engine.network_connect,
                 att.network, sb.name, ip=ips.address(att.network, att.ip, att.ip6), ifname=att.ifname, **extra)


def _repair(engine, run: Runner, targets: list[str], exclude: set[str]) -> None:
    drift = engine.drift(target=targets, exclude=exclude)
    if not drift:
        return
    result = engine.repair(target=targets, exclude=exclude)
    run.out.errors.extend(result.get("errors") or [])
    for owner in sorted({d.owners[0] if d.owners else f"host {d.step.kind}" for d in drift}):
        run.out.changes.append(f"~ repair {owner}")


def _repair_dns(engine, run: Runner) -> None:
    """A DNS server that died (kill -9) comes back with the next `up`."""
    try:
        fixed = engine.dns_repair()
    except NsnetError as exc:
        run.out.errors.append(str(exc))
        return
    run.out.changes.extend(f"~ repair dns: {problem}" for problem in fixed)
