"""Steps of faults (engine/faults.py): a sandbox's faults table and the
queueing of one of its interfaces. Each goes from what nsnet last applied
(`have`) to what it wants (`want`), and back on undo."""

from ..errors import KernelError
from ..faults import nft
from ..faults.tables import LINE_RATE, SandboxFaults, Shape
from .base import Step, on

CLASS_MINOR, NETEM_HANDLE, ROOT = 1, 0x100000, 0x10000  # 1:1, 10:, 1:


class FaultTable(Step):
    """The `inet nsnet_faults` table of one namespace: element changes when
    only set members move (nfnetlink, no libnftables), else the rules and
    subnets that differ, or (made for the first time) all of it, in one
    transaction; want=None removes it."""

    kind = "faults_table"

    def __init__(self, netns: str, want: SandboxFaults | None, have: SandboxFaults | None = None):
        self.netns, self.want, self.have = netns, want, have

    def _batch(self, want, have) -> dict | None:
        if want is None:
            return nft.delete_batch() if have is not None else None
        if have is None:
            return nft.replace_batch(want)
        if have.structure == want.structure:
            return nft.element_batch(have, want)  # nfnetlink, no libnftables
        return nft.delta_batch(have, want)

    def _go(self, k, want, have) -> None:
        batch = self._batch(want, have)
        if batch is None:
            return
        try:
            k.nft_in(self.netns, batch)
        except KernelError:
            if want is None:
                return  # the table (or its namespace) is gone already
            # The kernel's table was not what nsnet wrote (its sets, its elements): made anew.
            k.nft_in(self.netns, nft.replace_batch(want, clean=True))

    def apply(self, k):
        self._go(k, self.want, self.have)

    def undo(self, k):
        self._go(k, self.have, self.want)

    def explain(self):
        batch = self._batch(self.want, self.have)
        return nft.explain(self.netns, batch) if batch else []

    def check(self, view):
        listing = nft.listed(view.nft_table_in(self.netns, nft.FAMILY, nft.TABLE))
        return listing is None if self.want is None else nft.matches(self.want, listing)

    def touches(self):
        return {self.netns}, set()


def _tc_lines(netns: str, ifname: str, shape: Shape | None) -> list[str]:
    dev = f"ip netns exec {netns} tc"
    lines = [f"{dev} qdisc del dev {ifname} root"]
    if shape is None:
        return lines
    from ..faults.spec import format_rate

    lines += [f"{dev} qdisc add dev {ifname} root handle 1: htb default {0 if shape.classified else CLASS_MINOR}",
              f"{dev} class add dev {ifname} parent 1: classid 1:1 htb rate {format_rate(shape.rate or LINE_RATE)}"]
    if shape.delay or shape.jitter:
        jitter = f" {shape.jitter:g}ms" if shape.jitter else ""
        lines.append(f"{dev} qdisc add dev {ifname} parent 1:1 handle 10: netem delay {shape.delay or 0:g}ms{jitter}")
    return lines


class ShapeInterface(Step):
    """An interface's queueing: htb at the root, its class 1:1 at the rate
    (all traffic, or only what the faults table marks for it), netem under
    the class for delay; None: the interface's default queue again."""

    kind = "tc"

    def __init__(self, netns: str, ifname: str, want: Shape | None, have: Shape | None = None):
        self.netns, self.ifname, self.want, self.have = netns, ifname, want, have

    def _go(self, k, shape: Shape | None) -> None:
        k.qdisc_clear(self.netns, self.ifname)
        if shape is None:
            return
        k.qdisc_htb(self.netns, self.ifname, 0 if shape.classified else CLASS_MINOR)
        k.tclass_htb(self.netns, self.ifname, CLASS_MINOR, (shape.rate or LINE_RATE) // 8)
        if shape.delay or shape.jitter:
            k.qdisc_netem(self.netns, self.ifname, ROOT | CLASS_MINOR, NETEM_HANDLE, (shape.delay or 0) / 1000,
                          (shape.jitter or 0) / 1000)

    def apply(self, k):
        self._go(k, self.want)

    def undo(self, k):
        self._go(k, self.have)

    def explain(self):
        return _tc_lines(self.netns, self.ifname, self.want)

    def check(self, view):
        mine = [q for q in view.qdiscs(self.netns) if q["ifname"] == self.ifname]
        root = next((q for q in mine if not q["is_class"] and q["handle"] == ROOT and q["kind"] == "htb"), None)
        if self.want is None:
            return root is None
        shape = self.want
        klass = next((q for q in mine if q["is_class"] and q["handle"] == ROOT | CLASS_MINOR), None)
        netem = any(q["kind"] == "netem" for q in mine)
        return bool(root and root.get("default") == (0 if shape.classified else CLASS_MINOR)
                    and klass and klass.get("rate") == (shape.rate or LINE_RATE) // 8
                    and netem == bool(shape.delay or shape.jitter))

    def touches(self):
        return on(self.netns, self.ifname)
