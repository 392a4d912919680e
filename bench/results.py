"""The results file (bench/results/*.json, gitignored) and the machine it
was measured on."""

import datetime
import json
import os
import platform
import subprocess
from pathlib import Path

RESULTS_DIR = Path(__file__).with_name("results")


def _first(path: str, key: str) -> str:
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def _version(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=10)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "?"


def machine() -> dict:
    mem_kb = _first("/proc/meminfo", "MemTotal").split()[0]
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(int(mem_kb) / 1024 / 1024, 1) if mem_kb.isdigit() else "?",
        "kernel": platform.release(),
        "cpu": _first("/proc/cpuinfo", "model name"),
        "os": _os_name(),
        "python": platform.python_version(),
    }


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return "?"


def tool_versions() -> dict:
    return {
        "netavark": _version(["/usr/lib/podman/netavark", "--version"]),
        "cni-plugins": _version(["dpkg-query", "-W", "-f=${Version}", "containernetworking-plugins"]),
        "mininet": _version(["dpkg-query", "-W", "-f=${Version}", "mininet"]),
        "iproute2": _version(["ip", "-V"]),
        "nftables": _version(["nft", "--version"]),
        "iperf3": _version(["iperf3", "--version"]),
    }


def now_iso() -> str:
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def save(data: dict, name: str | None = None) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = RESULTS_DIR / (name or f"bench-{stamp}.json")
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(path)
    latest = RESULTS_DIR / "latest.json"
    latest.unlink(missing_ok=True)
    latest.symlink_to(path.name)
    return path


def load(path) -> dict:
    return json.loads(Path(path).read_text())
