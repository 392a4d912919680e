"""nsnet's CNI plugin against the reference bridge + host-local, side by side:
one process per ADD and per DEL for both, rounds interleaved, in the bench's
throwaway host namespaces (bench/harness.py). Prints per-call medians and the
ratios the CNI issue sets targets for (ADD <= 2x, DEL <= 1x the reference).

    .venv/bin/python bench/cni.py [--ns 10,200] [--rounds 2]
"""

import argparse
import os
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench.harness import trap_signals
from bench.nsnet_cni_tool import NsnetCniTool
from bench.peer_cni import CniBridge
from bench.runner import run_attach
from bench.settle import Settler
from bench.stats import summary


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ns", default="10,200", help="comma-separated numbers of containers")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("cni: needs root (network namespaces)", file=sys.stderr)
        return 2
    trap_signals()
    tools = [NsnetCniTool(), CniBridge()]
    for tool in tools:
        why = tool.available()
        if why:
            print(f"cni: {tool.name} unavailable: {why}", file=sys.stderr)
            return 2
    settler = Settler()
    settler.baseline()
    medians: dict = {}
    k = 0
    for n in (int(x) for x in args.ns.split(",")):
        for r in range(args.rounds):
            for tool in tools[r % 2:] + tools[:r % 2]:
                k += 1
                rec = run_attach(tool, n, f"c{k}", settler, r)
                if "error" in rec:
                    print(f"{tool.name} N={n}: {rec['error']}", file=sys.stderr)
                    return 1
                add, dele = summary(rec["attach_ms"]), summary(rec["teardown_ms"])
                ok = rec["verify"].get("ok") and not rec["leftovers"]
                print(f"{tool.name:<10} N={n:<4} round {r}: ADD median {add['median']:6.1f} ms p90 "
                      f"{add['p90']:6.1f}   DEL+netns median {dele['median']:6.1f} ms   "
                      f"{'ok' if ok else 'CHECK FAILED'}", flush=True)
                medians.setdefault((tool.name, n), []).append((add["median"], dele["median"]))
    for n in sorted({n for _, n in medians}):
        ours, ref = medians[("nsnet-cni", n)], medians[("cni-bridge", n)]
        add = sorted(a for a, _ in ours)[len(ours) // 2] / sorted(a for a, _ in ref)[len(ref) // 2]
        dele = sorted(d for _, d in ours)[len(ours) // 2] / sorted(d for _, d in ref)[len(ref) // 2]
        print(f"N={n}: nsnet-cni / bridge+host-local: ADD {add:.1f}x, DEL {dele:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
