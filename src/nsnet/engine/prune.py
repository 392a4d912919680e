"""`prune`, as docker's: exited processes (with the sandboxes `run` made for
them) and networks nobody uses. Each removal is a change of its own, so one
that fails leaves the others done and is reported, not raised."""

from ..errors import NsnetError
from .context import Service
from .executor import run_change
from .networks import DEFAULT_NETWORK

KEPT_DRIVERS = ("overlay",)  # shared with other hosts: removed by name only


class Prune(Service):
    def __init__(self, ctx, processes, networks, topologies):
        super().__init__(ctx)
        self.processes = processes
        self.networks = networks
        self.topologies = topologies

    def prune(self) -> dict:
        """Remove every exited process (as process_rm) and every network with no
        sandbox attached, except the default network, overlays and networks a
        topology file owns. {"processes", "sandboxes", "networks", "errors"}."""
        out = {"processes": [], "sandboxes": [], "networks": [], "errors": []}
        for result in self.processes.prune():
            out["processes"].append(result["removed"])
            out["sandboxes"] += [result["sandbox"]] if result["sandbox"] else []
            out["errors"] += result["errors"]
        owned = {name for kind, name in self.topologies.owners() if kind == "network"}
        used = {ep["network"] for ep in self.store.endpoints()}
        for net in self.store.networks():
            name = net["name"]
            if name in used or name in owned or name == DEFAULT_NETWORK or net["driver"] in KEPT_DRIVERS:
                continue
            try:
                out["errors"] += run_change(self.ctx, False, self.networks.rm, name)["errors"]
                out["networks"].append(name)
            except NsnetError as exc:
                out["errors"].append(f"could not remove network '{name}': {exc}")
        return out
