"""Faults for testing distributed software: partitions, loss, rate limits
and delay between sandboxes (`nsnet partition / heal / impair / faults`).

The store keeps what the user asked for (the partition's groups, the
impairments) and what nsnet last wrote into each sandbox's namespace for it
(fault_tables). Every call computes what each namespace must hold
(faults/tables.py) and applies the difference: set elements when only the
members move, a whole table when rules or subnets change, a queueing
discipline per shaped interface. Faults follow the topology: after every
change (ctx.followers) the tables are brought up to date with the addresses
the store now holds, and faults of removed sandboxes, interfaces and peers go.
"""

from ..errors import Conflict, InvalidInput, KernelError, NotFound, NsnetError
from ..faults.spec import Impairment, parse_groups, parse_target
from ..faults.tables import SandboxFaults, Topology, desired
from ..steps import Plan
from ..steps.faults import ROOT, FaultTable, ShapeInterface
from .context import Service
from .lookup import get_sandbox

ONE_WAY = "partition_one_way"  # meta key
NO_NETEM = ("this kernel has no netem (sch_netem): --delay and --jitter cannot be applied "
            "(--loss and --rate work without it)")


class Faults(Service):
    def __init__(self, ctx):
        super().__init__(ctx)
        ctx.followers.append(self.follow)

    # -- the API ---------------------------------------------------------------------
    def partition(self, ex, groups, *, one_way: bool = False) -> dict:
        """Cut traffic between sandboxes of different groups (all protocols,
        established connections too); the sandboxes not named form one more
        group. `groups`: lists of names, or 'n1,n2' strings. With one_way only
        traffic from the first group to the others is cut. Replaces the
        partition in force."""
        parsed = parse_groups(groups)
        for group in parsed:
            for name in group:
                self._partitionable(name)
        self.store.set_partition_groups(parsed)
        self.store.set_meta(ONE_WAY, "1" if one_way else None)
        self._sync(ex, strict=True)
        return {"groups": parsed, "one_way": bool(one_way)}

    def heal(self, ex) -> dict:
        """Remove the partition (impairments stay)."""
        self.store.set_partition_groups([])
        self.store.set_meta(ONE_WAY, None)
        self._sync(ex, strict=True)
        return {"healed": True}

    def impair(self, ex, target: str, loss=None, rate=None, delay=None, jitter=None, to=None,
               clear: bool = False) -> dict:
        """Loss (percent), rate ('10mbit'), delay and jitter (ms, need netem) on
        the outgoing traffic of `target` ('n1', or 'n1:eth0' for one interface),
        to the sandboxes `to` only if given. Replaces that target's impairment;
        an interface's own impairment wins over its sandbox's. clear=True
        removes the target's impairments (all of a sandbox's, without an interface)."""
        sandbox, ifname = parse_target(target)
        sb = self._partitionable(sandbox, "impaired")
        if ifname and ifname not in self.store.interfaces([sandbox])[sandbox]:
            raise NotFound(f"sandbox '{sandbox}' has no interface '{ifname}' made by nsnet")
        for peer in to or ():
            get_sandbox(self.store, peer)
        if clear:
            if any(v is not None for v in (loss, rate, delay, jitter)) or to:
                raise InvalidInput("--clear takes no other option")
            for row_sandbox, row_ifname, _ in self.store.impairments():
                if row_sandbox == sandbox and (ifname is None or row_ifname == ifname):
                    self.store.set_impairment(sandbox, row_ifname, None)
            self._sync(ex, strict=True)
            return {"cleared": target}
        imp = Impairment.parse(sandbox, ifname, loss, rate, delay, jitter, to)
        if imp.needs_netem and not ex.dry_run and not self.kernel.netem_available(sb["netns"]):
            raise KernelError(NO_NETEM)
        self.store.set_impairment(sandbox, ifname or "", imp.to_record())
        self._sync(ex, strict=True)
        return {"impairment": imp.view()}

    def faults(self) -> dict:
        """The partition (its groups, the implicit one as "others") and the impairments in force."""
        groups = self.store.partition_groups()
        partition = None
        if groups:
            named: dict[int, list] = {}
            for name, number in sorted(groups.items()):
                named.setdefault(number, []).append(name)
            others = [sb["name"] for sb in self.store.sandboxes() if sb["name"] not in groups]
            partition = {"groups": [named[n] for n in sorted(named)], "others": others,
                         "one_way": self.store.meta(ONE_WAY) == "1"}
        return {"partition": partition, "impairments": [imp.view() for imp in self._impairments()]}

    # -- following the topology ----------------------------------------------------------
    def follow(self, ex) -> None:
        """After any change (run_change): drop the impairments of interfaces
        and peers that went, and bring the tables up to date with the
        addresses and subnets the store now holds. Costs one query when no
        fault is in force."""
        if not ex.mark("faults") or not self.store.faults_in_force():
            return
        self._prune()
        self._sync(ex, strict=False)

    def _prune(self) -> None:
        rows = self.store.impairments()
        sandboxes = {r[0] for r in rows}
        interfaces = self.store.interfaces(sandboxes) if sandboxes else {}
        for sandbox, ifname, spec in rows:
            peers = [p for p in spec.get("to") or () if self.store.sandbox(p)]
            if ifname and ifname not in interfaces.get(sandbox, ()):
                self.store.set_impairment(sandbox, ifname, None)  # its interface went (network disconnect)
            elif spec.get("to") and not peers:
                self.store.set_impairment(sandbox, ifname, None)  # all its peers went: not "everyone" now
            elif peers != spec.get("to", []) and spec.get("to"):
                self.store.set_impairment(sandbox, ifname, dict(spec, to=peers))

    # -- plans -----------------------------------------------------------------------------
    def _impairments(self) -> list[Impairment]:
        return [Impairment.from_record(s, i, spec) for s, i, spec in self.store.impairments()]

    def _partitionable(self, name: str, what: str = "partitioned") -> dict:
        sb = get_sandbox(self.store, name)
        if sb["mode"] != "netns":
            raise Conflict(f"sandbox '{name}' uses the {sb['mode']} network: it cannot be {what} "
                           "(its traffic is the host's)")
        return sb

    def _wanted(self) -> tuple[dict, dict]:
        """(sandbox -> what its namespace must hold, sandbox -> what nsnet last wrote there)."""
        groups = self.store.partition_groups()
        impairments = self._impairments()
        impaired = {imp.sandbox for imp in impairments}
        involved = set(groups) | impaired | {peer for imp in impairments for peer in imp.to}
        netns = {name: self.store.sandbox(name)["netns"] for name in set(groups) | impaired}
        subnets, gateways = self.store.subnets_and_gateways()
        topo = Topology(netns, self.store.addresses(involved) if involved else {},
                        self.store.interfaces(impaired) if impaired else {}, subnets, gateways)
        want = desired(topo, groups, self.store.meta(ONE_WAY) == "1", impairments)
        have = {name: SandboxFaults.from_record(record)
                for name, record in self.store.fault_tables(active_only=True, also=want).items()}
        return want, have

    def _sync(self, ex, strict: bool) -> None:
        """Apply the difference; strict: all or nothing (rolled back on failure),
        else best effort (what fails is a warning, and forgotten, so the next
        change rewrites that namespace whole)."""
        ex.mark("faults")
        want, have = self._wanted()
        changes = []
        for name in sorted(set(want) | set(have)):
            old = have.get(name)
            new = want[name] if name in want else old.inert()
            steps = _steps(new, old)
            if steps:
                changes.append((name, new, steps))
        if strict:
            ex.apply(Plan([step for _, _, steps in changes for step in steps]))
        for name, new, steps in changes:
            errors = [] if strict else ex.best_effort(Plan(steps))
            if errors:
                ex.warnings.extend(f"faults of sandbox '{name}': {e}" for e in errors)
                self.store.set_fault_table(name, None)
            else:
                self.store.set_fault_table(name, new.to_record(), new.active)

    # -- what doctor asks -----------------------------------------------------------------
    def strays(self) -> list[dict]:
        """Faults in the kernel that the store does not know of (a change killed
        between its kernel steps and its commit, or a table made by hand): the
        sandboxes whose faults table or nsnet-made queueing differs from what
        nsnet last wrote there, with what it found. Read-only; a namespace's
        table listed and its qdiscs dumped once each."""
        from ..faults import nft

        known = self.store.fault_tables()
        out = []
        for sb in self.store.sandboxes():
            netns = sb["netns"]
            if sb["mode"] != "netns" or not self.kernel.netns_exists(netns):
                continue
            record = known.get(sb["name"])
            applied = SandboxFaults.from_record(record) if record else None
            try:
                listing = nft.listed(self.kernel.nft_in(netns, f"list table {nft.FAMILY} {nft.TABLE}"))
            except NsnetError:
                listing = None
            found = []
            if listing is not None and (applied is None or not nft.matches(applied, listing)):
                found.append("faults table")
            shaped = {q["ifname"] for q in self.kernel.qdiscs(netns) if q["kind"] == "htb" and not q["is_class"]
                      and q["handle"] == ROOT}
            if shaped != set(applied.shapes if applied else ()):
                found.append("queueing of " + ", ".join(sorted(shaped)) if shaped else "queueing")
            if found:
                out.append({"sandbox": sb["name"], "netns": netns, "found": found})
        return out

    def clear_strays(self, ex) -> dict:
        """Make what strays() finds what the store says: the table nsnet last
        wrote (or none) and the queueing it set (or the default)."""
        cleared = []
        known = self.store.fault_tables()
        for stray in self.strays():
            record = known.get(stray["sandbox"])
            applied = SandboxFaults.from_record(record) if record else None
            steps = [ShapeInterface(stray["netns"], q["ifname"], None) for q in self.kernel.qdiscs(stray["netns"])
                     if q["kind"] == "htb" and not q["is_class"] and q["handle"] == ROOT]
            if applied is not None:
                steps += _steps(applied, None)  # the whole table again, and its shapes
            else:
                steps.append(FaultTable(stray["netns"], None, SandboxFaults(stray["netns"])))
            ex.apply(Plan(steps))
            cleared.append(stray["sandbox"])
        return {"cleared": cleared}

    def rebuild_steps(self, sandboxes=None) -> list:
        """The steps that make the faults in force (explain, drift, repair), of
        the given sandboxes or all."""
        steps = []
        for name, record in sorted(self.store.fault_tables(active_only=True).items()):
            if sandboxes is None or name in sandboxes:
                steps += _steps(SandboxFaults.from_record(record), None)
        return steps


def _steps(new: SandboxFaults, old: SandboxFaults | None) -> list:
    """From what a namespace holds (old; None: nothing of nsnet's) to `new`."""
    steps = []
    old_shapes = old.shapes if old else {}
    for ifname in sorted(set(new.shapes) | set(old_shapes)):
        if new.shapes.get(ifname) != old_shapes.get(ifname):
            steps.append(ShapeInterface(new.netns, ifname, new.shapes.get(ifname), old_shapes.get(ifname)))
    if old != new:
        steps.append(FaultTable(new.netns, new, old))
    return steps
