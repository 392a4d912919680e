"""`nsnet doctor`: every difference between the store and what the kernel holds
of nsnet's for this state dir, and `--fix` to repair them.

nsnet's own, and nothing else, is looked at and touched: namespaces whose `lo`
carries this state dir's mark (Kernel.owner), bridges with the mark, veths
enslaved to those bridges or paired with an interface inside those namespaces,
nsnet's nftables table, the DNS server of this state dir and the resolv.conf
links to it, the faults tables in sandboxes, process records, and the intents
of changes that died half-way. The comparisons are the drift check's (the store's rebuild
plan, step by step) plus what no step describes: objects nobody claims.

Fixing is one change: it settles interrupted changes first (as every change
does), removes what nobody claims, rebuilds the firewall table if it differs,
re-applies what is missing, and brings the DNS server and files in line.
"""

from ..errors import NsnetError
from ..names import HOST_VETH_PREFIX
from ..plain import PlainData
from ..run.procfs import alive
from ..steps import DeleteLink, DeleteNetns, Plan
from ..steps.view import KernelView
from .context import Service
from .lookup import used_ifnames


class Finding(PlainData):
    """One difference: its kind, the object, what is wrong, and the step that fixes it (if one does)."""

    def __init__(self, kind: str, subject: str, problem: str, step=None):
        self.kind, self.subject, self.problem, self.step = kind, subject, problem, step

    def to_dict(self) -> dict:
        return {"kind": self.kind, "subject": self.subject, "problem": self.problem}

    def __str__(self) -> str:
        return f"{self.subject}: {self.problem}"


