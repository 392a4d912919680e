"""DNS bench: nsnet's DNS server under load from sandboxes, and the per-test
lab, in throwaway hosts.

Load: one network with 1,000 sandboxes (1,000 names). Clients in 1 and then 8
sandboxes at once each send a bounded number of queries to 127.0.0.11 in their
own namespace (closed loop, one in flight per client, names chosen at random),
within a time bound. Prints queries/s, p50/p99 latency, and the server's RSS.

Lab: what a test suite does per test through the API: a network with DNS, 5
sandboxes, then everything removed (the server starts and stops with it);
rounds alternate with the same lab on a network without DNS, all on one host,
call by call. Prints the median and p95 of each, and when the first name
resolved. Then the nsnet_lab fixture's lab (a host of its own per test), tests
back to back and with a 100 ms body between them.

    .venv/bin/python bench/dns.py [--names 1000] [--queries 5000] [--lab-rounds 30] [--skip load|lab]
"""

import argparse
import json
import socket
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

CLIENT = r"""
import json, random, socket, sys, time
from dnslib import DNSRecord
server, count, names, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
queries = [DNSRecord.question(f"s{random.randrange(names)}").pack() for _ in range(512)]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1); s.connect((server, 53))
lat, lost, t0 = [], 0, time.perf_counter()
for i in range(count):
    if time.perf_counter() - t0 > limit:
        break
    a = time.perf_counter(); s.send(queries[i % 512])
    try:
        s.recv(4096); lat.append(time.perf_counter() - a)
    except TimeoutError:
        lost += 1
print(json.dumps({"lat": lat, "lost": lost, "elapsed": time.perf_counter() - t0}))
"""


RESOLVER = "127.0.0.11"


def run_clients(eng, clients: list[str], count: int, names: int, limit: float) -> dict:
    procs = [subprocess.Popen(["ip", "netns", "exec", eng.netns_name(c), sys.executable, "-c", CLIENT, RESOLVER,
                               str(count), str(names), str(limit)], stdout=subprocess.PIPE, text=True)
             for c in clients]
    results = [json.loads(p.communicate(timeout=limit + 30)[0]) for p in procs]
    lat = sorted(x for r in results for x in r["lat"])
    wall = max(r["elapsed"] for r in results)
    return {"clients": len(clients), "queries": len(lat), "lost": sum(r["lost"] for r in results),
            "qps": len(lat) / wall, "p50_ms": lat[len(lat) // 2] * 1e3, "p99_ms": lat[int(len(lat) * 0.99)] * 1e3}


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


def _resolves(eng, name: str) -> bool:
    return subprocess.run(["ip", "netns", "exec", eng.netns_name("s0"), "getent", "hosts", name],
                          capture_output=True, text=True, timeout=10).returncode == 0


def measure(names: int = 1000, queries: int = 5000, limit: float = 20.0, log=print) -> dict:
    """One throwaway host with `names` sandboxes on one network; 1 then 8
    clients.  Returns {names, setup_s, rss_mb, rss_after_mb, runs: [...]}."""
    host = f"nbdns{uuid.uuid4().hex[:6]}"
    state = tempfile.mkdtemp(prefix=f"{host}-")
    make_host(host)
    eng = Engine(host_netns=host, state_dir=state)
    out = {"names": names, "queries_per_client": queries}
    try:
        eng.network_create("bench", subnet="10.220.0.0/16")
        t0 = time.perf_counter()
        for i in range(names):
            eng.sandbox_create(f"s{i}", networks=["bench"])
        out["setup_s"] = round(time.perf_counter() - t0, 2)
        log(f"{names} sandboxes (names) in {out['setup_s']:.1f} s")
        deadline = time.monotonic() + 5
        while not _resolves(eng, f"s{names - 1}"):  # wait for the reload (bounded)
            if time.monotonic() > deadline:
                raise RuntimeError("verification failed: names do not resolve")
            time.sleep(0.05)
        pid = eng.dns_pid()
        out["rss_mb"] = round(rss_mb(pid), 1)
        log(f"server pid {pid}, RSS {out['rss_mb']:.1f} MB with {names} names")
        out["runs"] = []
        for clients in ([f"s{i}" for i in range(1)], [f"s{i}" for i in range(8)]):
            r = run_clients(eng, clients, queries, names, limit)
            out["runs"].append(r)
            log(f"{r['clients']} client(s): {r['queries']} answers, {r['lost']} lost, {r['qps']:.0f} q/s, "
                f"p50 {r['p50_ms']:.3f} ms, p99 {r['p99_ms']:.3f} ms")
        out["rss_after_mb"] = round(rss_mb(pid), 1)
        log(f"server RSS after load: {out['rss_after_mb']:.1f} MB")
        return out
    finally:
        eng.close()
        _remove_host(host, state)


def _first_answer(netns: str, name: str, limit: float = 10.0) -> None:
    """One query from inside `netns`, sent at once and answered whenever the
    server gets to it (it may still be starting); retried only if lost."""
    from dnslib import DNSRecord

    with nsfs.inside(netns):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        q = DNSRecord.question(name)
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            s.sendto(q.pack(), (RESOLVER, 53))
            s.settimeout(1.0)
            try:
                if DNSRecord.parse(s.recv(4096)).rr:
                    return
            except (TimeoutError, ConnectionRefusedError):
                time.sleep(0.001)
        raise RuntimeError(f"verification failed: {name} does not resolve")
    finally:
        s.close()


def _quantile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * q))]


