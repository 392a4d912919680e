"""Firewall benchmarks (issue: published ports, NAT), in throwaway namespaces.

  a) attach with one published port per sandbox vs without, N = 10..1000
  b) 1,000 ports published one by one on one sandbox: 1st vs 1,000th add/remove
  c) TCP throughput (iperf3): nsnet bridge vs a hand-made veth+bridge, and a
     published port vs the same server reached directly

    .venv/bin/python bench/firewall.py [--quick]
"""

import argparse
import json
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
from attach import wait_kernel_idle
from labhost import make_host, remove_host_files


def sh(*argv, check=True, **kw):
    return subprocess.run(argv, check=check, capture_output=True, text=True, **kw)


class Lab:
    """A throwaway host namespace with an engine, and an outside namespace."""

    def __init__(self):
        self.host = f"nbfw{uuid.uuid4().hex[:6]}"
        self.state = tempfile.mkdtemp(prefix=f"{self.host}-")
        make_host(self.host)
        self.engine = Engine(host_netns=self.host, state_dir=self.state)

    def add_outside(self):
        self.outside = self.host + "o"
        sh("ip", "netns", "add", self.outside)
        sh("ip", "-n", self.host, "link", "add", "nblan", "type", "veth", "peer", "name", "eth0", "netns", self.outside)
        sh("ip", "-n", self.host, "addr", "add", "10.78.0.1/24", "dev", "nblan")
        sh("ip", "-n", self.host, "link", "set", "nblan", "up")
        sh("ip", "-n", self.outside, "addr", "add", "10.78.0.2/24", "dev", "eth0")
        sh("ip", "-n", self.outside, "link", "set", "eth0", "up")
        sh("ip", "-n", self.outside, "link", "set", "lo", "up")

    def close(self):
        """Remove the sandboxes through the engine, unpin whatever is left, close
        the engine (its cached netlink sockets hold the sandboxes' namespaces),
        then wait (bounded) until the kernel has freed the sandboxes' veths, so
        the next measurement does not run against that cleanup."""
        try:
            for sb in self.engine.sandbox_ls():
                self.engine.sandbox_rm(sb["name"])
        finally:
            self.engine.close()
            for ns in nsfs.list_names():
                if ns.startswith(self.host + "-") or ns == self.host + "o":
                    nsfs.delete(ns)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and "nsv" in sh("ip", "-n", self.host, "-o", "link", check=False).stdout:
                time.sleep(0.05)
            nsfs.delete(self.host)
            remove_host_files(self.host)
            shutil.rmtree(self.state, ignore_errors=True)


def attach_with_ports(n: int, with_port: bool) -> list[float]:
    lab = Lab()
    try:
        lab.engine.network_create("b", subnet="10.210.0.0/16")
        times = []
        for i in range(n):
            publish = [f"{20000 + i}:80"] if with_port else None
            t0 = time.perf_counter()
            lab.engine.sandbox_create(f"s{i}", networks=["b"], publish=publish)
            times.append((time.perf_counter() - t0) * 1e3)
        if with_port:  # verify the last port: a TCP connect from the host reaches the sandbox
            srv = subprocess.Popen(["ip", "netns", "exec", lab.engine.netns_name(f"s{n - 1}"), "python3", "-c",
                                    "import socket;s=socket.socket();s.bind(('',80));s.listen();print(1,flush=True);"
                                    "s.settimeout(5);s.accept()"], stdout=subprocess.PIPE, text=True)
            srv.stdout.readline()
            ok = sh("ip", "netns", "exec", lab.host, "python3", "-c",
                    f"import socket;socket.create_connection(('127.0.0.1',{20000 + n - 1}),3)", check=False)
            srv.kill()
            srv.wait()
            if ok.returncode != 0:
                raise RuntimeError("verification failed: published port not reachable")
        return times
    finally:
        lab.close()


