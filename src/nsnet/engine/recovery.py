"""Settling changes killed half-way, from their write-ahead intents (state/intents.py).

The store is the truth for what should exist. A change killed before its
commit left kernel objects that no row claims (or, a removal, rows whose
objects are half gone); one killed after its commit left the work that follows
a commit undone. Either way its intent names every step it ran or was about to
run, and settling it makes the kernel match the store for what they touched:

1. an object a recorded step made that no step of the store's rebuild plan
   also makes is a leftover and is removed, newest first (rolled back);
2. the store's sandboxes and networks the steps touched are repaired (a
   removal the store never saw is rolled back; one it saw is finished);
3. nsnet's nftables table is rebuilt from the store if a step changed it;
4. resolv.conf links and the DNS server are brought in line with the store.

Every change does this first, under the store's write lock, for the intents
of dead processes and its own process's unfinished one: nothing can change
between the kill and the settling. `doctor` lists them without settling.
"""

from ..errors import NsnetError
from ..run.procfs import alive
from ..steps import Nft, Plan
from ..steps.base import restore
from .context import Service


class Recovery(Service):
    def __init__(self, ctx, explain, firewall, dns, reconcile):
        super().__init__(ctx)
        self.explain = explain
        self.firewall = firewall
        self.dns = dns
        self.reconcile = reconcile

    def unfinished(self) -> list:
        """Intents of changes that did not finish: this process's own (a change
        that failed half-way), then those of processes that died, oldest first."""
        intents = self.store.intents
        own = intents.own()
        dead = sorted(intents.dead(alive), key=lambda i: i.header.get("time", 0))
        return ([own] if own else []) + dead

    def recover(self, ex) -> list[str]:
        """Settle every unfinished change (run_change calls this first); returns
        one note per change settled."""
        found = self.unfinished()
        return self.settle(ex, found) if found else []

    def settle_now(self, ex) -> dict:
        """A change of its own that only settles what changes killed earlier left
        (run_change settles first): for commands that may have nothing else to
        change (`up` of a topology that is there, `down` of one that is gone)."""
        return {}

    def leftovers(self, steps: list) -> list:
        """The recorded steps whose objects the store does not claim, newest first."""
        claimed = set().union(*(step.makes() for step in self.explain.rebuild_plan().steps))
        return [step for step in reversed(steps) if (made := step.makes()) and not made & claimed]

    def settle(self, ex, found: list) -> list[str]:
        steps = [s for intent in found for s in (restore(r) for r in intent.records) if s is not None]
        gone = self.leftovers(steps)
        errors = ex.undo(self._needed(gone))
        owners = self.reconcile.owners(steps)
        if owners:
            errors += self.reconcile.repair(ex, target=owners)["errors"]
        if any(isinstance(s, Nft) for s in steps):
            errors += ex.best_effort(Plan([self.firewall.reload_step()]))
        try:  # the work after a commit the kill may have cut off
            for netns in self.dns.leftovers():
                self.dns.forget(netns)
            self.dns.sync()
        except (NsnetError, OSError) as exc:
            errors.append(f"DNS: {exc}")
        for intent in found:
            self.store.intents.forget(intent)
        outcome = f"rolled back ({len(gone)} object(s) it made removed)" if gone else "finished"
        notes = [f"settled {intent.describe()}: {outcome}" for intent in found]
        return notes + [f"while settling: {e}" for e in errors]

    def _needed(self, gone: list) -> list:
        """Of the leftovers, those that do not go with a namespace that goes too
        (a host-side veth end is removed itself: its name is free again at once)."""
        made = [key for step in gone for key in step.makes()]
        namespaces = {key[1] for key in made if key[0] == "netns"}
        links = {(key[1], key[2]) for key in made if key[0] == "link"}
        out = []
        for step in gone:
            keys = step.makes()
            kinds = {key[0] for key in keys}
            inside = step.touches()[0]
            if "netns" in kinds or any(key[0] == "link" and key[1] is None for key in keys):
                out.append(step)  # a namespace, or the host end of a pair (its peer goes with it)
            elif inside & namespaces or not all(self.kernel.netns_exists(ns) for ns in inside):
                continue  # goes with its namespace, or went already
            elif "link" in kinds or not step.touches()[1] & links:
                out.append(step)  # a link between sandboxes; an address or route that stays otherwise
        return out
