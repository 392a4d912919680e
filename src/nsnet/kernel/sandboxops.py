"""Kernel verbs inside a sandbox's own namespace beyond its links: its
nftables table (partitions, loss) and the queueing disciplines of its
interfaces (rate limits, delay). Faults live there so that they work the same
whatever joins the sandbox to the others: a bridge, a direct link, an overlay.

Each namespace gets its own libnftables context and nfnetlink socket
(kernel/nft.py), kept like its rtnetlink socket: a partition that only moves
set elements is one nf_tables transaction on a socket already open."""

import errno

from ..errors import KernelError
from .failure import fail as _fail
from .netlink import tc
from .netlink.nlsocket import RequestError

NO_QDISC = {errno.ENOENT, errno.EINVAL}  # deleting the default root qdisc: "handle of zero"


class SandboxOps:
    def nft_in(self, ns: str, batch) -> dict | None:
        """An nftables JSON batch (or a text command) run in namespace `ns`."""
        self._rtnl(ns)  # drops what is kept for `ns` if its name now pins another namespace (new_epoch)
        nft = self._ns_nft.get(ns)
        if nft is None:
            from .nft import Nft

            nft = self._ns_nft[ns] = Nft(self._target(ns))
        try:
            return nft.run(batch)
        except FileNotFoundError:
            raise KernelError(f"network namespace '{ns}' does not exist", errno.ENOENT)

    # -- queueing disciplines ------------------------------------------------------
    def qdisc_htb(self, ns: str, ifname: str, default_class: int) -> None:
        """Root htb 1: on `ifname` (replacing the interface's default queue);
        unclassified packets go to class 1:`default_class`, or unshaped with 0."""
        index = self._require_index(ns, ifname, fresh=True)
        self._request(ns, f"adding htb qdisc to {ifname}", tc.htb_qdisc(index, default_class))

    def tclass_htb(self, ns: str, ifname: str, minor: int, rate: int) -> None:
        """Class 1:`minor` of the root htb: `rate` bytes per second."""
        index = self._require_index(ns, ifname)
        quantum = min(max(rate // tc.HTB_R2Q, 1600), 200_000)  # htb warns outside these
        msg = tc.htb_class(index, minor, rate, tc.htb_burst(rate), quantum)
        self._request(ns, f"adding htb class to {ifname}", msg)

    def qdisc_netem(self, ns: str, ifname: str, parent: int, handle: int, delay: float, jitter: float = 0.0) -> None:
        """netem under `parent` delaying packets `delay` seconds (+- `jitter`)."""
        index = self._require_index(ns, ifname)
        self._request(ns, f"adding netem qdisc to {ifname}", tc.netem_qdisc(index, parent, handle, delay, jitter))

    def qdisc_clear(self, ns: str, ifname: str) -> bool:
        """Delete the root qdisc (the interface falls back to its default); False
        if there was none of nsnet's kind to delete, or no interface."""
        index = self._fresh_index(ns, ifname)
        if index is None:
            return False
        try:
            self._rtnl(ns).request(*tc.qdisc_del(index))
        except RequestError as exc:
            if exc.code in NO_QDISC:
                return False
            raise _fail(f"deleting the qdisc of {ifname}", exc)
        return True

    def netem_available(self, ns: str) -> bool:
        """Does this kernel have netem (sch_netem)? Asked by a request it always
        refuses (a netem qdisc without options, on lo): EINVAL if it knows
        netem, ENOENT if it does not. Nothing is made either way."""
        try:
            self._rtnl(ns).request(*tc.netem_probe(self._require_index(ns, "lo")))
        except RequestError as exc:
            if exc.code == errno.ENOENT:
                return False
            if exc.code == errno.EINVAL:
                return True
            raise _fail("asking the kernel for netem", exc)
        self.qdisc_clear(ns, "lo")  # never made by a kernel seen so far; not left behind if it were
        return True

    def qdiscs(self, ns: str) -> list[dict]:
        """ifname, kind, handle, parent and (htb) default / (netem) delay, jitter
        of every qdisc in `ns`; htb classes come with their rate (bytes/s)."""
        names = self._names(ns)
        out = self._read(ns, "qdiscs", tc.qdisc_dump(), "qdiscs", names)
        for ifindex in {q["ifindex"] for q in out if q["kind"] == "htb"}:
            out += self._read(ns, "classes", tc.class_dump(ifindex), "qdiscs", names)
        return out
