"""Turn the raw run records of a results file into per (tool, N) figures."""

import statistics
from collections import defaultdict

from .stats import between_rounds, summary


def ok_runs(data: dict) -> list[dict]:
    return [r for r in data.get("attach", []) if "error" not in r]


def by_tool_n(data: dict) -> dict:
    """{tool: {n: figures}}, figures pooled over the rounds of that tool at N."""
    groups = defaultdict(list)
    for r in ok_runs(data):
        groups[(r["tool"], r["n"])].append(r)
    out: dict = defaultdict(dict)
    for (tool, n), runs in groups.items():
        out[tool][n] = figures(runs)
    return out


def figures(runs: list[dict]) -> dict:
    pooled = [x for r in runs for x in r["sandbox_ms"]]
    attach = [x for r in runs for x in r.get("attach_ms", [])]
    netns = [x for r in runs for x in r.get("netns_ms", [])]
    n = runs[0]["n"]
    teardown = [x for r in runs for x in r.get("teardown_ms", [])]
    if not teardown:  # batch tools: amortized
        teardown = [r["teardown_total_s"] * 1000 / n for r in runs if "teardown_total_s" in r]
    return {
        "rounds": len(runs),
        "sandbox": summary(pooled),
        "attach": summary(attach) if attach else None,
        "netns": summary(netns) if netns else None,
        "teardown": summary(teardown) if teardown else None,
        "total_s": statistics.median(r["total_s"] for r in runs),
        "teardown_total_s": statistics.median(r.get("teardown_total_s", 0) for r in runs),
        "round_spread": between_rounds([summary(r["sandbox_ms"])["median"] for r in runs]),
        "verify_ok": sum(1 for r in runs if r.get("verify", {}).get("ok")),
        "leftovers": sorted({x for r in runs for x in r.get("leftovers", [])}),
        "batch": runs[0].get("batch", False),
        "load": max(r.get("load_before", 0) for r in runs),
        "other_cpu": max(r.get("other_cpu_pct", 0) for r in runs),
        "settle_s": max(r.get("settle_s", 0) for r in runs),
        "settle_timeouts": sum(1 for r in runs if r.get("timed_out")),
    }


def errors(data: dict) -> list[dict]:
    return [r for r in data.get("attach", []) if "error" in r]


def paired_ratio(data: dict, a: str, b: str, n: int) -> float | None:
    """Median over rounds of (a's median / b's median) in the same round:
    both runs of a pair saw about the same load from the rest of the machine."""
    by_round = {r["round"]: r for r in ok_runs(data) if r["tool"] == b and r["n"] == n}
    xs = [statistics.median(r["sandbox_ms"]) / statistics.median(by_round[r["round"]]["sandbox_ms"])
          for r in ok_runs(data) if r["tool"] == a and r["n"] == n and r["round"] in by_round]
    return statistics.median(xs) if xs else None


def nsnet_ratio(data: dict, tools: dict, peer: str, n: int, base: str = "nsnet") -> tuple[float, bool] | None:
    """(nsnet / the peer, paired by round; fallback).  nsnet with the peer's
    port setting when measured (the API only); else `base` without a port
    (fallback=True when the peer had one)."""
    ported = tools.get(peer, {}).get("ports")
    want = "nsnet-port" if ported and base == "nsnet" else base
    r = paired_ratio(data, want, peer, n)
    fallback = bool(ported) and want != "nsnet-port"
    if r is None and want == "nsnet-port":
        r, fallback = paired_ratio(data, "nsnet", peer, n), True
    return None if r is None else (r, fallback)
