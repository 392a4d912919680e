"""A dual-stack attach against an IPv4-only one, side by side in one run
(issue #19: dual-stack <= 1.3x IPv4-only at N=200).

One throwaway host with two networks, an IPv4-only one and a dual-stack one;
2N sandboxes attached alternately (A B A B ...), so both kinds see the same
load and reach the same network size N. Flat in N = the ratio in the first
quarter against the last. The last sandbox of each is checked over each of
its families (ping to the first one and to the gateway).

    .venv/bin/python bench/dualstack.py [--n 200] [--rounds 3]
"""

import argparse
import statistics
import subprocess
import sys
import time

if __package__ in (None, ""):  # run as a script: import the bench package as run_all does
    sys.path.insert(0, __file__.rsplit("/", 2)[0])
from bench.firewall import Lab

FOUR = "10.216.0.0/16"
DUAL = ["10.217.0.0/16", "fd00:217::/64"]


def _ping(netns: str, addr: str) -> bool:
    argv = ["ip", "netns", "exec", netns, "ping", "-n", "-q", "-c", "1", "-W", "1", addr]
    return any(subprocess.run(argv, capture_output=True).returncode == 0 for _ in range(3))


def dual_stack_cost(n: int) -> dict:
    lab = Lab()
    try:
        eng = lab.engine
        eng.network_create("four", subnet=FOUR)
        eng.network_create("dual", subnet=DUAL)
        times = {"four": [], "dual": []}
        for i in range(2 * n):
            net = "dual" if i % 2 else "four"
            t0 = time.perf_counter()
            eng.sandbox_create(f"s{i}", networks=[net])
            times[net].append((time.perf_counter() - t0) * 1e3)
        for net, last in (("four", 2 * n - 2), ("dual", 2 * n - 1)):
            row, first = eng.network_inspect(net), eng.endpoint_get(net, f"s{last % 2}")
            for addr in (row["gateway"], first["ip"], row.get("gateway6"), first.get("ip6")):
                if addr and not _ping(eng.netns_name(f"s{last}"), addr):
                    raise SystemExit(f"verification failed: s{last} ({net}) cannot reach {addr}")
        q = max(1, n // 4)

        def ratio(a, b):
            return round(statistics.median(a) / statistics.median(b), 3)

        four, dual = times["four"], times["dual"]
        return {"n": n, "ipv4_ms": round(statistics.median(four), 3), "dual_ms": round(statistics.median(dual), 3),
                "ratio": ratio(dual, four), "ratio_first_quarter": ratio(dual[:q], four[:q]),
                "ratio_last_quarter": ratio(dual[-q:], four[-q:])}
    finally:
        lab.close()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    ratios = []
    for r in range(args.rounds):
        res = dual_stack_cost(args.n)
        ratios.append(res["ratio"])
        print(f"round {r}: N={res['n']} IPv4-only {res['ipv4_ms']:.2f} ms, dual-stack {res['dual_ms']:.2f} ms per "
              f"attach: {res['ratio']:.2f}x (first quarter {res['ratio_first_quarter']:.2f}x, last "
              f"{res['ratio_last_quarter']:.2f}x)", flush=True)
    print(f"median of {args.rounds} rounds: {statistics.median(ratios):.2f}x (goal <= 1.3x)")


if __name__ == "__main__":
    sys.exit(main())
