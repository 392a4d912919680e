"""Drift and repair: the store says what should exist, the kernel what does.

`drift()` rebuilds the plan of what exists (Engine.rebuild_plan) and asks each
step whether its effect is present (Step.check) against a read-only view that
dumps every namespace at most once. `repair()` re-applies the missing steps,
removing half-present leftovers first (a veth whose peer vanished, a route to
the same destination via another gateway), and re-applies what depends on a
re-created object (the addresses of a re-created veth, its routes).
"""

import ipaddress

from ..plain import PlainData
from ..steps import (
    AddAddress,
    AddRoute,
    CreateBridge,
    CreateNetns,
    CreateVeth,
    DeleteAddress,
    DeleteLink,
    DeleteNetns,
    DeleteRoute,
    Plan,
)
from ..steps.view import KernelView
from .context import Service

MAX_ROUNDS = 3


class Drift(PlainData):
    """One step of the rebuild plan whose effect the kernel lacks."""

    def __init__(self, step, owners: list[str] | None = None, host: str | None = None):
        self.step = step
        self.owners = [] if owners is None else owners  # "sandbox red", "network v-net-0"
        self.host = host  # the namespace that plays the host: the commands name it

    @property
    def commands(self) -> list[str]:
        return Plan([self.step]).explain(self.host)

    @property
    def problem(self) -> str:
        """What is wrong, in a few words, with the command that fixes it."""
        if isinstance(self.step, DeleteAddress):
            return f"address {self.step.cidr} on {self.step.ifname} is not nsnet's: {self.commands[0]}"
        return f"kernel lacks: {self.commands[0]}" if self.commands else f"kernel lacks: {self.step.kind}"

    def to_dict(self) -> dict:
        return {"kind": self.step.kind, "owners": self.owners, "problem": self.problem, "commands": self.commands}


def _owners(step, by_netns: dict, by_bridge: dict, by_port: dict) -> tuple[list, list]:
    """(sandboxes, networks) whose objects `step` touches (a sandbox's host-side
    veth, a bridge port, is the sandbox's)."""
    namespaces, interfaces = step.touches()
    sandboxes = sorted({by_netns[n] for n in namespaces if n in by_netns}
                       | {by_port[i] for ns, i in interfaces if ns is None and i in by_port})
    networks = sorted({by_bridge[i] for ns, i in interfaces if ns is None and i in by_bridge})
    return sandboxes, networks


class Reconcile(Service):
    def __init__(self, ctx, explain):
        super().__init__(ctx)
        self.explain = explain

    def _owner_maps(self) -> tuple[dict, dict, dict]:
        by_netns = {sb["netns"]: sb["name"] for sb in self.store.sandboxes()}
        by_bridge = {n["bridge"]: n["name"] for n in self.store.networks() if n["bridge"]}
        by_port = {ep["host_ifname"]: ep["sandbox"] for ep in self.store.endpoints() if ep.get("host_ifname")}
        return by_netns, by_bridge, by_port

    def owners(self, steps: list) -> list[str]:
        """Names of the store's sandboxes and networks that `steps` touch."""
        maps = self._owner_maps()
        out = set()
        for step in steps:
            out.update(*_owners(step, *maps))
        return sorted(out)

    def _drift_candidates(self, view, target=None, exclude=()) -> list[Drift]:
        """Steps of the rebuild plan for `target` (None: all; a name; or a list of
        sandbox/network names), and the removal of addresses nsnet did not put on
        its interfaces, minus those touching an `exclude`d object."""
        maps = self._owner_maps()
        names = None if target is None or isinstance(target, str) else set(target)
        if names is not None and not names:
            return []
        steps = self.explain.rebuild_plan(target if names is None else None).steps
        steps = steps + _stray_addresses(steps, view)
        exclude = set(exclude)
        out = []
        for step in steps:
            sandboxes, networks = _owners(step, *maps)
            related = set(sandboxes) | set(networks)
            # Host-wide steps (forwarding, the firewall table) go with any target list.
            if related & exclude or (names is not None and related and not related & names):
                continue
            owners = [f"sandbox {s}" for s in sandboxes] or [f"network {n}" for n in networks]
            out.append(Drift(step, owners, self.ctx.settings.host_netns))
        return out

    def drift(self, target=None, exclude=(), view: KernelView | None = None) -> list[Drift]:
        """What the kernel lacks of what the store says exists (read-only)."""
        view = view or KernelView(self.kernel)
        return [d for d in self._drift_candidates(view, target, exclude) if not d.step.check(view)]

    def repair(self, ex, target=None, exclude=()) -> dict:
        """Re-apply what drift() finds missing. Returns the commands run and the errors."""
        candidates = self._drift_candidates(KernelView(self.kernel), target, exclude)
        done, errors = [], []
        for _ in range(MAX_ROUNDS):
            view = KernelView(self.kernel)
            missing = [d.step for d in candidates if not d.step.check(view)]
            if not missing:
                break
            steps = _with_dependents(missing, [d.step for d in candidates])
            clear = Plan(_leftovers(steps, view))
            done.extend(clear.explain(ex.host) + Plan(steps).explain(ex.host))
            if ex.dry_run:  # one round is all a dry run sees: nothing changes between rounds
                ex.best_effort(Plan(clear.steps + steps))
                return {"repaired": done, "errors": errors}
            errors.extend(ex.best_effort(clear))
            _refresh_caches(self.kernel, steps)
            errors.extend(ex.best_effort(Plan(steps)))
            if errors:
                break
        else:
            view = KernelView(self.kernel)
            left = [d for d in candidates if not d.step.check(view)]
            if left:
                errors.append("still missing after repair: " + "; ".join(left[0].commands))
        return {"repaired": done, "errors": errors}


