"""Topology up / no-change up / down: N sandboxes spread over a few bridges,
nsnet through its Python API and through `nsnet up/down FILE`, side by side
with Mininet 2.3 building and stopping N hosts on one Linux bridge.

    .venv/bin/python bench/topology.py [--n 200] [--nets 4] [--rounds 2] [--no-mininet]

Rounds are interleaved (api cli mininet, cli mininet api, ...), each in a fresh
throwaway host namespace (bench.harness), with the kernel's cleanup of the
previous run waited for (bench.settle).  After `up` the bench pings the
gateway and a sandbox on the same bridge; after `down` it checks that no
link, sandbox namespace or process (the DNS server) is left.
"""

import os
import sys
import time
import traceback
from pathlib import Path

if __package__ in (None, ""):  # run as a script: import `bench` as a package
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench import checks, peer_mininet, proc
from bench.harness import HostNamespace, SysctlGuard, stale_cleanup, trap_signals
from bench.nsnet_cli_tool import cli_env
from bench.runner import _cpu, _loadavg, other_cpu_pct
from bench.settle import Settler

NSNET = os.path.join(os.path.dirname(sys.executable), "nsnet")
NAME = "nbtopo"


def write_yaml(path: str, n: int, nets: int) -> str:
    """Networks net0..net{nets-1} (10.240.K.0/22), sandboxes "0".."n-1" round-robin."""
    lines = [f"name: {NAME}", f"description: {n} sandboxes on {nets} bridges (bench)", "networks:"]
    lines += [f"  net{k}: {{subnet: 10.240.{4 * k}.0/22}}" for k in range(nets)]
    lines += ["sandboxes:"] + [f'  "{i}": {{networks: [net{i % nets}]}}' for i in range(n)]
    Path(path).write_text("\n".join(lines) + "\n")
    return path


class Api:
    """nsnet.topology as the CLI calls it: load + converge.up, teardown.down."""

    name = "nsnet-api"

    def __init__(self, host, path):
        from nsnet import Engine

        self.path = path
        self.eng = Engine(host_netns=host.name, state_dir=f"{host.tmpdir}/state",
                          netns_prefix=host.sandbox_prefix)

    def up(self) -> int:
        from nsnet.topology import converge, load

        out = converge.up(self.eng, load(self.path))
        if out.errors:
            raise RuntimeError(f"up: {out.errors[:3]}")
        return len(out.changes)

    def down(self) -> int:
        from nsnet.topology import teardown

        return len(teardown.down(self.eng, NAME).changes)

    def close(self):
        self.eng.close()


class Cli:
    """`nsnet up FILE` / `nsnet down FILE`, one process each (start-up included)."""

    name = "nsnet-cli"

    def __init__(self, host, path):
        self.path = path
        self.env = cli_env(NSNET_HOST_NETNS=host.name, NSNET_STATE_DIR=f"{host.tmpdir}/state",
                           NSNET_NETNS_PREFIX=host.sandbox_prefix)

    def _run(self, verb: str) -> int:
        res = proc.run([NSNET, "--json", verb, self.path], env=self.env, text=True, timeout=120)
        if res.returncode != 0:
            raise RuntimeError(f"nsnet {verb}: rc={res.returncode} {res.stderr.strip()[-300:]}")
        import json

        return json.loads(res.stdout).get("count", -1)

    def up(self) -> int:
        return self._run("up")

    def down(self) -> int:
        return self._run("down")

    def close(self):
        pass


def _verify(host, nets: int) -> dict:
    """Ping the gateway and the next sandbox on the same bridge from sandbox 0."""
    from nsnet import Engine

    with Engine(host_netns=host.name, state_dir=f"{host.tmpdir}/state", netns_prefix=host.sandbox_prefix) as eng:
        a, b = eng.sandbox_inspect("0"), eng.sandbox_inspect(str(nets))
        gw = eng.network_inspect("net0")["gateway"]
    return {"ping_gw": checks.ping(a["netns"], gw), "ping_peer": checks.ping(a["netns"], b["endpoints"][0]["ip"])}


