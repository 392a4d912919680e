"""Overlay benchmark (issues 6 and 18), in throwaway namespaces ('nvb' +
random, or --prefix): an etcd on 127.0.0.1 (random ports, temp dir), an
underlay bridge namespace, two host namespaces each with an nsnet engine and
an `nsnet agent`.

  a) TCP throughput (iperf3), in one run, interleaved rounds, medians:
       overlay    sandbox a1 -> sandbox b1 across the VXLAN overlay
       routed     the same kind of pair over the underlay directly: sandboxes on a
                  bridge network per host, routed host to host, no encapsulation
       underlay   host A -> host B (the raw pipe)
       encrypted  sandbox a3 -> sandbox b3 across an encrypted overlay (VXLAN
                  inside WireGuard)
       wireguard  host A -> host B through the same WireGuard tunnel, bare (the
                  hosts' tunnel addresses: no VXLAN)
  b) join latency: connect a new sandbox on host A (Python API) until b1 on
     host B gets a ping reply from it; median of 20; the same on the encrypted
     overlay, and the first join of a fresh host (its WireGuard device starts);
     and over IPv6 on a dual-stack overlay (b4 pings the new sandbox's IPv6
     address), beside IPv4 on the plaintext one.

Targets: overlay >= 0.8 x routed; join <= 200 ms median; encrypted >= 0.8 x
wireguard; encrypted join <= 300 ms; IPv6 join <= 200 ms.

    .venv/bin/python bench/overlay.py [--seconds 5] [--rounds 3] [--joins 20] [--prefix nvb]
"""

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

from nsnet import Engine
from nsnet.drivers import tunnel
from nsnet.kernel import nsfs

NSNET = os.path.join(os.path.dirname(sys.executable), "nsnet")
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def sh(*argv, check=True, **kw):
    return subprocess.run(argv, check=check, capture_output=True, text=True, timeout=120, **kw)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Etcd:
    def __init__(self, tag: str):
        self.dir = tempfile.mkdtemp(prefix=f"{tag}-etcd-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
        self.port, peer = free_port(), free_port()
        client, peer_url = f"http://127.0.0.1:{self.port}", f"http://127.0.0.1:{peer}"
        with open(os.path.join(self.dir, "etcd.log"), "ab") as log:
            self.proc = subprocess.Popen(
                ["etcd", "--name", tag, "--data-dir", os.path.join(self.dir, "data"),
                 "--listen-client-urls", client, "--advertise-client-urls", client,
                 "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
                 "--initial-cluster", f"{tag}={peer_url}"], stdout=log, stderr=subprocess.STDOUT)
        for _ in range(150):
            try:
                with urllib.request.urlopen(f"{client}/health", timeout=1) as reply:
                    if b'"health":"true"' in reply.read():
                        return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("etcd did not start")

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=15)
        shutil.rmtree(self.dir, ignore_errors=True)