class Doctor(Service):
    def __init__(self, ctx, recovery, reconcile, firewall, dns, sandboxes, faults):
        super().__init__(ctx)
        self.faults = faults
        self.recovery = recovery
        self.reconcile = reconcile
        self.firewall = firewall
        self.dns = dns
        self.sandboxes = sandboxes

    # -- looking ------------------------------------------------------------------
    def check(self) -> list[dict]:
        """Every difference found (read-only), as dicts: kind, subject, problem."""
        self.ctx.require_privileges()
        return [f.to_dict() for f in self.findings()]

    def findings(self) -> list[Finding]:
        view = KernelView(self.kernel)
        out = [Finding("interrupted", intent.subject, "killed half-way; the next change settles it")
               for intent in self.recovery.unfinished()]
        ours = self._our_namespaces()
        out += self._orphan_namespaces(ours)
        out += self._orphan_links(view, ours)
        out += self._unclaimed_interfaces(view)
        out += [Finding("missing", ", ".join(d.owners) or f"host {d.step.kind}",
                        "missing in the kernel: " + "; ".join(d.commands))
                for d in self.reconcile.drift(view=view)]
        out += [Finding("firewall", "nftables table inet nsnet", problem)
                for problem in self.firewall.differences(view.nft_table())]
        out += [Finding("dns", "DNS", problem) for problem in self.dns.check()]
        out += [Finding("orphan", f"/etc/netns/{netns}", "this state dir's resolv.conf for a namespace no sandbox has")
                for netns in self.dns.leftovers()]
        out += [Finding("faults", f"sandbox {stray['sandbox']}",
                        f"{', '.join(stray['found'])} not as nsnet last made it") for stray in self.faults.strays()]
        out += self._processes()
        out += self._topologies()
        return out

    def _our_namespaces(self) -> dict[str, str | None]:
        """{namespace: sandbox or None} of every namespace nsnet made for this
        state dir (the mark on its lo) and of every sandbox of the store."""
        claimed = {sb["netns"]: sb["name"] for sb in self.store.sandboxes()}
        prefix, mark = self.ctx.settings.netns_prefix, self.kernel.owner
        out = dict(claimed)
        for name in self.kernel.netns_names():
            if name not in claimed and name.startswith(prefix) and self.kernel.netns_owner(name) == mark:
                out[name] = None
        return out

    def _orphan_namespaces(self, ours: dict) -> list[Finding]:
        return [Finding("orphan", f"namespace {ns}", "made by nsnet for this state dir; no sandbox claims it",
                        DeleteNetns(ns)) for ns, sandbox in sorted(ours.items()) if sandbox is None]

    def _claimed_host_links(self) -> set[str]:
        names = set()
        for net in self.store.networks():
            names |= {net["bridge"], (net.get("options") or {}).get("vxlan")}
        names |= {ep["host_ifname"] for ep in self.store.endpoints()}
        return names - {None}

    def _orphan_links(self, view: KernelView, ours: dict) -> list[Finding]:
        """Host interfaces of nsnet's that nobody claims: marked bridges, and
        interfaces enslaved to nsnet's bridges or paired into nsnet's namespaces."""
        claimed = self._claimed_host_links()
        host = view.links(None)
        mark = self.kernel.owner
        bridges = {link["index"] for link in host
                   if link["ifname"] in claimed or (mark and link.get("alias") == mark)}
        paired = {(link["index"], link["peer_index"]) for ns in ours if view.netns_exists(ns)
                  for link in view.links(ns) if link["kind"] == "veth" and link.get("peer_index")}
        out = []
        for link in host:
            name = link["ifname"]
            if name in claimed or link.get("peer_ns_gone"):
                continue  # (a veth whose namespace the kernel is deleting goes with it)
            if mark and link.get("alias") == mark:
                why = "a bridge nsnet made for this state dir; no network claims it"
            elif link.get("master") in bridges:
                why = "enslaved to one of nsnet's bridges; no endpoint or network claims it"
            elif (name.startswith(HOST_VETH_PREFIX) and link["kind"] == "veth"
                  and (link.get("peer_index"), link["index"]) in paired):
                why = "paired with an interface in one of nsnet's namespaces; no endpoint claims it"
            else:
                continue
            out.append(Finding("orphan", f"interface {name} (host)", why, DeleteLink(None, name)))
        return out

    def _unclaimed_interfaces(self, view: KernelView) -> list[Finding]:
        """veths inside the store's sandboxes that no endpoint or link names."""
        out = []
        for sb in self.store.sandboxes():
            if sb["mode"] != "netns" or (sb.get("options") or {}).get("external"):
                continue
            if not view.netns_exists(sb["netns"]):
                continue  # drift says so
            names = used_ifnames(self.store, sb["name"])
            for link in view.links(sb["netns"]):
                if link["kind"] == "veth" and link["ifname"] not in names:
                    out.append(Finding("orphan", f"interface {link['ifname']} (sandbox {sb['name']})",
                                       "no endpoint or link of the sandbox claims it",
                                       DeleteLink(sb["netns"], link["ifname"])))
        return out

    def _processes(self) -> list[Finding]:
        return [Finding("process", f"process {record['name']}",
                        "its start was interrupted (the nsnet that started it died)")
                for record in self.store.processes.all() if record.get("state") == "starting"
                and not alive(record.get("creator_pid"), record.get("creator_starttime"))]

    def _topologies(self) -> list[Finding]:
        sandboxes = {sb["name"] for sb in self.store.sandboxes()}
        networks = {n["name"] for n in self.store.networks()}
        return [Finding("topology", f"{kind} {name}", f"topology '{topology}' claims it but it does not exist")
                for (kind, name), topology in sorted(self.store.topology_owners().items())
                if name not in (sandboxes if kind == "sandbox" else networks)]

    # -- fixing ---------------------------------------------------------------------
    def fix(self, ex) -> dict:
        """Repair every finding (one change: interrupted changes are settled first)."""
        found = self.findings()
        errors = ex.best_effort(Plan([f.step for f in found if f.step is not None]))
        for f in found:
            if f.subject.startswith("/etc/netns/"):
                self.dns.forget(f.subject.split("/")[-1])
            elif f.kind == "process":
                errors += self._forget_interrupted_start(ex, f.subject.split(" ", 1)[1])
            elif f.kind == "topology":
                kind, name = f.subject.split(" ", 1)
                self.store.topology_release(self.store.topology_owners()[(kind, name)], kind, [name])
        if any(f.kind == "firewall" for f in found):
            errors += ex.best_effort(Plan([self.firewall.reload_step()]))
        if any(f.kind == "missing" for f in found):
            errors += self.reconcile.repair(ex)["errors"]
        if any(f.kind == "faults" for f in found):
            self.faults.clear_strays(ex)
        if any(f.kind == "dns" for f in found):
            ex.after_commit("doctor-dns", lambda _: self.dns.repair(), None)
        return {"fixed": [f.to_dict() for f in found], "errors": errors}

    def _forget_interrupted_start(self, ex, name: str) -> list[str]:
        """The record of a `run` killed while starting goes, with the sandbox it made."""
        record = self.store.processes.read(name) or {}
        self.store.processes.discard(name)
        if record.get("created_sandbox") and self.store.sandbox(record.get("sandbox", "")):
            try:
                return self.sandboxes.rm(ex, record["sandbox"]).get("errors", [])
            except NsnetError as exc:
                return [str(exc)]
        return []
