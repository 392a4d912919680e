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


def cleanup_running() -> bool:
    """True while a kernel worker is running the netns cleanup work: workqueue
    threads show the queue they are busy on in their name, "kworker/u8:1+netns"."""
    for path in glob.glob("/proc/[0-9]*/comm"):
        try:
            with open(path) as f:
                if f.read().rstrip().endswith("+netns"):
                    return True
        except OSError:
            pass
    return False


def busy_pct(window_s: float = 0.25) -> float:
    """Share of all CPUs busy over a short window (the bench itself is idle
    while it samples, so this is everyone else's work)."""

    def sample():
        with open("/proc/stat") as f:
            ticks = [int(x) for x in f.readline().split()[1:]]
        return sum(ticks), ticks[3] + ticks[4]

    (t0, i0) = sample()
    time.sleep(window_s)
    (t1, i1) = sample()
    return 100.0 * (1 - (i1 - i0) / (t1 - t0)) if t1 > t0 else 0.0


def wait_quiet(threshold_pct: float, max_s: float) -> dict:
    """Wait (bounded) until other work on the machine uses under threshold_pct
    of its CPUs; for shared machines (--quiet).  Returns what was seen."""
    t0 = time.monotonic()
    busy = busy_pct()
    while busy >= threshold_pct and time.monotonic() - t0 < max_s:
        busy = busy_pct()
    return {"quiet_wait_s": round(time.monotonic() - t0, 2), "busy_pct_at_start": round(busy, 1)}


class Settler:
    """Call `wait()` before each timed run.  `baseline()` records the idle excess.

    Settled = no netns cleanup work running and the excess back near the
    baseline, for three polls in a row.  On a shared machine other people's
    namespaces move the slab count too, so the wait is bounded; when it runs
    out with nothing changing, the current level becomes the new baseline."""

    def __init__(self, timeout_s: float = 60.0, poll_s: float = 0.1, quiet_pct: float | None = None):
        self.timeout_s = timeout_s
        self.poll_s = poll_s
        self.quiet_pct = quiet_pct  # also wait for the machine to go quiet (bounded)
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
            if cur >= low and not cleanup_running():
                break
            low = min(low, cur)
        self.base = low
        return low

    def wait(self, deleted: int = 0) -> dict:
        """Block until settled or until a timeout that grows with the number of
        namespaces just deleted.  Returns what happened (for the results)."""
        t0 = time.monotonic()
        limit = min(self.timeout_s, 3.0 + 0.03 * deleted)
        start = pending()
        if start is None or self.base is None:
            time.sleep(min(limit, 0.5 + 0.005 * deleted))  # no slabinfo: sleep by size
            return {"settle_s": round(time.monotonic() - t0, 2), "method": "sleep"}
        cur, calm, history = start, 0, []
        while time.monotonic() - t0 < limit:
            cur, busy = pending(), cleanup_running()
            history.append(cur)
            calm = calm + 1 if not busy and cur <= self.base + SLAB_MARGIN else 0
            if calm >= 3:
                break
            time.sleep(self.poll_s)
        out = {"settle_s": round(time.monotonic() - t0, 2), "pending_start": start,
               "pending_end": cur, "timed_out": calm < 3, "method": "slab+kworker"}
        recent = history[-int(2 / self.poll_s):]
        if calm < 3 and len(set(recent)) == 1 and not cleanup_running():
            self.base = cur  # flat and idle: someone else's namespaces, not ours
            out["rebased"] = cur
        elif calm >= 3:
            self.base = min(self.base, cur)
        if self.quiet_pct is not None:
            out.update(wait_quiet(self.quiet_pct, max_s=5.0))
        return out
