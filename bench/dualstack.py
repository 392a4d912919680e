"""A dual-stack attach against an IPv4-only one, side by side in one run
(issue #19: dual-stack <= 1.3x IPv4-only at N=200).

Rounds alternate the two (each in a throwaway host namespace of its own, the
kernel left to settle between them), so the machine's noise falls on both.

    .venv/bin/python bench/dualstack.py [--n 200] [--rounds 3]
"""

import argparse
import statistics
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from attach import SUBNET, one_run, wait_kernel_idle

DUAL = [SUBNET, "fd00:200::/64"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    medians = {"ipv4": [], "dual": []}
    print(f"{'round':>5} {'variant':>8} {'median ms':>10} {'p90 ms':>8}")
    for r in range(args.rounds):
        for variant, subnet in (("ipv4", SUBNET), ("dual", DUAL)) if r % 2 == 0 else (("dual", DUAL), ("ipv4", SUBNET)):
            wait_kernel_idle()
            res = one_run(args.n, subnet=subnet)
            medians[variant].append(res["median_ms"])
            print(f"{r:>5} {variant:>8} {res['median_ms']:>10.2f} {res['p90_ms']:>8.2f}", flush=True)
    v4, dual = statistics.median(medians["ipv4"]), statistics.median(medians["dual"])
    print(f"N={args.n}: IPv4-only {v4:.2f} ms, dual-stack {dual:.2f} ms per attach: {dual / v4:.2f}x (goal <= 1.3x)")


if __name__ == "__main__":
    sys.exit(main())