class Lab:
    def __init__(self, prefix: str = "nvb"):
        self.tag = f"{prefix}{uuid.uuid4().hex[:5]}"
        self.etcd = Etcd(self.tag)
        self.url = f"etcd://127.0.0.1:{self.etcd.port}"
        self.underlay = self.tag + "u"
        self.hosts, self.agents, self.engines, self.dirs = [], [], [], []
        sh("ip", "netns", "add", self.underlay)
        sh("ip", "-n", self.underlay, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", self.underlay, "link", "set", "br0", "up")
        for i in (1, 2):
            self.add_host(i)

    def add_host(self, i: int):
        name, addr = f"{self.tag}h{i}", f"10.99.0.{i}"
        state = tempfile.mkdtemp(prefix=f"{name}-")
        sh("ip", "netns", "add", name)
        sh("ip", "-n", name, "link", "set", "lo", "up")
        sh("ip", "-n", name, "link", "add", "ul0", "type", "veth", "peer", "name", f"p{i}", "netns", self.underlay)
        sh("ip", "-n", self.underlay, "link", "set", f"p{i}", "master", "br0", "up")
        sh("ip", "-n", name, "addr", "add", f"{addr}/24", "dev", "ul0")
        sh("ip", "-n", name, "link", "set", "ul0", "up")
        env = dict(os.environ, NSNET_HOST_NETNS=name, NSNET_STATE_DIR=state, NSNET_STORE=self.url)
        log = open(os.path.join(state, "agent.log"), "ab")  # noqa: SIM115  (the agent's stderr, for its life)
        self.agents.append(subprocess.Popen([NSNET, "agent", "--advertise-address", addr], env=env, stdout=log,
                                            stderr=subprocess.STDOUT))
        log.close()
        self.hosts.append(name)
        self.dirs.append(state)
        self.engines.append(Engine(host_netns=name, state_dir=state, cluster_store=self.url))
        deadline = time.monotonic() + 15
        while name not in self.engines[-1].overlay_hosts():
            if time.monotonic() > deadline:
                raise SystemExit(f"agent of {name} did not register")
            time.sleep(0.05)

    def close(self):
        for proc in self.agents:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10)
        for eng, state in zip(self.engines, self.dirs, strict=True):
            with contextlib.suppress(Exception):  # its wireguard-go (by recorded pid) keeps the namespace alive
                eng.kernel.wg_down(tunnel.device(state, "0.0.0.0"))
            eng.close()
        for ns in nsfs.list_names():
            if ns.startswith(self.tag):
                nsfs.delete(ns)
        for d in self.dirs:
            shutil.rmtree(d, ignore_errors=True)
        self.etcd.stop()


