"""The workloads beside the attach grid, for run_all.py: topology up/down
(nsnet API, nsnet CLI, Mininet), 1,000 ports on one sandbox, dual-stack
attaches against IPv4-only ones, iperf3
throughput, DNS q/s, and the other helpers' scripts (bench/run.py,
bench/overlay.py) run as subprocesses when present.  Each records its figures
(or its error) in data["extras"][name]; none is pass/fail.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

from . import peer_mininet, topology
from .nsnet_cli_tool import cli_env
from .runner import _cpu, _loadavg, other_cpu_pct
from .settle import wait_quiet

HERE = Path(__file__).resolve().parent
QUIET_PCT, QUIET_MAX_S = 30.0, 10.0  # before each extra: wait <= 10 s for others to use < 30% of the CPUs


def _guarded(name: str, data: dict, settler, deleted: int, fn) -> None:
    """Run fn() -> dict with load/other-CPU noted; record errors, then settle
    (unless deleted=0: nothing timed follows)."""
    quiet = wait_quiet(QUIET_PCT, QUIET_MAX_S)  # bounded: the machine is shared
    rec = {"load_before": _loadavg(), **quiet}
    t0, c0 = time.monotonic(), _cpu()
    try:
        rec.update(fn())
    except Exception as e:
        rec["error"] = f"{type(e).__name__}: {e}"
        rec["traceback"] = traceback.format_exc(limit=6)
        print(f"  {name}: ERROR {rec['error']}", flush=True)
    rec["other_cpu_pct"] = other_cpu_pct(c0, _cpu())
    rec["elapsed_s"] = round(time.monotonic() - t0, 1)
    data["extras"][name] = rec
    if deleted:
        rec.update(settle=settler.wait(deleted=deleted))


LAB_ROUNDS = 20  # per-test labs (network with DNS, 5 sandboxes, teardown), with and without DNS


def run_extras(plan: dict, settler, data: dict, skip: set, phase: str = "before") -> None:
    """phase "before" the attach grid: everything but DNS; "after": DNS, whose
    1,000 namespaces take the kernel ~30 s to free (nothing timed follows)."""
    from . import dns, dualstack, firewall

    data.setdefault("extras", {})
    if phase == "after":
        if "dns" not in skip:
            names, queries = plan["dns"]
            print(f"dns: {names} names, {queries} queries per client", flush=True)
            say = lambda s: print(f"  {s}", flush=True)  # noqa: E731
            _guarded("dns", data, settler, 0,
                     lambda: {"lab": dns.lab(LAB_ROUNDS, log=say), "fixture": dns.fixture(LAB_ROUNDS, log=say),
                             **dns.measure(names, queries, 20.0, log=say)})
        return
    n, nets, rounds = plan["topology"]
    if "topology" not in skip:
        mininet = peer_mininet.available()
        if mininet:
            data["meta"]["skipped"]["mininet"] = mininet
        print(f"topology: {n} sandboxes on {nets} bridges, {rounds} round(s)", flush=True)
        _guarded("topology", data, settler, n, lambda: {
            "n": n, "nets": nets, "runs": topology.run_topology(n, nets, rounds, settler, mininet is None)})
    if "ports" not in skip:
        n = plan["port_cost"]
        print(f"port cost: {2 * n} sandboxes, every other one with a published port", flush=True)
        _guarded("port_cost", data, settler, 2 * n, lambda: firewall.port_cost(n))
        pc = data["extras"]["port_cost"]
        if "added_ms" in pc:
            print(f"  one port adds {pc['added_ms']:+.2f} ms (first quarter {pc['added_first_quarter_ms']:+.2f}, "
                  f"last {pc['added_last_quarter_ms']:+.2f})", flush=True)
        count = plan["ports"]
        print(f"ports: {count} on one sandbox", flush=True)
        _guarded("ports", data, settler, 2, lambda: firewall.thousand_ports(count))
        print(f"  {_ports_line(data['extras']['ports'])}", flush=True)
    if "dual_stack" not in skip and "dual_stack" in plan:
        n = plan["dual_stack"]
        print(f"dual stack: {2 * n} sandboxes, every other one on a dual-stack network", flush=True)
        _guarded("dual_stack", data, settler, 2 * n, lambda: dualstack.dual_stack_cost(n))
        ds = data["extras"]["dual_stack"]
        if "ratio" in ds:
            print(f"  dual-stack {ds['dual_ms']:.2f} ms against IPv4-only {ds['ipv4_ms']:.2f} ms: {ds['ratio']:.2f}x",
                  flush=True)
    if "iperf" not in skip:
        seconds, rounds = plan["iperf"]
        print(f"iperf3: {rounds} round(s) of {seconds}s per path", flush=True)
        _guarded("iperf", data, settler, 6,
                 lambda: firewall.throughput(rounds, seconds, log=lambda s: print(s, flush=True)))
    if "run" not in skip:
        _script("run", ["--n", str(plan["run"])], data, settler, json_flag=True)
    if "overlay" not in skip:
        _script("overlay", plan["overlay"], data, settler, json_flag=False)
    if "profile" not in skip:
        from . import hotspots

        n, count = plan["profile"]
        print(f"profile: cProfile of attach/topology {n}, {count} ports; CLI imports", flush=True)
        _guarded("profile", data, settler, n, lambda: hotspots.run_profiles(n, 4, count))
        data["profile"] = data["extras"].pop("profile")


def _ports_line(r: dict) -> str:
    if "error" in r:
        return f"ERROR {r['error']}"
    return (f"add 1st {r['add_first_ms']:.2f} ms, {r['count']}th {r['add_last_ms']:.2f} ms (first/last tenth "
            f"{r['add_first10_ms']:.2f}/{r['add_last10_ms']:.2f}); remove first/last tenth "
            f"{r['rm_first10_ms']:.2f}/{r['rm_last10_ms']:.2f}")


def _script(name: str, args: list[str], data: dict, settler, json_flag: bool, timeout_s: float = 180) -> None:
    """bench/NAME.py (another helper's script) in a subprocess; its JSON into
    the results.  Missing, failing or too slow: skipped with a note."""
    path = HERE / f"{name}.py"
    if not path.exists():
        data["meta"]["skipped"][name] = f"bench/{name}.py not present"
        return
    print(f"{name}: bench/{name}.py {' '.join(args)}", flush=True)

    def go() -> dict:
        out_json = HERE / "results" / f".{name}-{os.getpid()}.json"
        argv = [sys.executable, str(path), *args] + (["--json", str(out_json)] if json_flag else [])
        stdout = _run_bounded(argv, timeout_s)
        if json_flag:
            result = json.loads(out_json.read_text())
            out_json.unlink()
            return result
        m = re.search(r"raw results: (\S+)", stdout)
        if not m:
            raise RuntimeError(f"no results line in its output: {stdout[-300:]}")
        return json.loads(Path(m.group(1)).read_text())

    _guarded(name, data, settler, 10, go)
    rec = data["extras"][name]
    if "error" in rec:
        data["meta"]["skipped"][name] = f"bench/{name}.py failed: {rec['error'][:200]}"


def _run_bounded(argv: list[str], timeout_s: float) -> str:
    """Run argv; on timeout TERM it (its handler cleans up), then KILL, by pid."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL, env=cli_env())
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.communicate()
        raise RuntimeError(f"timed out after {timeout_s:.0f} s") from None
    except BaseException:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        raise
    if proc.returncode != 0:
        raise RuntimeError(f"rc={proc.returncode}: {(err or out).strip()[-400:]}")
    for line in out.splitlines():
        print(f"  | {line}", flush=True)
    return out