def _stray_addresses(steps: list, view: KernelView) -> list:
    """DeleteAddress steps for the addresses on interfaces the plan makes (veth
    ends, bridges) that the plan does not put there: someone else's, which
    would become the source of the interface's routes."""
    ours: dict[tuple, set] = {}
    for step in steps:
        if isinstance(step, CreateVeth):
            ours.setdefault((step.ns, step.ifname), set())
            ours.setdefault((step.peer_ns, step.peer_ifname), set())
        elif isinstance(step, CreateBridge):
            ours.setdefault((None, step.ifname), set())
        elif isinstance(step, AddAddress):
            ours.setdefault((step.ns, step.ifname), set()).add(ipaddress.ip_interface(step.cidr))
    out = []
    for ns in {ns for ns, _ in ours}:
        if ns is not None and not view.netns_exists(ns):
            continue
        for addr in view.addrs(ns):
            wanted = ours.get((ns, addr["ifname"]))
            if wanted is not None and ipaddress.ip_interface(addr["cidr"]) not in wanted:
                out.append(DeleteAddress(ns, addr["ifname"], addr["cidr"]))
    return sorted(out, key=lambda s: (s.ns or "", s.ifname, s.cidr))


def _with_dependents(missing: list, steps: list) -> list:
    """`missing` plus the steps that a re-created object takes down with it, in plan order."""
    redo_ns = {s.name for s in missing if isinstance(s, CreateNetns)}
    redo_bridges = {s.ifname for s in missing if isinstance(s, CreateBridge)}
    chosen = {id(s) for s in missing}
    redo_links, nets = set(), {}
    for step in steps:
        forced = id(step) in chosen or bool(step.touches()[0] & redo_ns)
        if isinstance(step, CreateVeth):
            forced = forced or step.master in redo_bridges
            if forced:
                redo_links |= {(step.ns, step.ifname), (step.peer_ns, step.peer_ifname)}
        elif isinstance(step, AddAddress):
            # Routes via an address go with it only when its interface is re-made: an
            # IPv6 address deleted alone leaves the routes via its subnet in place.
            remade = (step.ns, step.ifname) in redo_links or (step.ns is None and step.ifname in redo_bridges) \
                or bool(step.touches()[0] & redo_ns)
            forced = forced or remade
            if remade:
                nets.setdefault(step.ns, []).append(ipaddress.ip_interface(step.cidr).network)
        elif isinstance(step, AddRoute):
            via = ipaddress.ip_address(step.via) if step.via else None
            forced = forced or (step.dev and (step.ns, step.dev) in redo_links) or (
                via is not None and any(via.version == n.version and via in n for n in nets.get(step.ns, [])))
        else:  # the settings of a re-created interface (a bridge port's hairpin mode)
            forced = forced or bool(step.touches()[1] & redo_links)
        if forced:
            chosen.add(id(step))
    return [s for s in steps if id(s) in chosen]


def _leftovers(steps: list, view: KernelView) -> list:
    """Deletions that make room for re-applying `steps` (objects half there)."""
    out = []
    new_ns = {s.name for s in steps if isinstance(s, CreateNetns)}
    for step in steps:
        if isinstance(step, CreateNetns) and view.netns_exists(step.name):
            out.append(DeleteNetns(step.name))
        elif isinstance(step, CreateBridge) and view.link_exists(None, step.ifname):
            out.append(DeleteLink(None, step.ifname))
        elif isinstance(step, CreateVeth):
            for ns, ifname in ((step.ns, step.ifname), (step.peer_ns, step.peer_ifname)):
                if ns not in new_ns and view.link_exists(ns, ifname):
                    out.append(DeleteLink(ns, ifname))
        elif isinstance(step, AddRoute) and step.ns not in new_ns:
            for route in view.routes(step.ns):
                if route["dest"] == str(ipaddress.ip_network(step.dest)) and route["via"] != step.via:
                    out.append(DeleteRoute(step.ns, step.dest, via=route["via"]))
    return out


def _refresh_caches(kernel, steps: list) -> None:
    """Objects deleted behind nsnet's back leave stale entries in a long-lived
    Kernel (a netlink socket into a vanished namespace, old interface indexes):
    drop them before re-applying."""
    for step in steps:
        if isinstance(step, CreateNetns) and not kernel.netns_exists(step.name):
            kernel.netns_delete(step.name)  # nothing on disk: forgets the cached socket only
    for step in steps:
        for ns, ifname in step.touches()[1]:
            if ns is None or kernel.netns_exists(ns):
                kernel.link_exists(ns, ifname)
