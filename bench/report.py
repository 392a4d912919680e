"""Render a results file as docs/benchmarks.md (+ docs/img/*.png).

    python -m bench.report [bench/results/latest.json]
"""

import math
import sys
from pathlib import Path

from . import aggregate as agg
from . import report_extras, targets
from .results import RESULTS_DIR, load

ROOT = Path(__file__).resolve().parent.parent
DOC, IMG = ROOT / "docs" / "benchmarks.md", ROOT / "docs" / "img"
ANALYSIS = Path(__file__).with_name("analysis.md")
METHOD = (
    "Every run happens in a fresh throwaway host namespace; rounds of the tools are "
    "interleaved (A B C, B C A, ...) and the harness waits for the kernel to free the "
    "namespaces of one run before timing the next. Times are medians / p90 over all "
    "sandboxes of all rounds. Results are observations, not pass/fail."
)
NETNS_NOTE = (
    "(÷N: batch variant, total time divided by N.) "
    "CNI and netavark sandboxes are created in-process (unshare + bind mount, like a "
    "runtime); the iproute2 variants use `ip netns add`; nsnet uses `sandbox_create`; "
    "nsnet CLI runs `nsnet sandbox create NAME --network net0` as a new process each time "
    "(Python start-up and imports included; its netns time is part of its attach)."
)
TEARDOWN_NOTE = (
    "Tools that only delete the sandbox's namespace (nsnet, the iproute2 variants) return "
    "before the kernel has freed its links; CNI and netavark delete the veth themselves "
    "(each deletion waits for an RCU grace period). The kernel's asynchronous part shows as "
    "'settle s' under Checks. nsnet CLI removes all sandboxes with one `nsnet sandbox rm` "
    "(÷N)."
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


def _where(meta: dict) -> list[str]:
    m = meta["machine"]
    la0, la1 = meta.get("loadavg_start"), meta.get("loadavg_end")
    load = ""
    if la0 and la1:
        load = (f" The machine was shared with other people's test runs: load average (1/5/15 min) "
                f"{la0[0]:.1f}/{la0[1]:.1f}/{la0[2]:.1f} at the start, {la1[0]:.1f}/{la1[1]:.1f}/{la1[2]:.1f} "
                f"at the end; work that was not the bench's kept {meta.get('other_cpu_pct', 0):.0f}% of the "
                f"{m['nproc']} CPUs busy on average over the run, so absolute times here are inflated and "
                "noisy; ratios from interleaved rounds hold up better.")
    vers = ", ".join(f"{k} {v}" for k, v in meta.get("versions", {}).items())
    return [f"Measured {meta['date']} by `bench/run_all.py{' --quick' if meta['quick'] else ''}` "
            f"({meta['elapsed_s'] / 60:.1f} min) on {m['nproc']} CPUs ({m['cpu']}), "
            f"{m['memory_gib']} GiB RAM, kernel {m['kernel']}, {m['os']}, Python {m.get('python', '?')}."
            f"{load}", "", f"Peers: {vers}.", "",
            "Generated from `bench/results/` by `python -m bench.report`; do not edit by hand "
            "(the analysis comes from `bench/analysis.md`).", ""]


def render(data: dict) -> str:
    meta, tools = data["meta"], data["tools"]
    table = agg.by_tool_n(data)
    names = [t for t in tools if t in table]
    ns = sorted({n for t in table.values() for n in t})
    extras = data.get("extras", {})
    out = ["# Benchmarks", "", *_where(meta), METHOD, ""]
    if meta.get("skipped"):
        out += ["Skipped: " + "; ".join(f"**{k}** ({v})" for k, v in meta["skipped"].items()), ""]
    out += ["## Targets", "", *targets.render(table, data), "",
            "A verdict is what this run measured on this machine under the load above, not a test result.", ""]
    model = by_process_model(table, tools)
    if model:
        out += ["## By process model (the README's table)", "", *model, "",
                "ip -batch (all N): one `ip -batch` for all sandboxes' host sides and one per sandbox inside, "
                "divided by N; ip -batch: three processes per sandbox; iproute2 loop: one per step.", ""]
    out += _analysis(data)
    out += ["## Create netns + attach, per sandbox (ms, median / p90)", "",
            *_grid(table, tools, names, ns, lambda f: _cell(f, "sandbox")), "",
            NETNS_NOTE, "",
            "![per-sandbox time vs N](img/bench-attach.png)", "",
            "## Attach only, netns excluded (ms, median / p90)", "",
            *_grid(table, tools, [t for t in names if not tools[t]["batch"]], ns,
                   lambda f: _cell(f, "attach")), ""]
    out += _ratios(data, table, tools, names, ns)
    out += ["## Teardown, per sandbox (ms, median / p90)", "",
            *_grid(table, tools, names, ns, lambda f: _cell(f, "teardown")), "",
            TEARDOWN_NOTE, "", "![teardown per sandbox vs N](img/bench-teardown.png)", ""]
    out += _totals(table, tools, names)
    out += report_extras.render(extras)
    out += _checks(table, tools, names, ns, data)
    return "\n".join(out) + "\n"


def _analysis(data: dict) -> list[str]:
    out = ["## Where the time goes", ""]
    if ANALYSIS.exists():
        out += [ANALYSIS.read_text().strip(), ""]
    prof = data.get("profile")
    if not prof or "workloads" not in prof:
        return out
    out += ["### cProfile of this run (own time per bucket, s; cProfile inflates the Python buckets)", "",
            "| workload | wall | " + " | ".join(BUCKET_SHORT) + " |", "|---|---|" + "---|" * len(BUCKET_SHORT)]
    for name, w in prof["workloads"].items():
        cells = [f"{w['buckets'].get(b, 0):.2f}" for b in BUCKET_SHORT.values()]
        out.append(f"| {name} | {w['wall_s']:.2f} | " + " | ".join(cells) + " |")
    out += ["", "Top functions by own time:", ""]
    out += [f"- {name}: " + ", ".join(f"`{f}` {t:.2f}" for f, t in w["top"][:4])
            for name, w in prof["workloads"].items()]
    cc, ci = prof.get("cli_create"), prof.get("cli_imports")
    if cc:
        out += ["", f"CLI: one `nsnet sandbox create X --network NET` process takes {cc['wall_ms']:.0f} ms (median of "
                    f"5), of which Python start-up and imports are about {cc['imports_ms']:.0f} ms (`-X importtime`, "
                    "top-level modules; bytecode cached)."]
    if ci and ci.get("import_ms"):
        top = ", ".join(f"`{n}` {ms:.0f}" for n, ms, depth in ci["top"] if depth >= 1)
        out += ["", f"`import nsnet.cli.main` alone takes {ci['import_ms']:.0f} ms "
                    f"(`python -c pass` {ci['python_bare_ms']:.0f} ms); the biggest imports (ms, cumulative): {top}."]
    return out + [""]


BUCKET_SHORT = {"kernel netlink": "kernel: netlink requests",
                "netns mount/umount": "kernel: netns create/delete (unshare, mount, umount, rmdir)",
                "SQLite": "SQLite store", "pyroute2 encode": "pyroute2 message encoding",
                "DNS upkeep": "DNS server upkeep (signal, resolv.conf, start)",
                "nft": "nftables (libnftables)", "files": "file system (/proc scans, /etc/netns files)",
                "sleep": "sleeping / waiting", "other Python": "other Python (nsnet and stdlib)"}


API_MODEL = ("nsnet", "floor", "ip-batchall")  # a library call per sandbox (or one batch for all)
PROCESS_MODEL = ("nsnet-cli", "nsnet-cli-inproc", "cni-bridge", "netavark", "ip-batch", "ip-loop")


def by_process_model(table, tools) -> list[str]:
    """The README's table: nsnet's API beside what costs no process per sandbox,
    its command line beside the tools that start one (or more) per sandbox;
    each group at the largest N all of its tools ran, from this one run."""
    out = ["| process model | tool | ms per sandbox | tool / nsnet |", "|---|---|---|---|"]
    for model, group, base in (("in-process", API_MODEL, "nsnet"), ("a process per sandbox", PROCESS_MODEL,
                                                                       "nsnet-cli")):
        ran = [t for t in group if t in table]
        common = set.intersection(*(set(table[t]) for t in ran)) if ran else set()
        if base not in ran or not common:
            continue
        n = 200 if 200 in common else max(common)
        ref = table[base][n]["sandbox"]["median"]
        for t in ran:
            ms = table[t][n]["sandbox"]["median"]
            out.append(f"| {model}, N={n} | {tools[t]['label']} | {ms:.2f} | {ms / ref:.2f} |")
    return out if len(out) > 2 else []


def _ratios(data, table, tools, names, ns) -> list[str]:
    head = ["## nsnet / peer (per-sandbox medians, ratio taken within each round, median over rounds; "
            "< 1 means nsnet is faster)", ""]
    if not any(t in table for t in ("nsnet", "nsnet-port", "nsnet-cli")):
        return head + ["nsnet was not measured in this run.", ""]
    peers = [t for t in names if not t.startswith("nsnet")]
    mine = [b for b in ("nsnet", "nsnet-cli") if b in table or (b == "nsnet" and "nsnet-port" in table)]

    def cell(base, peer, n):
        r = agg.nsnet_ratio(data, tools, peer, n, base)
        return "–" if r is None else f"{r[0]:.2f}" + ("*" if r[1] else "")

    cols = [(b, n) for b in mine for n in ns if b != "nsnet-cli" or n in table.get("nsnet-cli", {})]
    lines = ["| peer | " + " | ".join(f"{'CLI ' if b == 'nsnet-cli' else ''}N={n}" for b, n in cols) + " |",
             "|---|" + "---|" * len(cols)]
    for p in peers:
        lines.append(f"| {tools[p]['label']} | " + " | ".join(cell(b, p, n) for b, n in cols) + " |")
    note = ("\\* nsnet without a published port against the peer with one: a lower bound for nsnet's time. "
            "Plain N columns: nsnet's Python API (against a peer with a port: nsnet with a port); CLI columns: "
            "`nsnet sandbox create` processes (no port).")
    return head + lines + ["", note, ""]


def _totals(table, tools, names) -> list[str]:
    n = 200 if any(200 in table.get(t, {}) for t in names) else max(
        [k for t in table.values() for k in t], default=0)
    out = [f"## {n} sandboxes on one bridge: build and teardown (s, median over rounds)", "",
           "| tool | build | teardown |", "|---|---|---|"]
    for t in names:
        f = table[t].get(n)
        if f:
            out.append(f"| {tools[t]['label']} | {f['total_s']:.2f} | {f['teardown_total_s']:.2f} |")
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
    ex = data.get("extras", {})
    if ex:
        out += ["", "| extra workload | took s | other CPU | load before | settle s |", "|---|---|---|---|---|"]
        out += [f"| {k} | {r.get('elapsed_s', 0):.0f} | {r.get('other_cpu_pct', 0):.0f}% | "
                f"{r.get('load_before', 0):.1f} | {r.get('settle', {}).get('settle_s', 0):.1f} |"
                for k, r in ex.items()]
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
    from . import plots_extras  # matplotlib: installed with the bench's extras only
    from .plots import write_plots

    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(render(data))
    return ([DOC] + write_plots(agg.by_tool_n(data), data["tools"], IMG)
            + plots_extras.write(data.get("extras", {}), IMG))


def main(argv: list[str]) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m bench.report",
                                 description="Write docs/benchmarks.md and its plots from a results file.")
    ap.add_argument("results", nargs="?", default=str(RESULTS_DIR / "latest.json"),
                    help="a bench/results/*.json (default: the latest run)")
    args = ap.parse_args(argv)
    try:
        data = load(args.results)
    except (OSError, ValueError) as exc:
        print(f"bench.report: cannot read {args.results}: {exc}", file=sys.stderr)
        return 2
    for p in write(data):
        print("wrote", p)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
