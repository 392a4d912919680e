"""Run every benchmark workload and write docs/benchmarks.md.

    sudo .venv/bin/python bench/run_all.py [--quick] [--tools a,b] [--ns 10,50]

Full: attach N = 10, 50, 200, 1000 (variants with a published port and the
one-process-per-step iproute2 loop stop at 200), Mininet 200 hosts,
iperf3; kept under --budget-min (default 14) by skipping what would not fit.
--quick: N = 10, 50, Mininet 50 hosts, short iperf3; about two minutes.
"""

import argparse
import os
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: import `bench` as a package, and keep
    sys.path[0] = str(Path(__file__).resolve().parent.parent)  # bench/*.py from shadowing modules

from bench import peer_iperf, peer_mininet, report, results
from bench.harness import SysctlGuard, stale_cleanup, trap_signals
from bench.nsnet_tool import NsnetTool
from bench.peer_cni import CniBridge
from bench.peer_iproute2 import IpBatch, IpBatchAll, IpLoop
from bench.peer_netavark import Netavark
from bench.runner import Budget, attach_grid
from bench.settle import Settler

FULL = {"ns": [10, 50, 200, 1000], "rounds": {10: 3, 50: 2, 200: 2, 1000: 1},
        "port_rounds": {10: 3, 50: 2, 200: 1}, "mininet": (200, 2), "iperf": (3, 3)}
QUICK = {"ns": [10, 50], "rounds": {10: 2, 50: 1}, "port_rounds": {10: 2, 50: 1},
         "mininet": (50, 1), "iperf": (2, 1)}


def all_tools() -> list:
    return [NsnetTool(), NsnetTool(ports=True), CniBridge(), CniBridge(ports=True), Netavark(), Netavark(ports=True),
            IpLoop(), IpLoop(ports=True), IpBatch(), IpBatch(ports=True), IpBatchAll(),
            IpBatchAll(ports=True)]


def pick_tools(names: str | None, skipped: dict) -> list:
    tools = []
    for t in all_tools():
        if names and t.name not in names.split(","):
            continue
        why = t.available()
        if why:
            skipped[t.name] = why
            print(f"  skip {t.name}: {why}", flush=True)
        else:
            tools.append(t)
    return tools


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small subset, about two minutes")
    ap.add_argument("--tools", help="comma-separated tool names (default: all available)")
    ap.add_argument("--ns", help="comma-separated N values for the attach workload")
    ap.add_argument("--budget-min", type=float, default=14.0, help="stop starting runs after this")
    ap.add_argument("--no-extras", action="store_true", help="skip Mininet and iperf3")
    ap.add_argument("--quiet", type=float, metavar="PCT",
                    help="before each run also wait (<= 5 s) until other work uses < PCT%% of the CPUs")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("run_all: needs root (network namespaces)", file=sys.stderr)
        return 2
    plan = dict(QUICK if args.quick else FULL)
    if args.ns:
        plan["ns"] = [int(x) for x in args.ns.split(",")]
        plan["rounds"] = {n: plan["rounds"].get(n, 1) for n in plan["ns"]}
        plan["port_rounds"] = {n: plan["port_rounds"].get(n, 1) for n in plan["ns"]}
    budget = Budget(args.budget_min)
    data = {"meta": {"date": results.now_iso(), "quick": args.quick, "machine": results.machine(),
                     "versions": results.tool_versions(), "skipped": {}, "skipped_runs": []},
            "tools": {}, "attach": [], "mininet": [], "iperf": []}
    gone = stale_cleanup()
    if gone:
        print(f"removed {len(gone)} namespaces left by a dead bench run", flush=True)
    settler = Settler(quiet_pct=args.quiet)
    print(f"idle namespace excess (slab - alive): {settler.baseline()}", flush=True)
    tools = pick_tools(args.tools, data["meta"]["skipped"])
    data["tools"] = {t.name: {"label": t.label, "family": t.family, "ports": t.ports,
                              "batch": t.batch} for t in tools}
    with trap_signals(), SysctlGuard() as guard:
        try:
            if not args.no_extras:
                extras(plan, settler, data)
            attach_grid(tools, plan, settler, budget, data)
        finally:
            data["meta"]["elapsed_s"] = round(budget.elapsed(), 1)
            path = results.save(data)
            print(f"results: {path}", flush=True)
    data["meta"]["sysctls_restored"] = guard.changed
    results.save(data, path.name)
    for p in report.write(data):
        print(f"wrote {p}", flush=True)
    return 0


def extras(plan, settler, data) -> None:
    seconds, rounds = plan["iperf"]
    why = peer_iperf.available()
    if why:
        data["meta"]["skipped"]["iperf3"] = why
    else:
        print(f"iperf3: {rounds} round(s) of {seconds}s per path", flush=True)
        data["iperf"] = peer_iperf.run_iperf(seconds, rounds, "q1", settler)
    n, rounds = plan["mininet"]
    why = peer_mininet.available()
    if why:
        data["meta"]["skipped"]["mininet"] = why
        return
    for r in range(rounds):
        rec = peer_mininet.run_mininet(n, f"m{r + 1}", settler, r)
        data["mininet"].append(rec)
        print(f"  {peer_mininet.describe(rec)}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
