"""Attach N sandboxes to one bridge with nsnet's Python API, then tear down.

Prints per-attach median/p90 (sandbox create + connect, one plan each) and
the teardown time, for N = 10, 50, 200, 1000 (or --n). Runs inside a
throwaway host namespace; nothing else on the machine is touched.

    .venv/bin/python bench/attach.py [--n 200] [--rounds 1]
"""

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

from nsnet import Engine
from nsnet.kernel import nsfs

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from labhost import make_host, remove_host_files

SUBNET = "10.200.0.0/16"


def wait_kernel_idle(timeout=30.0):
    """Deleted namespaces are freed asynchronously, under locks that slow down
    link creation: wait until /proc/net/dev-visible netns count settles."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        count = int(subprocess.run(["sh", "-c", "lsns -t net -n | wc -l"], capture_output=True,
                                   text=True).stdout or 0)
        if count == last:
            return
        last = count
        time.sleep(0.5)


def one_run(n: int, dns: bool = True, subnet=SUBNET) -> dict:
    """`subnet`: one CIDR, or one per family (a dual-stack network)."""
    host = f"nbatt{uuid.uuid4().hex[:6]}"
    state = tempfile.mkdtemp(prefix=f"{host}-")
    make_host(host)
    try:
        eng = Engine(host_netns=host, state_dir=state)
        net = eng.network_create("bench", subnet=subnet, dns=dns)
        times = []
        for i in range(n):
            t0 = time.perf_counter()
            eng.sandbox_create(f"s{i}", networks=["bench"])
            times.append(time.perf_counter() - t0)
        # verify: the last sandbox reaches the first one and the gateway (of each family)
        last = eng.sandbox_inspect(f"s{n - 1}")["netns"]
        first = eng.sandbox_inspect("s0")["endpoints"][0]
        targets = [a for a in (net["gateway"], first["ip"], net.get("gateway6"), first.get("ip6")) if a]
        for target in targets:
            ok = subprocess.run(["ip", "netns", "exec", last, "ping", "-c1", "-W1", target],
                                capture_output=True).returncode == 0
            if not ok:
                raise SystemExit(f"verification failed: {last} cannot reach {target}")
        t0 = time.perf_counter()
        for i in range(n):
            eng.sandbox_rm(f"s{i}")
        teardown = time.perf_counter() - t0
        # The kernel frees unpinned namespaces (and their veths) asynchronously:
        # also report when the last host-side veth is really gone.
        while any(link["ifname"].startswith("nsv") for link in eng.kernel.links(None)):
            if time.perf_counter() - t0 > 60:
                raise SystemExit("leak: host-side veths still present after 60 s")
            time.sleep(0.02)
        drained = time.perf_counter() - t0
        eng.network_rm("bench")
        deadline = time.monotonic() + 10  # the server stops itself, soon after its last network goes
        while eng.dns_pid() is not None:
            if time.monotonic() > deadline:
                raise SystemExit("leak: the DNS server outlived its last network")
            time.sleep(0.05)
        leftovers = [ns for ns in nsfs.list_names() if ns.startswith(host + "-")]
        if leftovers:
            raise SystemExit(f"leak: {leftovers[:5]}")
        eng.close()
        ms = sorted(t * 1e3 for t in times)
        return {"n": n, "median_ms": statistics.median(ms), "p90_ms": ms[int(0.9 * (len(ms) - 1))],
                "teardown_s": teardown, "drained_s": drained}
    finally:
        for ns in nsfs.list_names():
            if ns.startswith(host + "-"):
                nsfs.delete(ns)
        subprocess.run(["ip", "netns", "del", host])
        remove_host_files(host)
        shutil.rmtree(state, ignore_errors=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, action="append", help="sandbox counts (default 10 50 200 1000)")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--no-dns", action="store_true", help="network without name resolution")
    args = ap.parse_args(argv)
    print(f"{'N':>6} {'median ms':>10} {'p90 ms':>8} {'teardown s':>11} {'links gone s':>13}")
    for n in args.n or [10, 50, 200, 1000]:
        for _ in range(args.rounds):
            wait_kernel_idle()
            r = one_run(n, dns=not args.no_dns)
            print(f"{r['n']:>6} {r['median_ms']:>10.2f} {r['p90_ms']:>8.2f} {r['teardown_s']:>11.2f} "
                  f"{r['drained_s']:>13.2f}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
