"""Mininet 2.3 (Debian `mininet`): build and stop N hosts on one LinuxBridge.
Mininet's hosts are unnamed namespaces held by `mnexec` shells, so this peer
does not fit the per-attach interface; it is one whole-topology workload,
run by bench/mininet_child.py under Debian's /usr/bin/python3."""

import json
import os
import signal
import subprocess
from pathlib import Path

from .checks import host_links
from .harness import HostNamespace, kill_pids

PYTHON = "/usr/bin/python3"
CHILD = Path(__file__).with_name("mininet_child.py")


def available() -> str | None:
    res = subprocess.run([PYTHON, "-c", "import mininet.net"], check=False, capture_output=True)
    if res.returncode != 0:
        return "Debian mininet not installed (bench/install_peers.sh)"
    for tool in ("mnexec", "brctl", "ifconfig"):
        if not any(os.access(f"{d}/{tool}", os.X_OK) for d in ("/usr/bin", "/usr/sbin", "/sbin")):
            return f"{tool} missing (bench/install_peers.sh)"
    return None


def _kill_shells(pidfile: str) -> None:
    """If the child died mid-run, end the Mininet shells it started (pids it
    wrote down), checking each is still one of ours before signalling."""
    try:
        pids = [int(p) for p in Path(pidfile).read_text().split()]
    except (OSError, ValueError):
        return
    for pid in pids:
        try:
            if b"mininet:nb" in Path(f"/proc/{pid}/cmdline").read_bytes():
                os.kill(pid, signal.SIGKILL)
        except (OSError, ProcessLookupError):
            pass


def run_mininet(n: int, tag: str, settler, rnd: int = 0, timeout_s: float = 300) -> dict:
    rec = {"tool": "mininet", "n": n, "round": rnd}
    try:
        with HostNamespace(tag) as host:
            pidfile = f"{host.tmpdir}/pids"
            try:
                proc = host.spawn([PYTHON, str(CHILD), str(n), pidfile],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                out, err = proc.communicate(timeout=timeout_s)
                if proc.returncode != 0:
                    raise RuntimeError(f"mininet child rc={proc.returncode}: {err.strip()[-400:]}")
                rec.update(json.loads(out.strip().splitlines()[-1]))
                rec["leftovers"] = [f"link:{x}" for x in host_links() if x != "lo"]
            finally:
                kill_pids(host.pids)  # the child first (TERM lets it run net.stop())
                _kill_shells(pidfile)
    except Exception as e:
        rec["error"] = f"{type(e).__name__}: {e}"
    rec.update(settler.wait(deleted=n))
    return rec


def describe(rec: dict) -> str:
    if "error" in rec:
        return f"{'mininet':<16} N={rec['n']:<5} ERROR {rec['error']}"
    return (f"{'mininet':<16} N={rec['n']:<5} build {rec['build_s']:.2f}s start "
            f"{rec['start_s']:.2f}s stop {rec['stop_s']:.2f}s ports={rec['bridge_ports']} "
            f"ping={'ok' if rec['ping_peer'] else 'FAIL'} leftovers={rec['leftovers']}")
