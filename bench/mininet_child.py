#!/usr/bin/python3
"""mininet_child.py N PIDFILE - one Mininet 2.3 topology build/stop, printed as
one JSON line.  Run by Debian's /usr/bin/python3 (python3-mininet lives there,
not in the venv), started by bench/peer_mininet.py inside the bench's host
namespace.  Stand-alone on purpose: imports nothing from bench/.

N hosts nbh1..nbhN on ONE LinuxBridge switch nbs1 (brctl), no controller, so no
Open vSwitch.  Mininet.init() -> fixLimits() raises sysctls; here it only
touches per-namespace ones (which live in the throwaway host namespace): the
global ones (fs.*, kernel.*, net.core.netdev_max_backlog) are skipped.
"""

import json
import os
import signal
import subprocess
import sys
import time

GLOBAL_SYSCTLS = ("fs.", "kernel.", "net.core.netdev_max_backlog")


def guard_sysctls(skipped: list) -> None:
    import mininet.util as mu

    original = mu.sysctlTestAndSet

    def guarded(name, limit):
        path = "/proc/sys/" + name.replace(".", "/")
        if name.startswith(GLOBAL_SYSCTLS) or not os.path.exists(path):
            skipped.append(name)
            return
        original(name, limit)

    mu.sysctlTestAndSet = guarded


def main() -> int:
    n, pidfile = int(sys.argv[1]), sys.argv[2]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run net.stop() on TERM
    skipped: list = []
    guard_sysctls(skipped)
    from mininet.log import setLogLevel
    from mininet.net import Mininet
    from mininet.nodelib import LinuxBridge

    setLogLevel("error")
    net = None
    out = {"n": n}
    try:
        t0 = time.perf_counter()
        net = Mininet(switch=LinuxBridge, controller=None, ipBase="10.234.0.0/16",
                      build=False, waitConnected=False)
        sw = net.addSwitch("nbs1")
        for i in range(1, n + 1):
            net.addLink(net.addHost(f"nbh{i}"), sw)
        net.build()
        with open(pidfile, "w") as f:
            f.write("\n".join(str(node.pid) for node in net.hosts + net.switches))
        t1 = time.perf_counter()
        net.start()
        t2 = time.perf_counter()
        ports = json.loads(subprocess.run(["ip", "-j", "link", "show", "master", "nbs1"],
                                          check=False, capture_output=True, text=True).stdout or "[]")
        first, last = net.hosts[0], net.hosts[-1]
        out["ping_peer"] = " 0% packet loss" in first.cmd("ping -c1 -W2", last.IP())
        out["bridge_ports"] = len(ports)
        t3 = time.perf_counter()
        net.stop()
        net = None
        t4 = time.perf_counter()
        out.update(build_s=t1 - t0, start_s=t2 - t1, stop_s=t4 - t3, skipped_sysctls=skipped)
    finally:
        if net is not None:
            net.stop()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
