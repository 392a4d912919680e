"""Where nsnet's time goes: cProfile of the workloads that carry targets, with
the time of every function put into one of a few buckets (the kernel's own
work behind netlink calls, namespace mounts, SQLite, pyroute2's encoder, the
DNS server's upkeep, nftables, other Python).  cProfile slows Python code
down (not the kernel's), so the Python buckets are inflated; the shares are
what to read.  Also `python -X importtime` of the CLI (its start-up).

    .venv/bin/python bench/hotspots.py [--n 200]
"""

import cProfile
import os
import pstats
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench import proc, topology
from bench.harness import HostNamespace
from bench.nsnet_cli_tool import cli_env

BUCKETS = [  # (name, test on "file:function"); first match wins
    ("kernel: netlink requests", re.compile(r"method '(send|recv|recv_into|sendto|recvfrom)' of '_socket")),
    ("kernel: netns create/delete (unshare, mount, umount, rmdir)",
     re.compile(r"kernel/nsfs\.py|posix\.(rmdir|mkdir)|built-in method (posix\.)?(umount|mount|unshare)")),
    ("SQLite store", re.compile(r"sqlite3|nsnet/store\.py")),
    ("pyroute2 message encoding", re.compile(r"pyroute2/")),
    ("DNS server upkeep (signal, resolv.conf, start)", re.compile(r"nsnet/(engine/dns|dns)/?|posix\.kill")),
    ("nftables (libnftables)", re.compile(r"kernel/nft\.py")),
    ("file system (/proc scans, /etc/netns files)", re.compile(r"posix\.(stat|open|listdir|unlink|readlink)|io\.open|"
                                                               r"_io\.|os\.py")),
    ("sleeping / waiting", re.compile(r"time\.sleep|select|poll")),
]


def _bucket(key: str) -> str:
    return next((name for name, rx in BUCKETS if rx.search(key)), "other Python (nsnet and stdlib)")


def buckets(prof: cProfile.Profile, wall: float) -> dict:
    """{bucket: seconds of own time}, the top functions by own time, and the wall time."""
    st = pstats.Stats(prof)
    out: dict = {}
    top = []
    for (file, line, fn), (_cc, _nc, tt, _ct, _callers) in st.stats.items():
        key = f"{file}:{fn}"
        out[_bucket(key)] = out.get(_bucket(key), 0.0) + tt
        top.append((tt, f"{Path(file).name}:{line}({fn})" if file != "~" else fn))
    top.sort(reverse=True)
    return {"wall_s": round(wall, 3), "buckets": {k: round(v, 3) for k, v in sorted(out.items(), key=lambda x: -x[1])},
            "top": [(name, round(tt, 3)) for tt, name in top[:8]]}


def _profiled(fn) -> tuple:
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    try:
        fn()
    finally:
        prof.disable()
    return prof, time.perf_counter() - t0


def attach_and_topology(n: int, nets: int, tag: str) -> dict:
    """In one throwaway host: N plain attaches + teardown, then topology up/down."""
    from nsnet import Engine
    from nsnet.topology import converge, load, teardown

    out = {}
    with HostNamespace(tag) as host:
        eng = Engine(host_netns=host.name, state_dir=f"{host.tmpdir}/state", netns_prefix=host.sandbox_prefix)
        try:
            eng.network_create("p0", subnet="10.243.0.0/16")
            prof, wall = _profiled(lambda: [eng.sandbox_create(f"{i}", networks=["p0"]) for i in range(n)])
            out[f"attach {n} (sandbox_create with --network)"] = buckets(prof, wall)
            prof, wall = _profiled(lambda: [eng.sandbox_rm(f"{i}") for i in range(n)])
            out[f"teardown {n} (sandbox_rm)"] = buckets(prof, wall)
            prof, wall = _profiled(lambda: [eng.sandbox_create(f"{i}", networks=["p0"], publish=[f"{20000 + i}:80"])
                                            for i in range(n)])
            out[f"attach {n} with one published port each"] = buckets(prof, wall)
            for i in range(n):
                eng.sandbox_rm(f"{i}")
            out["cli"] = cli_create(host)
            eng.network_rm("p0", force=True)
            path = topology.write_yaml(f"{host.tmpdir}/t.yaml", n, nets)
            prof, wall = _profiled(lambda: converge.up(eng, load(path)))
            out[f"topology up {n}"] = buckets(prof, wall)
            prof, wall = _profiled(lambda: converge.up(eng, load(path)))
            out[f"topology no-change up {n}"] = buckets(prof, wall)
            prof, wall = _profiled(lambda: teardown.down(eng, topology.NAME))
            out[f"topology down {n}"] = buckets(prof, wall)
        finally:
            eng.close()
    return out