def port_cost(n: int) -> dict:
    """What one published port adds to an attach, measured finely interleaved:
    2n sandboxes on one network, every other one with a port (A B A B ...),
    so both kinds see the same load and the same network size.  Flat in N =
    the difference in the first quarter vs the last."""
    lab = Lab()
    try:
        lab.engine.network_create("b", subnet="10.215.0.0/16")
        plain, ported = [], []
        for i in range(2 * n):
            publish = [f"{21000 + i}:80"] if i % 2 else None
            t0 = time.perf_counter()
            lab.engine.sandbox_create(f"s{i}", networks=["b"], publish=publish)
            (ported if publish else plain).append((time.perf_counter() - t0) * 1e3)
        q = max(1, n // 4)

        def diff(a, b):
            return round(statistics.median(a) - statistics.median(b), 3)

        return {"n": n, "plain_ms": round(statistics.median(plain), 3), "port_ms": round(statistics.median(ported), 3),
                "added_ms": diff(ported, plain), "added_first_quarter_ms": diff(ported[:q], plain[:q]),
                "added_last_quarter_ms": diff(ported[-q:], plain[-q:])}
    finally:
        lab.close()


def thousand_ports(count: int) -> dict:
    lab = Lab()
    try:
        lab.engine.network_create("b", subnet="10.211.0.0/24")
        lab.engine.sandbox_create("s", networks=["b"])
        add, rm = [], []
        for i in range(count):
            t0 = time.perf_counter()
            lab.engine.port_publish("s", [f"{30000 + i}:{1000 + i}"])
            add.append((time.perf_counter() - t0) * 1e3)
        rules = sh("ip", "netns", "exec", lab.host, "nft", "-j", "list", "chain", "inet", "nsnet", "prerouting").stdout
        rule_count = sum(1 for x in json.loads(rules)["nftables"] if "rule" in x)
        for i in range(count):
            t0 = time.perf_counter()
            lab.engine.port_unpublish("s", [f"{30000 + i}:{1000 + i}"])
            rm.append((time.perf_counter() - t0) * 1e3)
        return {"count": count, "add_first_ms": add[0], "add_last_ms": add[-1],
                "add_median_ms": statistics.median(add), "rm_first_ms": rm[0], "rm_last_ms": rm[-1],
                "rm_median_ms": statistics.median(rm), "prerouting_rules": rule_count,
                # single samples are noisy on a busy machine: also the first and last tenth
                "add_first10_ms": statistics.median(add[:max(1, count // 10)]),
                "add_last10_ms": statistics.median(add[-max(1, count // 10):]),
                "rm_first10_ms": statistics.median(rm[:max(1, count // 10)]),
                "rm_last10_ms": statistics.median(rm[-max(1, count // 10):]),
                "add_ms": [round(x, 3) for x in add], "rm_ms": [round(x, 3) for x in rm]}
    finally:
        lab.close()


def iperf(server_ns, client_ns, addr, port=5201, seconds=2, server_port=None) -> float:
    srv = subprocess.Popen(["ip", "netns", "exec", server_ns, "iperf3", "-s", "-1", "-p", str(server_port or port)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(50):  # wait until the server listens (bounded: 5 s)
            if f":{server_port or port} " in sh("ip", "netns", "exec", server_ns, "ss", "-ltnH").stdout:
                break
            time.sleep(0.1)
        out = sh("ip", "netns", "exec", client_ns, "iperf3", "-c", addr, "-p", str(port), "-t", str(seconds), "-J",
                 timeout=seconds + 20, check=False)
        data = json.loads(out.stdout)
        if "error" in data:
            raise RuntimeError(f"iperf3 {client_ns} -> {addr}:{port}: {data['error']}")
        return data["end"]["sum_received"]["bits_per_second"] / 1e9
    finally:
        srv.kill()
        srv.wait()


PATHS = ("veth_direct", "raw_bridge", "nsnet_bridge", "direct", "published")


def _raw_pair(lab, names, addrs, bridge=None) -> None:
    """Two namespaces joined by a veth (bridge=None) or by two veths on `bridge`."""
    for ns in names:
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
    if bridge is None:
        sh("ip", "-n", names[0], "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", names[1])
    else:
        sh("ip", "-n", lab.host, "link", "add", bridge, "type", "bridge")
        sh("ip", "-n", lab.host, "link", "set", bridge, "up")
        for i, ns in enumerate(names):
            sh("ip", "-n", lab.host, "link", "add", f"{bridge}{i}", "type", "veth", "peer", "name", "eth0", "netns", ns)
            sh("ip", "-n", lab.host, "link", "set", f"{bridge}{i}", "master", bridge, "up")
    for ns, addr in zip(names, addrs, strict=True):
        sh("ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")


def throughput(rounds: int, seconds: int = 2, log=None) -> dict:
    """TCP Gbit/s, paths interleaved round by round (A B C D E, A B C D E, ...):
    veth_direct  a hand-made veth pair between two namespaces
    raw_bridge   two hand-made veths on a hand-made bridge
    nsnet_bridge two nsnet sandboxes on an nsnet bridge network
    direct       outside namespace -> nsnet sandbox, routed through the host
    published    outside namespace -> host:15201, DNAT to the same sandbox
    Returns {path: median, "samples": {path: [...]}, "rounds": n, "seconds": s}."""
    lab = Lab()
    raw = [f"{lab.host}r{i}" for i in range(4)]
    try:
        lab.add_outside()
        e = lab.engine
        e.network_create("b", subnet="10.212.0.0/24")
        e.sandbox_create("a", networks=["b"])
        e.sandbox_create("srv", networks=["b"], publish=["15201:5201"])
        sh("ip", "-n", lab.outside, "route", "add", "10.212.0.0/24", "via", "10.78.0.1")
        _raw_pair(lab, raw[:2], ["10.213.0.2", "10.213.0.3"], bridge="nbrawbr")  # as a tutorial would
        _raw_pair(lab, raw[2:], ["10.214.0.2", "10.214.0.3"])
        a, srv = e.netns_name("a"), e.netns_name("srv")
        runs = {"veth_direct": (raw[3], raw[2], "10.214.0.3", 5201, None),
                "raw_bridge": (raw[1], raw[0], "10.213.0.3", 5201, None),
                "nsnet_bridge": (srv, a, "10.212.0.3", 5201, None),
                "direct": (srv, lab.outside, "10.212.0.3", 5201, None),
                "published": (srv, lab.outside, "10.78.0.1", 15201, 5201)}
        samples = {k: [] for k in PATHS}
        for r in range(rounds):
            for key in PATHS:
                server, client, addr, port, sport = runs[key]
                samples[key].append(iperf(server, client, addr, port=port, seconds=seconds, server_port=sport))
                if log:
                    log(f"  iperf3 {key:<13} round {r}: {samples[key][-1]:.1f} Gbit/s")
        return ({k: statistics.median(v) for k, v in samples.items()}
                | {"samples": samples, "rounds": rounds, "seconds": seconds})
    finally:
        for ns in raw:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        lab.close()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    sizes = [10, 50] if args.quick else [10, 50, 200, 1000]
    print("a) attach, median ms   without port | with one port (last 10%) | added   [rounds interleaved]")
    rounds = 1 if args.quick else 2
    for n in sizes:
        plain, ported = [], []
        for _ in range(rounds):
            wait_kernel_idle()
            plain += attach_with_ports(n, False)
            wait_kernel_idle()
            ported += attach_with_ports(n, True)
        pm, wm = statistics.median(plain), statistics.median(ported)
        tail = statistics.median(ported[-max(1, n // 10):])
        print(f"   N={n:<5} {pm:8.2f} | {wm:8.2f} (last 10%: {tail:.2f}) | {wm - pm:+.2f}", flush=True)
    wait_kernel_idle()
    count = 200 if args.quick else 1000
    r = thousand_ports(count)
    print(f"b) {count} ports on one sandbox: add 1st {r['add_first_ms']:.2f} ms, {count}th {r['add_last_ms']:.2f} ms "
          f"(median {r['add_median_ms']:.2f}); remove 1st {r['rm_first_ms']:.2f}, last {r['rm_last_ms']:.2f} "
          f"(median {r['rm_median_ms']:.2f}); prerouting rules with {count} ports: {r['prerouting_rules']}")
    wait_kernel_idle()
    t = throughput(1 if args.quick else 3)
    print(f"c) TCP Gbit/s (median of {t['rounds']}): veth pair {t['veth_direct']:.1f}, raw veth+bridge "
          f"{t['raw_bridge']:.1f}, nsnet bridge "
          f"{t['nsnet_bridge']:.1f} ({t['nsnet_bridge'] / t['raw_bridge']:.2f}x raw); direct {t['direct']:.1f}, "
          f"published port {t['published']:.1f} ({t['published'] / t['direct']:.2f}x direct)")


if __name__ == "__main__":
    sys.exit(main())
