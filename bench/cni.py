"""nsnet's CNI plugin against the reference bridge + host-local, side by side:
one process per ADD and per DEL for both, rounds interleaved, in the bench's
throwaway host namespaces (bench/harness.py). Prints per-call medians and the
ratios the CNI issue sets targets for (ADD <= 2x, DEL <= 1x the reference),
then --parallel ADDs started at once on a network not made yet (<= 1 s).

    .venv/bin/python bench/cni.py [--ns 10,200] [--rounds 2] [--parallel 20]
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench import proc
from bench.harness import HostNamespace, trap_signals
from bench.nsnet_cni_tool import NsnetCniTool
from bench.peer_cni import CniBridge
from bench.runner import run_attach
from bench.settle import Settler
from bench.stats import summary


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ns", default="10,200", help="comma-separated numbers of containers")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--parallel", type=int, default=20, help="ADDs started at once (0: none)")
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
    settler.wait()
    for r in range(args.rounds if args.parallel else 0):
        for tool in tools[r % 2:] + tools[:r % 2]:
            k += 1
            wall = parallel_adds(tool, args.parallel, f"p{k}")
            settler.wait(deleted=args.parallel)  # the next run does not pay this one's namespaces' release
            print(f"{tool.name:<10} {args.parallel} parallel ADDs (a new network): {wall:.2f} s", flush=True)
    return 0


def parallel_adds(tool, n: int, tag: str) -> float:
    """Seconds from starting `n` ADDs at once (processes started from this
    thread, which is inside the host namespace) until the last one is done;
    every ADD must succeed with its own address, and teardown leave nothing."""
    with HostNamespace(tag) as host:
        tool.setup_host(host)
        try:
            for i in range(n):
                tool.create_sandbox(i)
            calls = [tool.call_args("ADD", i) for i in range(n)]
            t0 = time.perf_counter()
            procs = [subprocess.Popen(argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
                     for argv, env, _ in calls]
            for p, (_, _, stdin) in zip(procs, calls, strict=True):
                p.stdin.write(stdin)
                p.stdin.close()
            outs = [p.stdout.read() for p in procs]
            wall = max(proc.exit_ms(p, t0, timeout=120) for p in procs) / 1000
            outs = [(out, p.returncode) for out, p in zip(outs, procs, strict=True)]
            addrs = set()
            for i, (out, code) in enumerate(outs):
                if code != 0:
                    raise RuntimeError(f"{tool.name} parallel ADD {i}: {out.decode().strip()}")
                addrs.add(json.loads(out)["ips"][0]["address"])
                tool.endpoints[i] = True
            if len(addrs) != n:
                raise RuntimeError(f"{tool.name}: {n} parallel ADDs gave {len(addrs)} distinct addresses")
            tool.teardown_all()
            left = tool.leftovers()
            if left:
                raise RuntimeError(f"{tool.name}: left after the parallel ADDs: {left[:4]}")
        finally:
            tool.close()
    return wall


if __name__ == "__main__":
    sys.exit(main())
