"""Wait until the kernel has freed the network namespaces deleted so far.

`ip netns del` (and umount) only drops a reference; the kernel's cleanup_net
work frees dead namespaces later, in one batch, holding locks that slow link
creation in the meantime (here: 0.9 vs 6 ms per veth).  Namespaces no longer
reachable do not show in /proc or /run/netns, but their `struct net` stays
allocated until the batch ends, so

    pending = active objects of the net_namespace slab - namespaces still alive

where "alive" is every namespace a process, thread or nsfs mount refers to.
The slab count is coarse (objects cached per CPU count as active), so the
harness measures the idle excess once and waits until it is back near it.
"""

import glob
import os
import time

SLAB_MARGIN = 16  # about two slabs of net_namespace objects (7 per slab here)


def slab_active() -> int | None:
    try:
        with open("/proc/slabinfo") as f:
            for line in f:
                if line.startswith("net_namespace "):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def alive_netns() -> int:
    """Distinct network namespaces that processes, threads or mounts refer to."""
    seen = set()
    for link in glob.glob("/proc/[0-9]*/task/[0-9]*/ns/net"):
        try:
            seen.add(os.readlink(link))
        except OSError:
            pass
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                fields = line.split()
                if " - nsfs " in line and fields[3].startswith("net:["):
                    seen.add(fields[3])
    except OSError:
        pass
    return len(seen)


def pending() -> int | None:
    slab = slab_active()
    return None if slab is None else slab - alive_netns()


class Settler:
    """Call `wait()` before each timed run.  `baseline()` records the idle excess."""

    def __init__(self, timeout_s: float = 60.0, poll_s: float = 0.1):
        self.timeout_s = timeout_s
        self.poll_s = poll_s
        self.base: int | None = None

    def baseline(self) -> int | None:
        """Settle with a short bound, then remember the idle excess."""
        first = pending()
        if first is None:
            return None
        low, deadline = first, time.monotonic() + 5
        while time.monotonic() < deadline:
            time.sleep(0.2)
            cur = pending()
            if cur >= low:
                break
            low = cur
        self.base = low
        return low

    def wait(self, deleted: int = 0) -> dict:
        """Block until pending namespaces are back near the baseline, or until a
        timeout that grows with the number just deleted. Returns what happened."""
        t0 = time.monotonic()
        limit = min(self.timeout_s, 3.0 + 0.05 * deleted)
        start = pending()
        if start is None or self.base is None:
            time.sleep(min(limit, 0.5 + 0.005 * deleted))  # no slabinfo: sleep by size
            return {"settle_s": round(time.monotonic() - t0, 2), "method": "sleep"}
        cur, calm = start, 0
        while time.monotonic() - t0 < limit:
            cur = pending()
            calm = calm + 1 if cur <= self.base + SLAB_MARGIN else 0
            if calm >= 3:
                break
            time.sleep(self.poll_s)
        ok = calm >= 3
        if ok:
            self.base = min(self.base, cur)
        return {"settle_s": round(time.monotonic() - t0, 2), "pending_start": start,
                "pending_end": cur, "timed_out": not ok, "method": "slab"}
