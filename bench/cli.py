"""Start-up of the command line, per command: one `nsnet` process per call,
as a user at a shell (or a test suite) runs it.

    .venv/bin/python bench/cli.py [--n 15] [--json FILE] [--imports]

Everything happens in a throwaway host namespace `ncl<pid>` (removed at the
end, also on failure). Rounds are interleaved so load changes hit every
command alike; each round creates one sandbox, connects it to a second
network, publishes a port and removes it (the commands that change one
object), and runs the listing and inspecting commands, each made in its own
process (NSNET_CLI_LINGER=0) and then (rows "served") by the warm server the
command line uses by default (cli/served.py), in alternating order. Bytecode is cached as
on a user's machine (cli_env). --imports prints where `sandbox create
--network` spends its import time, module by module (python -X importtime).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench import proc
from bench.labhost import make_host, remove_host_files
from bench.nsnet_cli_tool import cli_env
from nsnet.cli.served import is_served, paths
from nsnet.cni.client import stop_server

NSNET = os.path.join(os.path.dirname(sys.executable), "nsnet")
TARGET_MS = 25  # issue #21: changing one object, ls, inspect


def commands(i: int, served: bool = False) -> list[tuple[str, list[str]]]:
    """(label, argv) of round i, in the order they run; `served`: the commands
    the warm server makes (the default), on sandboxes of their own."""
    sb = f"w{i}" if served else f"c{i}"
    port = (21000 if served else 20000) + i
    rows = [
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ("nsnet --version", [NSNET, "--version"]),
        ("nsnet ps", [NSNET, "ps"]),
        ("nsnet sandbox create --network", [NSNET, "sandbox", "create", sb, "--network", "one"]),
        ("nsnet network connect", [NSNET, "network", "connect", "two", sb]),
        ("nsnet publish", [NSNET, "publish", sb, f"{port}:80"]),
        ("nsnet sandbox ls", [NSNET, "sandbox", "ls"]),
        ("nsnet network ls", [NSNET, "network", "ls"]),
        ("nsnet sandbox inspect", [NSNET, "sandbox", "inspect", "fixed"]),
        ("nsnet network inspect", [NSNET, "network", "inspect", "one"]),
        ("nsnet port", [NSNET, "port"]),
        ("nsnet partition", [NSNET, "partition", sb]),
        ("nsnet faults", [NSNET, "faults"]),
        ("nsnet heal", [NSNET, "heal"]),
        ("nsnet sandbox rm", [NSNET, "sandbox", "rm", sb]),
        ("nsnet run --help", [NSNET, "run", "--help"]),
    ]
    if not served:
        return rows
    return [(label + " (served)", argv) for label, argv in rows if is_served(argv[1:])]


class Lab:
    def __init__(self):
        self.host = f"{os.environ.get('NSNET_BENCH_PREFIX', 'ncl')}{os.getpid()}"
        self.state_dir = tempfile.mkdtemp(prefix=f"{self.host}-")
        make_host(self.host)
        self.env = cli_env(NSNET_HOST_NETNS=self.host, NSNET_STATE_DIR=self.state_dir)
        self.nsnet("network", "create", "one", "--subnet", "10.251.0.0/20")
        self.nsnet("network", "create", "two", "--subnet", "10.252.0.0/20")
        self.nsnet("sandbox", "create", "fixed", "--network", "one", "-p", "18000:80")
        self.nsnet("sandbox", "create", "warm", "--network", "one")  # first-use work (DNS server, caches)
        self.nsnet("sandbox", "rm", "warm")

    def nsnet(self, *args: str) -> None:
        subprocess.run([NSNET, *args], env=self.env, check=True, capture_output=True, timeout=60)

    def time(self, argv: list[str], served: bool = False) -> float:
        env = dict(self.env, NSNET_CLI_LINGER="60" if served else "0")
        return proc.run(argv, env=env, check=True).ms

    def imports(self) -> list[tuple[int, str]]:
        """(microseconds of its own, module) for `sandbox create --network`, largest first."""
        r = subprocess.run([sys.executable, "-X", "importtime", NSNET, "sandbox", "create", "imp", "--network",
                            "one"], env=self.env, check=True, capture_output=True, text=True, timeout=60)
        self.nsnet("sandbox", "rm", "imp")
        rows = []
        for line in r.stderr.splitlines():
            if line.startswith("import time:") and "self [us]" not in line:
                own, _, name = line[len("import time:"):].split("|")
                rows.append((int(own), name.strip()))
        return sorted(rows, reverse=True)

    def close(self) -> None:
        stop_server(self.state_dir, paths=paths(self.state_dir))
        with open(os.devnull, "w") as null:
            subprocess.run([NSNET, "network", "rm", "--force", "one", "two"], env=self.env, stdout=null,
                           stderr=null, timeout=60)
            subprocess.run([NSNET, "sandbox", "rm", "fixed"], env=self.env, stdout=null, stderr=null, timeout=60)
        _kill_dns(self.state_dir)
        subprocess.run(["ip", "netns", "del", self.host], capture_output=True)
        remove_host_files(self.host)
        subprocess.run(["rm", "-rf", self.state_dir])


def _kill_dns(state_dir: str) -> None:
    from nsnet import Engine

    try:
        with Engine(state_dir=state_dir) as engine:
            pid = engine.dns_pid()
        if pid:
            os.kill(pid, 9)
    except Exception as exc:  # cleanup is best-effort; say what was left
        print(f"warning: DNS server of {state_dir} not stopped: {exc}", file=sys.stderr)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=15)
    ap.add_argument("--json", help="Also write the figures here.")
    ap.add_argument("--imports", action="store_true", help="Print the import time of `sandbox create --network`.")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/cli.py needs root")
    lab = Lab()
    samples: dict[str, list[float]] = {}
    try:
        for i in range(args.n):
            for served in (False, True) if i % 2 else (True, False):  # interleaved: load hits both alike
                for label, argv in commands(i, served):
                    samples.setdefault(label, []).append(lab.time(argv, served))
        heavy = lab.imports() if args.imports else []
    finally:
        lab.close()
    order = [label for label, _ in commands(0)] + [label for label, _ in commands(0, True)]
    samples = {label: samples[label] for label in order}
    res = {label: {"median": round(statistics.median(xs), 1), "min": round(min(xs), 1), "max": round(max(xs), 1)}
           for label, xs in samples.items()}
    print(f"n={args.n}  (milliseconds per process: median [min..max]; target <= {TARGET_MS} for changes, ls, inspect)")
    for label, r in res.items():
        print(f"  {label:34} {r['median']:7.1f}  [{r['min']:.1f}..{r['max']:.1f}]")
    if heavy:
        total = sum(us for us, _ in heavy)
        print(f"imports of `sandbox create --network`: {total / 1000:.1f} ms in all; the largest (own time):")
        for us, name in heavy[:25]:
            print(f"  {us / 1000:6.2f} ms  {name}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"n": args.n, "commands": res}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
