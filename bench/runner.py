"""Run the attach workload for one tool and N, and interleave rounds of tools."""

import os
import time
import traceback

from .harness import HostNamespace
from .stats import summary


def _loadavg() -> float:
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


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
                _attach_phase(tool, n, rec)
                rec["verify"] = tool.verify()
                t0 = time.perf_counter()
                rec["teardown_ms"] = [round(x, 3) for x in tool.teardown_all()]
                rec["teardown_total_s"] = round(time.perf_counter() - t0, 4)
                rec["leftovers"] = tool.leftovers()
            finally:
                tool.close()
    except Exception as e:  # noqa: BLE001 - a failed run is data, not a crash
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
    rec["sandbox_ms"] = [round(a + b, 3) for a, b in zip(ns_ms, at_ms)]


def describe(rec: dict) -> str:
    """One progress line for a finished run."""
    if "error" in rec:
        return f"{rec['tool']:<16} N={rec['n']:<5} ERROR {rec['error']}"
    s = summary(rec["sandbox_ms"])
    td = summary(rec.get("teardown_ms") or [0])
    v = rec.get("verify", {})
    checks = ",".join(f"{k}={'ok' if val else 'FAIL'}" for k, val in v.items() if k != "ok")
    leak = f" LEFTOVERS={rec['leftovers'][:4]}" if rec.get("leftovers") else ""
    return (f"{rec['tool']:<16} N={rec['n']:<5} per-sandbox med {s['median']:7.2f} ms "
            f"p90 {s['p90']:7.2f}  total {rec['total_s']:6.2f}s  teardown "
            f"{rec.get('teardown_total_s', 0):6.2f}s (med {td['median']:.1f} ms)  "
            f"settle {rec.get('settle_s', 0):.1f}s  {checks}{leak}")


def interleaved(tools, ns, rounds_for, settler, emit) -> list[dict]:
    """For each N: rounds A B C, B C A, ... (rotated so no tool always runs
    first after a settle).  `rounds_for(tool, n)` says how many rounds a tool
    gets at N (0 = skip); `emit(rec)` is called after each run."""
    out, k = [], 0
    for n in ns:
        plan = {t.name: rounds_for(t, n) for t in tools}
        for r in range(max(plan.values(), default=0)):
            order = tools[r % len(tools):] + tools[:r % len(tools)]
            for tool in order:
                if r >= plan[tool.name]:
                    continue
                k += 1
                rec = run_attach(tool, n, f"r{k}", settler, r)
                rec["pid"] = os.getpid()
                out.append(rec)
                emit(rec)
    return out