def cli_create(host, samples: int = 5) -> dict:
    """`nsnet sandbox create X --network p0` as a process: wall time, and how
    much of it is Python start-up + imports (-X importtime, top level)."""
    env = cli_env(NSNET_HOST_NETNS=host.name, NSNET_STATE_DIR=f"{host.tmpdir}/state",
                  NSNET_NETNS_PREFIX=host.sandbox_prefix, NSNET_CLI_LINGER="0")  # profiled here, not in a server
    nsnet = os.path.join(os.path.dirname(sys.executable), "nsnet")
    walls, imports = [], []
    for i in range(samples):
        walls.append(proc.run([nsnet, "sandbox", "create", f"c{i}", "--network", "p0"], env=env, check=True).ms)
        res = subprocess.run([sys.executable, "-X", "importtime", nsnet, "sandbox", "create", f"d{i}", "--network",
                              "p0"], env=env, capture_output=True, text=True, timeout=60, check=True)
        imports.append(sum(int(m.group(1)) for m in re.finditer(r"import time:\s+\d+ \|\s+(\d+) \| (?! )",
                                                                 res.stderr)) / 1000)
    subprocess.run([nsnet, "sandbox", "rm", *(f"{p}{i}" for p in "cd" for i in range(samples))], env=env,
                   capture_output=True, timeout=60, check=False)
    return {"wall_ms": round(statistics.median(walls), 1), "imports_ms": round(statistics.median(imports), 1)}


def ports(count: int, tag: str) -> dict:
    """port_publish with 0..count ports present: the last tenth profiled."""
    from nsnet import Engine

    with HostNamespace(tag) as host:
        eng = Engine(host_netns=host.name, state_dir=f"{host.tmpdir}/state", netns_prefix=host.sandbox_prefix)
        try:
            eng.network_create("p1", subnet="10.244.0.0/24")
            eng.sandbox_create("0", networks=["p1"])
            tail = count // 10
            for i in range(count - tail):
                eng.port_publish("0", [f"{30000 + i}:{1000 + i}"])
            prof, wall = _profiled(lambda: [eng.port_publish("0", [f"{30000 + i}:{1000 + i}"])
                                            for i in range(count - tail, count)])
            return {f"port_publish with {count - tail}-{count} ports present ({tail} calls)": buckets(prof, wall)}
        finally:
            eng.close()


def cli_imports() -> dict:
    """`python -X importtime -c 'import nsnet.cli.main'`: the biggest imports (cumulative ms)."""
    argv = [sys.executable, "-X", "importtime", "-c", "import nsnet.cli.main"]
    subprocess.run(argv, capture_output=True, env=cli_env(), timeout=60, check=False)  # warm the bytecode cache
    res = subprocess.run(argv, capture_output=True, text=True, env=cli_env(), timeout=60, check=False)
    rows = []
    for line in res.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m:
            rows.append((int(m.group(2)) / 1000, len(m.group(3)) // 2, m.group(4)))
    total = next((ms for ms, depth, name in rows if name == "nsnet.cli.main"), None)
    top = sorted((r for r in rows if r[1] <= 2), reverse=True)[:10]
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], env=cli_env(), check=False)
    bare = (time.perf_counter() - t0) * 1000
    return {"import_ms": total, "python_bare_ms": round(bare, 1),
            "top": [(name, round(ms, 1), depth) for ms, depth, name in top]}


def run_profiles(n: int, nets: int, ports_count: int) -> dict:
    out = {"n": n, "workloads": {}}
    out["workloads"].update(attach_and_topology(n, nets, "p1"))
    out["cli_create"] = out["workloads"].pop("cli")
    out["workloads"].update(ports(ports_count, "p2"))
    out["cli_imports"] = cli_imports()
    return out


def main() -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--ports", type=int, default=1000)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/hotspots.py needs root")
    res = run_profiles(args.n, 4, args.ports)
    for name, w in res["workloads"].items():
        print(f"{name}: {w['wall_s']:.2f} s under cProfile")
        for b, s in w["buckets"].items():
            print(f"   {s:7.3f} s  {b}")
        print("   top:", ", ".join(f"{f} {t:.3f}" for f, t in w["top"][:5]))
    print(f"CLI sandbox create: {res['cli_create']}")
    ci = res["cli_imports"]
    print(f"CLI imports {ci['import_ms']} ms (bare python {ci['python_bare_ms']} ms):",
          ", ".join(f"{n} {ms}" for n, ms, _ in ci["top"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
