"""Render a results file as docs/benchmarks.md (+ docs/img/*.png).

    python -m bench.report [bench/results/latest.json]
"""

import math
import sys
from pathlib import Path

from . import aggregate as agg
from .plots import write_plots
from .results import RESULTS_DIR, load

ROOT = Path(__file__).resolve().parent.parent
DOC, IMG = ROOT / "docs" / "benchmarks.md", ROOT / "docs" / "img"
METHOD = (
    "Every run happens in a fresh throwaway host namespace; rounds of the tools are "
    "interleaved (A B C, B C A, ...) and the harness waits for the kernel to free the "
    "namespaces of one run before timing the next. Times are medians / p90 over all "
    "sandboxes of all rounds. Results are observations, not pass/fail."
)
NETNS_NOTE = (
    "(÷N: batch variant, total time divided by N.) "
    "CNI and netavark sandboxes are created in-process (unshare + bind mount, like a "
    "runtime); the iproute2 variants use `ip netns add`; nsnet uses `sandbox_create`."
)
TEARDOWN_NOTE = (
    "Tools that only delete the sandbox's namespace (nsnet, the iproute2 variants) return "
    "before the kernel has freed its links; CNI and netavark delete the veth themselves "
    "(each deletion waits for an RCU grace period). The kernel's asynchronous part shows as "
    "'settle s' under Checks."
)
CHECKS_NOTE = (
    "verify = ping gateway + ping another sandbox (+ TCP to a published port); "
    "spread = (max − min) / median of the per-round medians; other CPU = the largest "
    "share of the machine's CPUs busy with work that was not the bench's during an attach "
    "phase (kernel cleanup work included); load = 1-min load average before the run. "
    "High values of these mean the figures are noisy."
)


def _ms(x: float) -> str:
    return "–" if x is None or math.isnan(x) else (f"{x:.1f}" if x >= 10 else f"{x:.2f}")


def _cell(f: dict | None, key: str) -> str:
    if not f or not f.get(key):
        return "–"
    s = f[key]
    if f["batch"]:
        return f"{_ms(s['median'])} (÷N)"
    return f"{_ms(s['median'])} / {_ms(s['p90'])}"


def _grid(table, tools, names, ns, cell) -> list[str]:
    lines = ["| tool | " + " | ".join(f"N={n}" for n in ns) + " |",
             "|---|" + "---|" * len(ns)]
    for name in names:
        row = [cell(table.get(name, {}).get(n)) for n in ns]
        lines.append(f"| {tools[name]['label']} | " + " | ".join(row) + " |")
    return lines


def render(data: dict) -> str:
    meta, tools = data["meta"], data["tools"]
    table = agg.by_tool_n(data)
    names = [t for t in tools if t in table]
    ns = sorted({n for t in table.values() for n in t})
    m = meta["machine"]
    where = (f"Measured {meta['date']} by `bench/run_all.py{' --quick' if meta['quick'] else ''}` "
             f"({meta['elapsed_s'] / 60:.1f} min) on {m['nproc']} CPUs ({m['cpu']}), "
             f"{m['memory_gib']} GiB RAM, kernel {m['kernel']}, {m['os']}. Generated from "
             "`bench/results/` by `python -m bench.report`; do not edit by hand.")
    out = ["# Benchmarks", "", where, "", METHOD, ""]
    if meta.get("skipped"):
        out += ["Skipped: " + "; ".join(f"**{k}** ({v})" for k, v in meta["skipped"].items()), ""]
    out += ["## Create netns + attach, per sandbox (ms, median / p90)", "",
            *_grid(table, tools, names, ns, lambda f: _cell(f, "sandbox")), "",
            NETNS_NOTE, "",
            "![per-sandbox time vs N](img/bench-attach.png)", "",
            "## Attach only, netns excluded (ms, median / p90)", "",
            *_grid(table, tools, [t for t in names if not tools[t]["batch"]], ns,
                   lambda f: _cell(f, "attach")), ""]
    out += _ratios(table, tools, names, ns)
    out += ["## Teardown, per sandbox (ms, median / p90)", "",
            *_grid(table, tools, names, ns, lambda f: _cell(f, "teardown")), "",
            TEARDOWN_NOTE, "", "![teardown per sandbox vs N](img/bench-teardown.png)", ""]
    out += _topology(table, tools, names, agg.mininet(data))
    out += _iperf(agg.iperf(data)) + _checks(table, tools, names, ns, data)
    return "\n".join(out) + "\n"


