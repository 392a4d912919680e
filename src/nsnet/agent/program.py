"""Programming the local VXLAN devices: the fdb and neighbour entries of the
remote endpoints of each overlay network this host has a copy of.

What was programmed is remembered per network; the kernel is read back (one
fdb and one neighbour dump) when a network is first seen, on resync, and
periodically, so entries changed behind the agent's back are put right too."""

from ..engine.executor import Executor
from ..steps import Plan
from ..steps.overlay import AddFdb, AddNeigh, AnnounceNeigh, DeleteFdb, DeleteNeigh


def diff(vxlan: str, desired: dict, fdb: dict, neigh: dict) -> list:
    """Steps from the kernel's {mac: vtep} fdb and {ip: mac} neighbours to
    `desired` {ip: (mac, vtep)}: adds first, then removals."""
    steps, fdb = [], dict(fdb)
    for ip, (mac, vtep) in sorted(desired.items()):
        if fdb.get(mac) != vtep:  # once per MAC (a dual-stack endpoint has two addresses)
            steps.append(AddFdb(vxlan, mac, vtep))
            fdb[mac] = vtep
        if neigh.get(ip) != mac:
            steps.append(AddNeigh(vxlan, ip, mac))
    wanted_macs = {mac for mac, _ in desired.values()}
    for ip in sorted(set(neigh) - set(desired)):
        steps.append(DeleteNeigh(vxlan, ip))
    for mac in sorted(set(fdb) - wanted_macs):
        steps.append(DeleteFdb(vxlan, mac, fdb[mac]))
    return steps


class Programmer:
    def __init__(self, kernel):
        self.kernel = kernel
        self.programmed: dict[tuple, dict] = {}  # (network, created) -> {ip: (mac, vtep)}

    def forget(self, keep: set) -> None:
        for key in list(self.programmed):
            if key not in keep:
                del self.programmed[key]

    def sync(self, key: tuple, vxlan: str, desired: dict, read_kernel: bool = False,
             bridge: str | None = None) -> tuple[int, list[str]]:
        """Bring `vxlan` to `desired`; returns (changes made, errors). New
        neighbours are announced on `bridge` (see kernel/garp.py)."""
        if read_kernel or key not in self.programmed:
            fdb = self.kernel.fdb_entries(None, vxlan)
            neigh = self.kernel.neigh_entries(None, vxlan)
        else:  # what we programmed, {ip: (mac, vtep)}, as the kernel's tables
            fdb = {mac: vtep for mac, vtep in self.programmed[key].values()}
            neigh = {ip: mac for ip, (mac, _) in self.programmed[key].items()}
        steps = diff(vxlan, desired, fdb, neigh)
        added = [(s.ip, s.mac) for s in steps if isinstance(s, AddNeigh)]
        if bridge and added:
            steps.append(AnnounceNeigh(bridge, added))
        errors = Executor(self.kernel).best_effort(Plan(steps)) if steps else []
        if errors:
            self.programmed.pop(key, None)  # read the kernel back next time
        else:
            self.programmed[key] = dict(desired)
        return len(steps), errors
