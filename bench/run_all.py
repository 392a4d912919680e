"""Run every benchmark workload and write docs/benchmarks.md.

    sudo .venv/bin/python bench/run_all.py [--quick] [--tools a,b] [--ns 10,50] [--skip dns,overlay]

Full: first the extras (topology up/down of 200 sandboxes vs Mininet, 1,000
ports on one sandbox, iperf3 paths, bench/run.py, bench/overlay.py, a
cProfile of the workloads with targets), then attach N = 10, 50, 200 for
every tool and N = 1000 for nsnet, CNI bridge and ip -batch, then DNS; kept
under --budget-min (default 14) by skipping attach runs that would not fit.
--quick: N = 10, 50 and small extras; about two minutes.
"""

import argparse
import os
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: import `bench` as a package, and keep
    sys.path[0] = str(Path(__file__).resolve().parent.parent)  # bench/*.py from shadowing modules

from bench import report, results
from bench.extras import run_extras
from bench.floor_tool import KernelFloor
from bench.harness import SysctlGuard, stale_cleanup, trap_signals
from bench.nsnet_cli_tool import NsnetCliTool
from bench.nsnet_tool import NsnetTool
from bench.peer_cni import CniBridge
from bench.peer_iproute2 import IpBatch, IpBatchAll, IpLoop
from bench.peer_netavark import Netavark
from bench.runner import Budget, _cpu, attach_grid, other_cpu_pct
from bench.settle import Settler

# rounds: per N; port_rounds: for the variants with a port and the slow tools;
# only: the tools run at that N (the rest would not fit in 15 minutes); max_n:
# per tool, overrides the tool's own.
FULL = {"ns": [10, 50, 200, 1000], "rounds": {10: 3, 50: 2, 200: 2, 1000: 1},
        "port_rounds": {10: 2, 50: 1, 200: 1},
        "only": {1000: ["nsnet", "floor", "cni-bridge", "ip-batch", "ip-batchall"]},
        "topology": (200, 4, 3), "ports": 1000, "port_cost": 200, "dual_stack": 200, "iperf": (2, 5),
        "dns": (1000, 5000), "run": 10, "overlay": ["--seconds", "3", "--rounds", "3", "--joins", "10"],
        "profile": (200, 1000)}
QUICK = {"ns": [10, 50], "rounds": {10: 2, 50: 1}, "port_rounds": {10: 1, 50: 1}, "only": {},
         "max_n": {"nsnet-cli": 10, "nsnet-cli-inproc": 10, "cni-portmap": 10, "netavark-port": 10},
         "topology": (50, 2, 1), "ports": 200, "port_cost": 50, "dual_stack": 50, "iperf": (1, 1), "dns": (200, 2000),
         "run": 3,
         "overlay": ["--seconds", "1", "--rounds", "1", "--joins", "3"], "profile": (50, 200)}
EXTRAS = ("topology", "ports", "dual_stack", "iperf", "dns", "run", "overlay", "profile")


def all_tools() -> list:
    return [NsnetTool(), NsnetTool(ports=True), KernelFloor(), NsnetCliTool(), NsnetCliTool(in_process=True),
            CniBridge(), CniBridge(ports=True),
            Netavark(), Netavark(ports=True), IpLoop(), IpLoop(ports=True), IpBatch(), IpBatch(ports=True),
            IpBatchAll(), IpBatchAll(ports=True)]


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
    ap.add_argument("--no-extras", action="store_true", help="only the attach grid")
    ap.add_argument("--skip", default="", help=f"comma-separated extras to leave out: {','.join(EXTRAS)}")
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
    after = 0.5 if not args.no_extras and "dns" not in args.skip.split(",") else 0.0  # DNS runs after the grid
    budget, cpu0 = Budget(args.budget_min - after), _cpu()
    data = {"meta": {"date": results.now_iso(), "quick": args.quick, "machine": results.machine(),
                     "versions": results.tool_versions(), "skipped": {}, "skipped_runs": [],
                     "loadavg_start": os.getloadavg()},
            "tools": {}, "attach": [], "extras": {}}
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
                run_extras(plan, settler, data, set(args.skip.split(",")))
            attach_grid(tools, plan, settler, budget, data)
            if not args.no_extras:
                run_extras(plan, settler, data, set(args.skip.split(",")), phase="after")
        finally:
            data["meta"]["elapsed_s"] = round(budget.elapsed(), 1)
            data["meta"]["loadavg_end"] = os.getloadavg()
            data["meta"]["other_cpu_pct"] = other_cpu_pct(cpu0, _cpu())
            path = results.save(data)
            print(f"results: {path}", flush=True)
    data["meta"]["sysctls_restored"] = guard.changed
    results.save(data, path.name)
    for p in report.write(data):
        print(f"wrote {p}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