def _ratios(table, tools, names, ns) -> list[str]:
    head = ["## nsnet / peer (ratio of per-sandbox medians; < 1 means nsnet is faster)", ""]
    if "nsnet" not in table and "nsnet-port" not in table:
        return head + ["nsnet was not measured in this run.", ""]
    peers = [t for t in names if not t.startswith("nsnet")]

    def cell(peer, n):
        r = agg.nsnet_ratio(table, tools, peer, n)
        return "–" if r is None else f"{r[0]:.2f}" + ("*" if r[1] else "")

    lines = ["| peer | " + " | ".join(f"N={n}" for n in ns) + " |", "|---|" + "---|" * len(ns)]
    for p in peers:
        lines.append(f"| {tools[p]['label']} | " + " | ".join(cell(p, n) for n in ns) + " |")
    note = ("\\* nsnet without a published port against the peer with one (nsnet's port "
            "publishing is not benchmarked yet): a lower bound for nsnet's time.")
    if any("*" in ln for ln in lines[2:]):
        lines += ["", note]
    return head + lines + [""]


def _topology(table, tools, names, mn) -> list[str]:
    n = 200 if any(200 in table.get(t, {}) for t in names) or 200 in mn else None
    if n is None:
        n = max([k for t in table.values() for k in t] + list(mn), default=0)
    out = [f"## {n} sandboxes on one bridge: build and teardown (s, median over rounds)", "",
           "| tool | build | teardown |", "|---|---|---|"]
    for t in names:
        f = table[t].get(n)
        if f:
            out.append(f"| {tools[t]['label']} | {f['total_s']:.2f} | {f['teardown_total_s']:.2f} |")
    if n in mn:
        out.append(f"| Mininet 2.3 LinuxBridge (build+start / stop) | {mn[n]['build_s']:.2f} | "
                   f"{mn[n]['stop_s']:.2f} |")
    return out + [""]


def _iperf(ip: dict) -> list[str]:
    if not ip:
        return []
    out = ["## Data plane baseline: iperf3 TCP, Gbit/s (median, min–max)", "",
           "| path | Gbit/s | rounds |", "|---|---|---|"]
    for topo, s in sorted(ip.items()):
        out.append(f"| {topo} | {s['median']:.1f} ({s['min']:.1f}–{s['max']:.1f}) | {s['n']} |")
    return out + [""]


def _checks(table, tools, names, ns, data) -> list[str]:
    out = ["## Checks and noise", "", CHECKS_NOTE, "",
           "| tool | N | rounds | verified | leftovers | spread | other CPU | load | settle s |",
           "|---|---|---|---|---|---|---|---|---|"]
    for t in names:
        for n in ns:
            f = table[t].get(n)
            if f:
                left = ", ".join(f["leftovers"][:3]) or "none"
                out.append(f"| {tools[t]['label']} | {n} | {f['rounds']} | {f['verify_ok']}/"
                           f"{f['rounds']} | {left} | {_pct(f['round_spread'])} | "
                           f"{f['other_cpu']:.0f}% | {f['load']:.1f} | {f['settle_s']:.1f} |")
    errs = agg.errors(data)
    if errs:
        out += ["", "Runs that failed:", ""]
        out += [f"- {e['tool']} N={e['n']}: {e['error']}" for e in errs]
    if data["meta"].get("skipped_runs"):
        runs = data["meta"]["skipped_runs"]
        out += ["", f"Left out to stay within the time budget ({len(runs)} runs): " + ", ".join(runs)]
    if data["meta"].get("sysctls_restored"):
        out += ["", "Sysctls restored after the run: " + ", ".join(data["meta"]["sysctls_restored"])]
    return out + [""]


def _pct(x: float) -> str:
    return "–" if x is None or math.isnan(x) else f"{100 * x:.0f}%"


def write(data: dict) -> list[Path]:
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(render(data))
    return [DOC] + write_plots(agg.by_tool_n(data), data["tools"], IMG)


if __name__ == "__main__":
    src = sys.argv[1] if len(sys.argv) > 1 else RESULTS_DIR / "latest.json"
    for p in write(load(src)):
        print("wrote", p)
