"""Raw data-plane baseline: iperf3 TCP between two sandboxes over (a) a direct
veth pair and (b) two veths on a Linux bridge in the host namespace, both
hand-made with iproute2.  Bounded (-t seconds); traffic stays in 10.237.0.0/24
between namespaces the bench made.  Rounds alternate a, b, a, b, ..."""

import json
import os
import subprocess
import time

from .harness import HostNamespace, sh
from .nslib import create_netns, netns_path

PORT = 5201
SERVER_IP, CLIENT_IP = "10.237.0.3", "10.237.0.2"


def available() -> str | None:
    return None if any(os.access(f"{d}/iperf3", os.X_OK) for d in ("/usr/bin", "/bin")) else \
        "iperf3 missing (bench/install_peers.sh)"


def _build(host) -> dict:
    """Sandboxes <prefix>0/1 joined by a veth, <prefix>2/3 through bridge nbqbr0."""
    ns = [host.sandbox_name(i) for i in range(4)]
    for name in ns:
        create_netns(name)
        sh("ip", "-n", name, "link", "set", "lo", "up")
    sh("ip", "-n", ns[0], "link", "add", "eth0", "type", "veth", "peer", "name", "eth0",
       "netns", ns[1])
    sh("ip", "link", "add", "nbqbr0", "type", "bridge")
    sh("ip", "link", "set", "nbqbr0", "up")
    for k in (2, 3):
        sh("ip", "link", "add", f"nbq{k}", "type", "veth", "peer", "name", "eth0", "netns", ns[k])
        sh("ip", "link", "set", f"nbq{k}", "master", "nbqbr0", "up")
    for k, name in enumerate(ns):
        addr = CLIENT_IP if k % 2 == 0 else SERVER_IP
        sh("ip", "-n", name, "addr", "add", f"{addr}/24", "dev", "eth0")
        sh("ip", "-n", name, "link", "set", "eth0", "up")
    return {"veth-direct": (ns[0], ns[1]), "veth-bridge": (ns[2], ns[3])}


def _listening(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/net/tcp") as f:  # the server's own namespace
            return any(f":{PORT:04X} " in ln and ln.split()[3] == "0A" for ln in f)
    except OSError:
        return False


def _one(host, client_ns: str, server_ns: str, seconds: int) -> float:
    srv = host.spawn(["nsenter", f"--net={netns_path(server_ns)}", "iperf3", "-s", "-1",
                      "-B", SERVER_IP, "-p", str(PORT)],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 5
    while not _listening(srv.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    res = subprocess.run(["nsenter", f"--net={netns_path(client_ns)}", "iperf3", "-c", SERVER_IP,
                          "-p", str(PORT), "-t", str(seconds), "-J"],
                         check=False, capture_output=True, text=True, timeout=seconds + 20)
    srv.wait(timeout=10)
    host.pids.remove(srv.pid)
    if res.returncode != 0:
        raise RuntimeError(f"iperf3 client: {res.stdout[-300:]} {res.stderr[-300:]}")
    return json.loads(res.stdout)["end"]["sum_received"]["bits_per_second"] / 1e9


def run_iperf(seconds: int, rounds: int, tag: str, settler) -> list[dict]:
    out = []
    try:
        with HostNamespace(tag) as host:
            pairs = _build(host)
            for r in range(rounds):
                for topo, (client, server) in pairs.items():
                    gbit = _one(host, client, server, seconds)
                    out.append({"topology": topo, "round": r, "seconds": seconds, "gbit_s": gbit})
                    print(f"  iperf3 {topo:<12} round {r}: {gbit:.1f} Gbit/s", flush=True)
    except Exception as e:
        out.append({"error": f"{type(e).__name__}: {e}"})
    settler.wait(deleted=4)
    return out