def nsnet_round(kind, n: int, nets: int, tag: str, settler, rnd: int = 0) -> dict:
    rec = {"tool": kind.name, "n": n, "nets": nets, "round": rnd, "load_before": _loadavg()}
    try:
        with HostNamespace(tag) as host:
            path = write_yaml(f"{host.tmpdir}/topology.yaml", n, nets)
            tool = kind(host, path)
            try:
                c0, t0 = _cpu(), time.perf_counter()
                rec["up_changes"] = tool.up()
                t1 = time.perf_counter()
                rec["noop_changes"] = tool.up()
                t2 = time.perf_counter()
                rec["other_cpu_pct"] = other_cpu_pct(c0, _cpu())
                rec["verify"] = _verify(host, nets)
                rec["verify"]["ok"] = all(rec["verify"].values()) and rec["noop_changes"] == 0
                t3 = time.perf_counter()
                rec["down_changes"] = tool.down()
                rec.update(up_s=round(t1 - t0, 4), noop_s=round(t2 - t1, 4),
                           down_s=round(time.perf_counter() - t3, 4))
                rec["leftovers"] = checks.leftovers(host, {"lo"})
            finally:
                tool.close()
    except Exception as e:
        rec["error"] = f"{type(e).__name__}: {e}"
        rec["traceback"] = traceback.format_exc(limit=6)
    rec.update(settler.wait(deleted=n))
    return rec


def mininet_round(n: int, tag: str, settler, rnd: int = 0) -> dict:
    load, c0 = _loadavg(), _cpu()
    rec = peer_mininet.run_mininet(n, tag, settler, rnd)
    rec.update(load_before=load, other_cpu_pct=other_cpu_pct(c0, _cpu()))
    if "error" not in rec:
        rec.update(up_s=round(rec["build_s"] + rec["start_s"], 4), down_s=round(rec["stop_s"], 4))
        rec["verify"] = {"ping_peer": rec["ping_peer"], "ports": rec["bridge_ports"] == n}
        rec["verify"]["ok"] = all(rec["verify"].values())
    return rec


def run_topology(n: int, nets: int, rounds: int, settler, mininet: bool = True, log=print) -> list[dict]:
    """Interleaved rounds of api / cli / mininet; one record per run."""
    kinds = ["nsnet-api", "nsnet-cli"] + (["mininet"] if mininet else [])
    out, k = [], 0
    for r in range(rounds):
        for kind in kinds[r % len(kinds):] + kinds[:r % len(kinds)]:
            k += 1
            tag = f"t{k}"
            if kind == "mininet":
                rec = mininet_round(n, tag, settler, r)
            else:
                rec = nsnet_round(Api if kind == "nsnet-api" else Cli, n, nets, tag, settler, r)
            out.append(rec)
            log(f"  {describe(rec)}")
    return out


def describe(rec: dict) -> str:
    head = f"topology {rec['tool']:<10} N={rec['n']:<4}"
    if "error" in rec:
        return f"{head} ERROR {rec['error']}"
    noop = f" no-change up {rec['noop_s']:.3f}s" if "noop_s" in rec else ""
    ok = "ok" if rec.get("verify", {}).get("ok") else f"FAIL {rec.get('verify')}"
    left = f" LEFTOVERS={rec['leftovers'][:4]}" if rec.get("leftovers") else ""
    return (f"{head} up {rec['up_s']:.3f}s{noop} down {rec['down_s']:.3f}s  verify {ok}  "
            f"other-cpu {rec.get('other_cpu_pct', 0):.0f}%{left}")


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--nets", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--no-mininet", action="store_true")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        sys.exit("bench/topology.py needs root")
    stale_cleanup()
    settler = Settler()
    settler.baseline()
    mininet = not args.no_mininet and peer_mininet.available() is None
    with trap_signals(), SysctlGuard():
        run_topology(args.n, args.nets, args.rounds, settler, mininet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
