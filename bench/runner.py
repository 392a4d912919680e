"""Run the attach workload for one tool and N; interleave rounds of tools
within a time budget."""

import os
import time
import traceback

from .harness import HostNamespace
from .stats import summary


def _loadavg() -> float:
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def _cpu() -> tuple[float, float, float]:
    """(wall s, busy CPU s of the whole machine, CPU s of this process and its
    waited-for children).  Busy minus ours = other people's work (noise)."""
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:]]
    busy = (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
    t = os.times()
    return time.monotonic(), busy, t.user + t.system + t.children_user + t.children_system


def other_cpu_pct(before, after) -> float:
    """Share of the machine's CPUs busy with work that is not ours, in %."""
    wall = after[0] - before[0]
    other = (after[1] - before[1]) - (after[2] - before[2])
    return round(max(0.0, 100 * other / (wall * (os.cpu_count() or 1))), 1) if wall > 0 else 0.0


def run_attach(tool, n: int, tag: str, settler, rnd: int = 0) -> dict:
    """One fresh host namespace: set up, N sandboxes, verify, teardown, leak
    check, leave; then wait for the kernel to free what was deleted.  Errors
    are recorded in the result (and everything is still cleaned up)."""
    rec = {"tool": tool.name, "n": n, "round": rnd, "ports": tool.ports, "batch": tool.batch,
           "load_before": _loadavg()}
    try:
        with HostNamespace(tag) as host:
            tool.setup_host(host)
            try:
                c0 = _cpu()
                _attach_phase(tool, n, rec)
                rec["other_cpu_pct"] = other_cpu_pct(c0, _cpu())
                rec["verify"] = tool.verify()
                t0 = time.perf_counter()
                rec["teardown_ms"] = [round(x, 3) for x in tool.teardown_all()]
                rec["teardown_total_s"] = round(time.perf_counter() - t0, 4)
                rec["leftovers"] = tool.leftovers()
            finally:
                tool.close()
    except Exception as e:
        rec["error"] = f"{type(e).__name__}: {e}"
        rec["traceback"] = traceback.format_exc(limit=6)
    rec.update(settler.wait(deleted=n))
    return rec


def _attach_phase(tool, n: int, rec: dict) -> None:
    perf = time.perf_counter
    if tool.batch:
        t0 = perf()
        tool.attach_all(n)
        rec["total_s"] = round(perf() - t0, 4)
        rec["sandbox_ms"] = [rec["total_s"] * 1000 / n] * n  # amortized
        return
    ns_ms, at_ms = [], []
    t_start = perf()
    for i in range(n):
        t0 = perf()
        tool.create_sandbox(i)
        t1 = perf()
        tool.attach(i)
        t2 = perf()
        ns_ms.append(round((t1 - t0) * 1000, 3))
        at_ms.append(round((t2 - t1) * 1000, 3))
    rec["total_s"] = round(perf() - t_start, 4)
    rec["netns_ms"], rec["attach_ms"] = ns_ms, at_ms
    rec["sandbox_ms"] = [round(a + b, 3) for a, b in zip(ns_ms, at_ms, strict=True)]


def describe(rec: dict) -> str:
    """One progress line for a finished run."""
    if "error" in rec:
        return f"{rec['tool']:<16} N={rec['n']:<5} ERROR {rec['error']}"
    s = summary(rec["sandbox_ms"])
    td = summary(rec.get("teardown_ms") or [0])
    v = rec.get("verify", {})
    checks = ",".join(f"{k}={'ok' if val else 'FAIL'}" for k, val in v.items() if k != "ok")
    checks += f"  other-cpu {rec.get('other_cpu_pct', 0):.0f}%"
    leak = f" LEFTOVERS={rec['leftovers'][:4]}" if rec.get("leftovers") else ""
    return (f"{rec['tool']:<16} N={rec['n']:<5} per-sandbox med {s['median']:7.2f} ms "
            f"p90 {s['p90']:7.2f}  total {rec['total_s']:6.2f}s  teardown "
            f"{rec.get('teardown_total_s', 0):6.2f}s (med {td['median']:.1f} ms)  "
            f"settle {rec.get('settle_s', 0):.1f}s  {checks}{leak}")


GUESS_MS = 150.0  # per sandbox (attach + teardown) before a tool has been measured


class Budget:
    """Learns each tool's cost per sandbox (attach + teardown + settle) and
    refuses runs that would end after the deadline.  Costs per sandbox grow
    with N, so an N larger than any measured one is assumed 2x dearer."""

    def __init__(self, minutes: float):
        self.t0 = time.monotonic()
        self.deadline = self.t0 + minutes * 60
        self.cost: dict[str, tuple[int, float]] = {}

    def fits(self, tool, n: int) -> bool:
        seen_n, ms = self.cost.get(tool.name, (0, GUESS_MS))
        est = n * ms * (2.0 if n > seen_n else 1.0) / 1000 + 1.0 + 0.01 * n
        return time.monotonic() + est < self.deadline

    def learn(self, rec: dict) -> None:
        if "error" not in rec:
            spent = rec["total_s"] + rec.get("teardown_total_s", 0) + rec.get("settle_s", 0)
            seen_n = max(rec["n"], self.cost.get(rec["tool"], (0, 0))[0])
            self.cost[rec["tool"]] = (seen_n, 1000 * spent / rec["n"])

    def elapsed(self) -> float:
        return time.monotonic() - self.t0


def attach_grid(tools, plan, settler, budget, data) -> None:
    """Passes over N: pass r runs round r of every N that has one, each time
    every eligible tool in rotated order (A B C, then B C A, ...), so no tool
    always runs first after a settle and a tight budget drops late rounds, not
    whole N values.  plan: ns, rounds {n: k}, port_rounds {n: k}; a tool's
    `max_n` caps its N.  Records go to data["attach"]."""
    k = 0
    for r in range(max(plan["rounds"].values())):
        for n in plan["ns"]:
            eligible = [t for t in tools if r < _rounds(plan, t, n)]
            shift = r % max(1, len(eligible))
            for tool in eligible[shift:] + eligible[:shift]:
                if not budget.fits(tool, n):
                    data["meta"]["skipped_runs"].append(f"{tool.name} N={n} round {r}")
                    print(f"  budget: skip {tool.name} N={n} round {r}", flush=True)
                    continue
                k += 1
                rec = run_attach(tool, n, f"r{k}", settler, r)
                budget.learn(rec)
                data["attach"].append(rec)
                print(f"[{budget.elapsed():6.1f}s] {describe(rec)}", flush=True)


def _rounds(plan: dict, tool, n: int) -> int:
    max_n = plan.get("max_n", {}).get(tool.name, tool.max_n)
    if max_n is not None and n > max_n:
        return 0
    if n in plan.get("only", {}) and tool.name not in plan["only"][n]:
        return 0
    return (plan["port_rounds"] if tool.ports or tool.slow else plan["rounds"]).get(n, 0)