def lab(rounds: int = 30, sandboxes: int = 5, log=print) -> dict:
    """The per-test lab through the API, with DNS and without, rounds interleaved.
    Returns {dns: {up_ms, down_ms, total_ms, first_answer_ms}, nodns: {...}} of lists."""
    host = f"nblab{uuid.uuid4().hex[:6]}"
    state = tempfile.mkdtemp(prefix=f"{host}-")
    make_host(host)
    out = {"dns": {"up_ms": [], "down_ms": [], "total_ms": [], "first_answer_ms": []},
           "nodns": {"up_ms": [], "down_ms": [], "total_ms": []}}
    try:
        for i in range(rounds * 2):
            dns = i % 2 == 0
            t0 = time.perf_counter()
            with Engine(host_netns=host, state_dir=state) as eng:
                eng.network_create("lab", subnet="10.231.0.0/24", dns=dns)
                for j in range(sandboxes):
                    eng.sandbox_create(f"s{j}", networks=["lab"])
                t1 = time.perf_counter()
                if dns:  # not part of the lab's time: when does the first name resolve?
                    _first_answer(eng.netns_name("s0"), f"s{sandboxes - 1}")
                    out["dns"]["first_answer_ms"].append((time.perf_counter() - t1) * 1e3)
                t2 = time.perf_counter()
                for j in range(sandboxes):
                    eng.sandbox_rm(f"s{j}")
                eng.network_rm("lab")
            t3 = time.perf_counter()
            r = out["dns" if dns else "nodns"]
            r["up_ms"].append((t1 - t0) * 1e3)
            r["down_ms"].append((t3 - t2) * 1e3)
            r["total_ms"].append((t1 - t0 + t3 - t2) * 1e3)
        for kind in ("dns", "nodns"):
            r = out[kind]
            log(f"lab {'with' if kind == 'dns' else 'without'} DNS: set-up {statistics.median(r['up_ms']):.1f} ms, "
                f"teardown {statistics.median(r['down_ms']):.1f} ms, total median "
                f"{statistics.median(r['total_ms']):.1f} ms, p95 {_quantile(r['total_ms'], 0.95):.1f} ms")
        log(f"first answer {statistics.median(out['dns']['first_answer_ms']):.0f} ms after set-up (median; "
            "the server starts meanwhile)")
        return out
    finally:
        _remove_host(host, state)


def fixture(rounds: int = 20, log=print) -> dict:
    """The per-test lab as a test suite gets it: the nsnet_lab fixture's Lab (a
    host namespace and state dir of its own, a network with DNS, 5 sandboxes,
    the teardown and its leak check), tests back to back and with a 100 ms body
    between them. {"back_to_back": [ms], "body_100ms": [ms]}, totals per test."""
    from nsnet.testing import Lab

    out = {}
    for key, body in (("back_to_back", 0.0), ("body_100ms", 0.1)):
        totals = []
        for _ in range(rounds):
            time.sleep(body)
            t0 = time.perf_counter()
            lab = Lab(tag="bfx")
            try:
                lab.network("lab", subnet="10.232.0.0/24")
                lab.sandboxes("s0", "s1", "s2", "s3", "s4", network="lab")
            finally:
                leaks = lab.close()
            totals.append((time.perf_counter() - t0) * 1e3)
            if leaks:
                raise RuntimeError(f"the lab leaked: {leaks}")
        out[key] = totals
        log(f"nsnet_lab fixture with DNS, {key.replace('_', ' ')}: median {statistics.median(totals):.1f} ms, "
            f"p95 {_quantile(totals, 0.95):.1f} ms")
    return out


def _remove_host(host: str, state: str) -> None:
    """The bench host, its sandboxes, its state and its DNS server (killed by pid)."""
    with Engine(host_netns=host, state_dir=state) as eng:
        pid = eng.dns_pid()
        if pid:
            subprocess.run(["kill", str(pid)])
    for ns in nsfs.list_names():
        if ns.startswith(host + "-"):
            nsfs.delete(ns)
    subprocess.run(["ip", "netns", "del", host])
    subprocess.run(["rm", "-rf", state])
    remove_host_files(host)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--names", type=int, default=1000)
    ap.add_argument("--queries", type=int, default=5000, help="per client")
    ap.add_argument("--limit", type=float, default=20.0, help="seconds per client, at most")
    ap.add_argument("--lab-rounds", type=int, default=30)
    ap.add_argument("--skip", default="", help="load or lab")
    args = ap.parse_args(argv)
    if "lab" not in args.skip:
        lab(args.lab_rounds)
        fixture(args.lab_rounds)
    if "load" not in args.skip:
        measure(args.names, args.queries, args.limit)


if __name__ == "__main__":
    sys.exit(main())
