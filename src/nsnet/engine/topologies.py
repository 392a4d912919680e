"""What topology files need of the state beyond ordinary engine calls: which
topology owns which network and sandbox, and a rehearsal (a dry run of many
calls). topology/ reaches the store only through these and the reads."""

import contextlib

from .context import Service


class Topologies(Service):
    def owners(self) -> dict[tuple[str, str], str]:
        """{(kind, name): topology} for every network and sandbox a topology owns."""
        return self.store.topology_owners()

    def owned(self, topology: str) -> dict[str, set[str]]:
        """{"network": {names}, "sandbox": {names}} of one topology."""
        return self.store.topology_owned(topology)

    def claim(self, topology: str, networks=(), sandboxes=()) -> None:
        """Record `topology` as the owner of these names (those another topology
        owns stay its own), in one transaction."""
        with self.store.transaction():
            self.store.topology_claim(topology, "network", networks)
            self.store.topology_claim(topology, "sandbox", sandboxes)

    def release(self, topology: str, networks=(), sandboxes=()) -> None:
        with self.store.transaction():
            self.store.topology_release(topology, "network", networks)
            self.store.topology_release(topology, "sandbox", sandboxes)

    @contextlib.contextmanager
    def transaction(self):
        """Reads and claims inside are one store transaction: no other process
        changes the state between a check and the claim that follows it."""
        with self.store.transaction():
            yield

    @contextlib.contextmanager
    def rehearsal(self):
        """Engine calls (with dry_run=True) inside see what the earlier ones would
        have recorded; nothing of it is kept."""
        with self.store.transaction(commit=False):
            yield
