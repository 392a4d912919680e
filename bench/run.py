"""`nsnet run --detach` to a listening server, and `nsnet ps` start-up.

    .venv/bin/python bench/run.py [--n 20] [--json FILE]

All of it happens in a throwaway host namespace `nrb<pid>` (removed at the
end, also on failure); the bench only connects to addresses inside it.

Time to a listening server, per sample (medians of --n samples, interleaved):
  cli      `nsnet run -d --network bench -p PORT:8080 -- socat ...` spawned, until
           a TCP connect to 127.0.0.1:PORT in the host namespace is accepted
           (through the published port: DNAT to the sandbox)
  api      the same through the Python API in this process (no CLI start-up)
  exist    the CLI into an existing sandbox (`--sandbox`): no sandbox to make
  api_exist  the API into the existing sandbox: spawning alone
  server   the server alone, spawned straight into the host namespace: its own
           start-up, which the target excludes
Then `nsnet ps` start-up (with --n records), against bare Python.

The CLI runs as on a user's machine: Python may cache bytecode (cli_env, as
the CLI tool of the full bench does), whatever PYTHONDONTWRITEBYTECODE says here.
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

from nsnet import Engine
from nsnet.kernel import nsfs

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench import proc
from bench.labhost import make_host, remove_host_files
from bench.nsnet_cli_tool import cli_env

VENV_BIN = os.path.dirname(sys.executable)
NSNET = os.path.join(VENV_BIN, "nsnet")
SOCAT = shutil.which("socat")
PORT = 8080
CONNECT_DEADLINE = 10.0


def server_argv(port: int) -> list[str]:
    if SOCAT:
        return [SOCAT, f"TCP-LISTEN:{port},reuseaddr,fork", "SYSTEM:echo hi"]
    code = ("import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
            "s.bind(('0.0.0.0', int(sys.argv[1]))); s.listen(64)\nwhile True: s.accept()[0].close()")
    return ["python3", "-c", code, str(port)]


class Bench:
    def __init__(self):
        self.host = f"nrb{os.getpid()}"
        self.state_dir = tempfile.mkdtemp(prefix=f"{self.host}-")
        make_host(self.host)  # lo up, and no upstream resolvers for nsnet's DNS server
        self.fd = nsfs.open_fd(self.host)
        self.engine = Engine(host_netns=self.host, state_dir=self.state_dir)
        self.env = cli_env(NSNET_HOST_NETNS=self.host, NSNET_STATE_DIR=self.state_dir)
        self.popens: list[subprocess.Popen] = []
        self.engine.network_create("bench", subnet="10.250.0.0/20")
        self.engine.sandbox_create("fixed", networks=[("bench", None)], publish=[f"17999:{PORT}"])

    def connect_time(self, port: int, t0: float) -> float:
        """Milliseconds from t0 until 127.0.0.1:port in the host namespace accepts."""
        deadline = time.monotonic() + CONNECT_DEADLINE
        while time.monotonic() < deadline:
            with nsfs.inside(self.host):
                s = socket.socket()
            s.settimeout(0.05)  # a SYN dropped while the path is made would wait out TCP's 1 s retransmission
            try:
                s.connect(("127.0.0.1", port))
                return (time.perf_counter() - t0) * 1000
            except OSError:
                time.sleep(0.0005)
            finally:
                s.close()
        raise RuntimeError(f"nothing accepted on port {port} within {CONNECT_DEADLINE} s")

    def cli_sample(self, i: int) -> tuple[float, float]:
        port = 18000 + i
        argv = [NSNET, "run", "-d", "--name", f"c{i}", "--network", "bench", "-p", f"{port}:{PORT}", "--",
                *server_argv(PORT)]
        with tempfile.TemporaryFile() as err:
            t0 = time.perf_counter()
            p = subprocess.Popen(argv, env=self.env, stdout=subprocess.DEVNULL, stderr=err)
            listening = self.connect_time(port, t0)
            returned = proc.exit_ms(p, t0, timeout=30)
            if p.returncode != 0:
                err.seek(0)
                raise RuntimeError(f"nsnet run failed: {err.read().decode().strip()}")
        return listening, returned

    def api_sample(self, i: int) -> float:
        port = 19000 + i
        t0 = time.perf_counter()
        self.engine.run(server_argv(PORT), name=f"a{i}", networks=[("bench", None)], publish=[f"{port}:{PORT}"],
                        detach=True)
        return self.connect_time(port, t0)

    def api_existing_sample(self, i: int) -> float:
        self.engine.processes_stop_sandbox("fixed", timeout=2)
        t0 = time.perf_counter()
        self.engine.run(server_argv(PORT), name=f"x{i}", sandbox="fixed", detach=True)
        return self.connect_time(17999, t0)

    def existing_sample(self, i: int) -> float:
        self.engine.processes_stop_sandbox("fixed", timeout=2)
        t0 = time.perf_counter()
        r = subprocess.run([NSNET, "run", "-d", "--name", f"e{i}", "--sandbox", "fixed", "--",
                            *server_argv(PORT)], env=self.env, capture_output=True)
        if r.returncode != 0:
            raise RuntimeError(f"nsnet run --sandbox failed: {r.stderr.decode().strip()}")
        return self.connect_time(17999, t0)

    def server_sample(self, i: int) -> float:
        port = 20000 + i
        t0 = time.perf_counter()
        p = subprocess.Popen(server_argv(port), preexec_fn=lambda: nsfs.setns(self.fd),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.popens.append(p)
        took = self.connect_time(port, t0)
        p.kill()
        p.wait(5)
        return took

    def close(self):
        for p in self.popens:
            if p.poll() is None:
                p.kill()
                p.wait(5)
        try:
            for sb in self.engine.sandbox_ls():
                with contextlib.suppress(Exception):
                    self.engine.sandbox_rm(sb["name"])  # stops what runs there first
        finally:
            self.engine.close()
            os.close(self.fd)
            for ns in nsfs.list_names():
                if ns.startswith(self.host):
                    nsfs.delete(ns)
            subprocess.run(["ip", "netns", "del", self.host], capture_output=True)
            remove_host_files(self.host)
            shutil.rmtree(self.state_dir, ignore_errors=True)


def startups(variants: dict, env: dict, n: int) -> dict:
    """Milliseconds per start-up of each argv, interleaved round by round."""
    out = {key: [] for key in variants}
    for _ in range(n):
        for key, argv in variants.items():
            t0 = time.perf_counter()
            subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, check=True)
            out[key].append((time.perf_counter() - t0) * 1000)
    return out


def ms(xs) -> dict:
    """xs in milliseconds."""
    return {"median": round(statistics.median(xs), 1), "min": round(min(xs), 1), "max": round(max(xs), 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--json", help="Also write the figures here.")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/run.py needs root")
    bench = Bench()
    res: dict = {"n": args.n, "server": "socat" if SOCAT else "python3"}
    try:
        samples = {"cli": [], "cli_returned": [], "api": [], "exist": [], "api_exist": [], "server": []}
        for i in range(args.n):  # interleaved, so load changes hit every series alike
            listening, returned = bench.cli_sample(i)
            samples["cli"].append(listening)
            samples["cli_returned"].append(returned)
            samples["api"].append(bench.api_sample(i))
            samples["exist"].append(bench.existing_sample(i))
            samples["api_exist"].append(bench.api_existing_sample(i))
            samples["server"].append(bench.server_sample(i))
        for key, xs in samples.items():
            res[key] = ms(xs)
        server = res["server"]["median"]
        res["overhead_cli"] = round(res["cli"]["median"] - server, 1)
        res["overhead_api"] = round(res["api"]["median"] - server, 1)
        res["overhead_exist"] = round(res["exist"]["median"] - server, 1)
        res["overhead_api_exist"] = round(res["api_exist"]["median"] - server, 1)
        variants = {
            "python_bare": [sys.executable, "-c", "pass"],
            "ps_cli": [NSNET, "ps"],
            "ps_json": [NSNET, "--json", "ps"],
        }
        for key, xs in startups(variants, bench.env, args.n).items():
            res[key] = ms(xs)
    finally:
        bench.close()
    print(f"n={args.n}, server={res['server']}  (milliseconds: median [min..max])")
    rows = [
        ("cli", "nsnet run -d (create+attach+publish) -> accepting"),
        ("cli_returned", "  ... nsnet run -d returned (upper bound)"),
        ("api", "Engine.run(detach=True) -> accepting"),
        ("exist", "nsnet run -d --sandbox (existing) -> accepting"),
        ("api_exist", "Engine.run(sandbox=existing, detach=True) -> accepting"),
        ("server", "server alone (spawned into the host ns)"),
        ("python_bare", "python -c pass"),
        ("ps_cli", "nsnet ps (console script, as installed)"),
        ("ps_json", "nsnet --json ps (imports json)"),
    ]
    for key, label in rows:
        r = res[key]
        print(f"  {label:52} {r['median']:7.1f}  [{r['min']:.1f}..{r['max']:.1f}]")
    print(f"  overhead to listening (median - server median): cli {res['overhead_cli']} ms, "
          f"api {res['overhead_api']} ms; existing sandbox: cli {res['overhead_exist']} ms, "
          f"api {res['overhead_api_exist']} ms  (target <= 50)")
    print(f"  nsnet ps: {res['ps_cli']['median']} ms as installed, python -c pass {res['python_bare']['median']} ms  "
          "(target <= 20)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=2)
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    sys.exit(main())