def iperf(server_ns: str, client_ns: str, addr: str, seconds: int) -> float:
    """Gbit/s of one TCP stream client -> server."""
    srv = subprocess.Popen(["ip", "netns", "exec", server_ns, "iperf3", "-s", "-1", "-p", "5201"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(50):
            out = sh("ip", "netns", "exec", client_ns, "iperf3", "-c", addr, "-t", str(seconds), "-J",
                     check=False)
            data = json.loads(out.stdout or "{}")
            if "error" not in data and data:
                return data["end"]["sum_received"]["bits_per_second"] / 1e9
            time.sleep(0.1)  # the server is not listening yet
        raise SystemExit(f"iperf3 {client_ns} -> {addr}: {data.get('error')}")
    finally:
        srv.kill()
        srv.wait(timeout=10)


def setup_paths(lab: Lab) -> dict:
    (a, b), (ha, hb) = lab.engines, lab.hosts
    a.overlay_create("ov", subnet="10.210.0.0/24")
    a.sandbox_create("a1")
    b.sandbox_create("b1")
    ip_b1 = b.network_connect("ov", "b1")["ip"]
    a.network_connect("ov", "a1")
    # the routed pair: a bridge network per host, each host routes the other's subnet over the underlay
    # (direct_routing: the other host's sandboxes reach every port, not only published ones)
    a.network_create("ra", subnet="10.201.0.0/24", masquerade=False, dns=False, direct_routing=True)
    b.network_create("rb", subnet="10.202.0.0/24", masquerade=False, dns=False, direct_routing=True)
    a.sandbox_create("a2")
    b.sandbox_create("b2")
    a.network_connect("ra", "a2")
    ip_b2 = b.network_connect("rb", "b2")["ip"]
    sh("ip", "-n", ha, "route", "add", "10.202.0.0/24", "via", "10.99.0.2")
    sh("ip", "-n", hb, "route", "add", "10.201.0.0/24", "via", "10.99.0.1")
    # the encrypted overlay, and the bare WireGuard tunnel under it (the hosts' tunnel addresses)
    a.overlay_create("sec", subnet="10.230.0.0/24", encrypted=True)
    a.sandbox_create("a3")
    b.sandbox_create("b3")
    ip_b3 = b.network_connect("sec", "b3")["ip"]
    a.network_connect("sec", "a3")
    tunnel_b = b.overlay_host()["wg"]["tunnel"]
    ns = a.netns_name
    for src, dst in ((ns("a1"), ip_b1), (ns("a2"), ip_b2), (ns("a3"), ip_b3), (ha, tunnel_b)):
        if sh("ip", "netns", "exec", src, "ping", "-c", "1", "-W", "2", dst, check=False).returncode:
            raise SystemExit(f"{src} cannot reach {dst}")
    return {"overlay": (b.netns_name("b1"), ns("a1"), ip_b1), "routed": (b.netns_name("b2"), ns("a2"), ip_b2),
            "underlay": (hb, ha, "10.99.0.2"), "encrypted": (b.netns_name("b3"), ns("a3"), ip_b3),
            "wireguard": (hb, ha, tunnel_b)}


def throughput(lab: Lab, seconds: int, rounds: int) -> dict:
    paths = setup_paths(lab)
    order = list(paths)
    runs = {k: [] for k in paths}
    for r in range(rounds):
        for kind in order[r % len(order):] + order[:r % len(order)]:
            runs[kind].append(iperf(*paths[kind], seconds))
    med = {k: statistics.median(v) for k, v in runs.items()}
    return {"gbps": runs, "median_gbps": med, "overlay_vs_routed": med["overlay"] / med["routed"],
            "overlay_vs_underlay": med["overlay"] / med["underlay"],
            "encrypted_vs_wireguard": med["encrypted"] / med["wireguard"],
            "encrypted_vs_overlay": med["encrypted"] / med["overlay"]}


# A pinger that lives in b1 for the whole run (no process start per probe): for
# each address read from stdin it sends ICMP echoes every 2 ms until one is
# answered (at most 3 s) and prints "ok" or "timeout". argv[1]: 4 or 6 (ICMPv6:
# the kernel fills the checksum in and hands replies over without the IP header).
PROBER = r"""
import os, socket, struct, sys, time
v6 = sys.argv[1] == "6"
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6) if v6 else \
    socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(0.002)
ECHO, REPLY, AT = (128, 129, 0) if v6 else (8, 0, 20)
def packet(seq):
    body = struct.pack("!BBHHH", ECHO, 0, 0, os.getpid() & 0xFFFF, seq) + b"nsnet-join"
    if v6:
        return body
    total = sum(struct.unpack("!%dH" % (len(body) // 2), body))
    total = (total >> 16) + (total & 0xFFFF); total += total >> 16
    return body[:2] + struct.pack("!H", ~total & 0xFFFF) + body[4:]
for line in sys.stdin:
    ip, seq, deadline, ok = line.strip(), 0, time.monotonic() + 3, False
    while not ok and time.monotonic() < deadline:
        seq = (seq + 1) & 0xFFFF
        try:
            s.sendto(packet(seq), (ip, 0))
        except OSError:
            time.sleep(0.002)
            continue
        end = time.monotonic() + 0.002
        while time.monotonic() < end:
            try:
                data, peer = s.recvfrom(2048)
            except (socket.timeout, BlockingIOError):
                break
            if peer[0] == ip and data[AT] == REPLY:
                ok = True
                break
    print("ok" if ok else "timeout", flush=True)
"""


def join_latency(lab: Lab, joins: int, network: str = "ov", probe_from: str = "b1", fresh_hosts: int = 0,
                 family: int = 4) -> dict:
    """Connect on host A (or, fresh_hosts times, on a new host: its first join)
    until `probe_from` on host B pings the new sandbox (its address of `family`)."""
    (a, b) = lab.engines[:2]
    prober = subprocess.Popen(["ip", "netns", "exec", b.netns_name(probe_from), sys.executable, "-c", PROBER,
                               str(family)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def join(eng, name: str) -> tuple[float, float]:
        eng.sandbox_create(name)
        start = time.monotonic()
        ip = eng.network_connect(network, name)["ip6" if family == 6 else "ip"]
        connected = time.monotonic()
        prober.stdin.write(ip + "\n")
        prober.stdin.flush()
        answer = prober.stdout.readline().strip()
        if answer != "ok":
            raise SystemExit(f"{probe_from} never reached {ip} ({name}): {answer!r}")
        return (time.monotonic() - start) * 1000, (connected - start) * 1000

    total, connect, first = [], [], []
    try:
        for i in range(joins):
            t, c = join(a, f"j{network}{i}")
            total.append(t)
            connect.append(c)
        for i in range(fresh_hosts):
            lab.add_host(len(lab.hosts) + 1)
            first.append(join(lab.engines[-1], f"f{network}{i}")[0])
    finally:
        prober.kill()
        prober.wait(timeout=10)
    out = {"join_ms": total, "median_join_ms": statistics.median(total),
           "median_connect_call_ms": statistics.median(connect)}
    if first:
        out.update(first_join_ms=first, median_first_join_ms=statistics.median(first))
    return out


def setup_dual_stack(lab: Lab) -> None:
    """A dual-stack overlay with b4 on host B (the IPv6 join's prober)."""
    a, b = lab.engines[:2]
    a.overlay_create("ds", subnet=["10.240.0.0/24", "fd00:240::/64"])
    b.sandbox_create("b4")
    b.network_connect("ds", "b4")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--joins", type=int, default=20)
    parser.add_argument("--fresh-hosts", type=int, default=3,
                        help="hosts added one by one to time an encrypted overlay's first join on a host")
    parser.add_argument("--prefix", default="nvb", help="name prefix of the namespaces made")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    lab = Lab(args.prefix)
    try:
        result = {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "cpus": os.cpu_count(),
                  "throughput": throughput(lab, args.seconds, args.rounds), "join": join_latency(lab, args.joins),
                  "join_encrypted": join_latency(lab, args.joins, "sec", "b3", args.fresh_hosts)}
        setup_dual_stack(lab)
        result["join_ipv6"] = join_latency(lab, args.joins, "ds", "b4", family=6)
    finally:
        lab.close()
    tp, join, enc, join6 = result["throughput"], result["join"], result["join_encrypted"], result["join_ipv6"]
    m = tp["median_gbps"]
    print(f"TCP throughput (median of {args.rounds} x {args.seconds} s, Gbit/s): overlay {m['overlay']:.2f}, "
          f"routed underlay {m['routed']:.2f}, host-to-host underlay {m['underlay']:.2f}, "
          f"encrypted overlay {m['encrypted']:.3f}, bare WireGuard {m['wireguard']:.3f}")
    print(f"  overlay / routed = {tp['overlay_vs_routed']:.2f} (target >= 0.8); "
          f"overlay / host-to-host = {tp['overlay_vs_underlay']:.2f}")
    print(f"  encrypted / bare WireGuard = {tp['encrypted_vs_wireguard']:.2f} (target >= 0.8); "
          f"encrypted / plaintext overlay = {tp['encrypted_vs_overlay']:.2f}")
    print(f"join latency (connect on A until B pings it), median of {args.joins}: {join['median_join_ms']:.1f} ms "
          f"(target <= 200; the connect call itself {join['median_connect_call_ms']:.1f} ms)")
    first = f"; a fresh host's first join (its WireGuard device starts), median of {args.fresh_hosts}: " \
        f"{enc['median_first_join_ms']:.1f} ms" if args.fresh_hosts else ""
    print(f"encrypted join latency, median of {args.joins}: {enc['median_join_ms']:.1f} ms (target <= 300; "
          f"the connect call {enc['median_connect_call_ms']:.1f} ms){first}")
    print(f"IPv6 join latency on a dual-stack overlay, median of {args.joins}: {join6['median_join_ms']:.1f} ms "
          f"(target <= 200; slowest {max(join6['join_ms']):.1f} ms; the connect call "
          f"{join6['median_connect_call_ms']:.1f} ms)")
    os.makedirs(RESULTS, exist_ok=True)
    path = os.path.join(RESULTS, f"overlay-{time.strftime('%Y%m%d-%H%M%S')}.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=1)
    print(f"raw results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
