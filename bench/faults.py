"""Faults bench: partitions, impairments and the pytest fixture, side by side
with what Jepsen / blockade (an iptables rule per node pair, one process each)
and Mininet (taking a link down, one process per interface) do. Everything
runs in throwaway labs (nsnet.testing.Lab): nothing touches the machine's own
networking, every loop is bounded in count and time.

    .venv/bin/python bench/faults.py [--ns 5,50,200] [--reps 30] [--quick]

Prints one Markdown table per measure (medians, ms) and the accuracy of loss
(2,000 pings at --loss 20) and rate (TCP through --rate 10mbit, iperf3)."""

import argparse
import json
import re
import statistics
import subprocess
import sys
import time

from nsnet.testing import Lab

NET = "10.90.0.0/20"


def median_ms(samples) -> float:
    return statistics.median(samples) * 1e3


def timed(call) -> float:
    t = time.perf_counter()
    call()
    return time.perf_counter() - t


def lab_with(n: int, dns: bool = False) -> tuple[Lab, list[str]]:
    lab = Lab(tag="gf")
    lab.network("n", subnet=NET, dns=dns)
    ips = lab.sandboxes(*[f"s{i}" for i in range(n)], network="n")
    return lab, ips


# -- partitions ------------------------------------------------------------------------------
def nsnet_partition(n: int, reps: int) -> dict:
    """API, steady state (tables made by a first partition), and the first one."""
    lab, _ = lab_with(n)
    try:
        first = timed(lambda: lab.engine.partition([["s0"]]))
        lab.engine.heal()
        part, heal = [], []
        for _ in range(reps):
            part.append(timed(lambda: lab.engine.partition([["s0"]])))
            heal.append(timed(lab.engine.heal))
        half = [f"s{i}" for i in range(n // 2)]
        rest = [f"s{i}" for i in range(n // 2, n)]
        lab.engine.partition([half, rest])
        lab.engine.heal()
        halves = [timed(lambda: lab.engine.partition([half, rest])) for _ in range(max(3, reps // 5))]
        lab.engine.heal()
        return {"first": first * 1e3, "partition": median_ms(part), "heal": median_ms(heal),
                "halves": median_ms(halves)}
    finally:
        _close(lab)


def per_pair_rules(n: int, reps: int) -> dict:
    """Jepsen's net/drop! (blockade is alike): on every node, an iptables rule per
    peer of another group, one process each; heal flushes every node."""
    lab, ips = lab_with(n)
    try:
        netns = [lab.netns(f"s{i}") for i in range(n)]

        def rule(ns, src, verb="-A"):
            subprocess.run(["ip", "netns", "exec", ns, "iptables", "-w", verb, "INPUT", "-s", src, "-j", "DROP"],
                           check=True, capture_output=True)

        def partition():  # s0 alone against the others, both ways
            for i in range(1, n):
                rule(netns[i], ips[0])
                rule(netns[0], ips[i])

        def heal():
            for ns in netns:
                subprocess.run(["ip", "netns", "exec", ns, "iptables", "-w", "-F", "INPUT"], check=True,
                               capture_output=True)

        part, cure = [], []
        for _ in range(reps):
            part.append(timed(partition))
            cure.append(timed(heal))
        return {"partition": median_ms(part), "heal": median_ms(cure), "processes": 2 * (n - 1)}
    finally:
        _close(lab)


def link_down(n: int, reps: int) -> dict:
    """Mininet's configLinkStatus(s0, switch, 'down'): both ends of s0's link
    down, one process per interface (cuts s0 from the host too; groups cannot
    be told this way on one switch)."""
    lab, _ = lab_with(n)
    try:
        ns0 = lab.netns("s0")
        host_end = lab.engine.sandbox_inspect("s0", live=False)["endpoints"][0]["host_ifname"]

        def set_links(state):
            subprocess.run(["ip", "-n", ns0, "link", "set", "eth0", state], check=True)
            subprocess.run(["ip", "-n", lab.name, "link", "set", host_end, state], check=True)

        down, up = [], []
        for _ in range(reps):
            down.append(timed(lambda: set_links("down")))
            up.append(timed(lambda: set_links("up")))
        return {"partition": median_ms(down), "heal": median_ms(up), "processes": 2}
    finally:
        _close(lab)


# -- impairments -----------------------------------------------------------------------------
def nsnet_impair(reps: int) -> dict:
    lab, _ = lab_with(5)
    try:
        loss, rate, clear = [], [], []
        for _ in range(reps):
            loss.append(timed(lambda: lab.engine.impair("s0", loss=20)))
            rate.append(timed(lambda: lab.engine.impair("s0", loss=20, rate="10mbit", to=["s1"])))
            clear.append(timed(lambda: lab.engine.impair("s0", clear=True)))
        return {"loss": median_ms(loss), "loss+rate --to": median_ms(rate), "clear": median_ms(clear)}
    finally:
        _close(lab)


def loss_accuracy(count: int = 2000, trials: int = 3) -> list[float]:
    lab, ips = lab_with(2)
    try:
        lab.engine.impair("s0", loss=20)
        out = []
        for _ in range(trials):
            r = lab.exec("s0", "ping", "-n", "-q", "-i", "0.002", "-W", "1", "-c", str(count), ips[1], timeout=120)
            received = int(re.search(r"(\d+) received", r.stdout).group(1))
            out.append(100 * (count - received) / count)
        return out
    finally:
        _close(lab)


def rate_accuracy(seconds: int = 5, trials: int = 3) -> list[float]:
    """TCP goodput (Mbit/s, iperf3's receiver) from s0 through --rate 10mbit to s1."""
    lab, ips = lab_with(2)
    try:
        lab.engine.impair("s0", rate="10mbit")
        out = []
        for _ in range(trials):
            server = lab.start("s1", "iperf3", "-s", "-1", "-B", ips[1])
            time.sleep(0.3)
            r = lab.exec("s0", "iperf3", "-c", ips[1], "-t", str(seconds), "-J", timeout=seconds + 30)
            server.wait(timeout=10)
            out.append(json.loads(r.stdout)["end"]["sum_received"]["bits_per_second"] / 1e6)
        return out
    finally:
        _close(lab)


# -- the fixture -------------------------------------------------------------------------------
def fixture_cycle(reps: int, dns: bool, apart: float = 0.0) -> dict:
    """What the nsnet_lab fixture does for a test that builds a 5-sandbox network:
    the lab, the network, 5 sandboxes, then the teardown and its leak check.
    `apart`: seconds between the end of one and the start of the next, a test's
    body waiting on packets. The kernel frees a lab's namespaces after its
    teardown returns (batched, with RCU grace periods and the RTNL lock); back
    to back (0), the next set-up waits for that lock and shares the CPUs."""
    setup, teardown = [], []
    for _ in range(reps):
        time.sleep(apart)
        t0 = time.perf_counter()
        lab = Lab(tag="gf")
        lab.network("n", subnet=NET, dns=dns)
        lab.sandboxes("a", "b", "c", "d", "e", network="n")
        t1 = time.perf_counter()
        leaks = lab.close()
        t2 = time.perf_counter()
        assert not leaks, leaks
        setup.append(t1 - t0)
        teardown.append(t2 - t1)
    totals = sorted(a + b for a, b in zip(setup, teardown, strict=True))
    return {"setup": median_ms(setup), "teardown": median_ms(teardown), "total": median_ms(totals),
            "p95": totals[min(len(totals) - 1, int(len(totals) * 0.95))] * 1000}


def _close(lab: Lab) -> None:
    leaks = lab.close()
    if leaks:
        print("leaked:", leaks, file=sys.stderr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ns", default="5,50,200")
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--quick", action="store_true", help="N = 5, 50; fewer repetitions; no rate accuracy")
    args = ap.parse_args()
    ns = [5, 50] if args.quick else [int(x) for x in args.ns.split(",")]
    reps = 10 if args.quick else args.reps

    print("## partition / heal (median ms; s0 cut off from N-1 others)\n")
    print("| N | nsnet partition | nsnet heal | nsnet first partition | nsnet halves (N/2 named each) "
          "| iptables per pair (Jepsen/blockade) | its heal | processes | link down (Mininet) | link up |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in ns:
        ours = nsnet_partition(n, reps)
        pairs = per_pair_rules(n, max(2, min(reps, 600 // n)))
        link = link_down(n, reps)
        print(f"| {n} | {ours['partition']:.2f} | {ours['heal']:.2f} | {ours['first']:.2f} | {ours['halves']:.2f} "
              f"| {pairs['partition']:.1f} | {pairs['heal']:.1f} | {pairs['processes']} "
              f"| {link['partition']:.1f} | {link['heal']:.1f} |", flush=True)

    imp = nsnet_impair(reps)
    print("\n## impair (median ms, API)\n")
    print("| --loss 20 | --loss 20 --rate 10mbit --to s1 | --clear |\n|---|---|---|")
    print(f"| {imp['loss']:.2f} | {imp['loss+rate --to']:.2f} | {imp['clear']:.2f} |", flush=True)

    print("\n## the nsnet_lab fixture: 5 sandboxes on one network (median ms)\n")
    print("| network | tests | setup | teardown + leak check | total | p95 |\n|---|---|---|---|---|---|")
    for apart in (0.0, 0.1):
        for dns in (True, False):
            f = fixture_cycle(max(5, reps // 2), dns, apart)
            spacing = f"{apart * 1000:.0f} ms apart" if apart else "back to back"
            print(f"| {'with DNS' if dns else '--no-dns'} | {spacing} "
                  f"| {f['setup']:.1f} | {f['teardown']:.1f} | {f['total']:.1f} | {f['p95']:.1f} |", flush=True)

    losses = loss_accuracy()
    print("\n## accuracy\n")
    print(f"- --loss 20, 2,000 pings: measured loss {', '.join(f'{x:.1f}%' for x in losses)}")
    if not args.quick:
        rates = rate_accuracy()
        print(f"- --rate 10mbit, TCP (iperf3, 5 s): {', '.join(f'{x:.2f}' for x in rates)} Mbit/s")


if __name__ == "__main__":
    main()
