"""nsnet through its command line, as a shell user runs it: one `nsnet`
process per sandbox, so Python start-up and imports are part of each attach.
By default through its warm server (cli/served.py), which the first call
starts and which ends 30 s after the last or when the state directory goes;
`in_process`: NSNET_CLI_LINGER=0, every command made in its own process.

    create_sandbox(i) = nothing (the CLI makes the netns and attaches in one call)
    attach(i)         = nsnet sandbox create <i> --network net0
    teardown          = nsnet sandbox rm <all names>   (one process; reported ÷N)
                        nsnet network rm net0 --force

The engine is pointed at the bench's host namespace and state directory
through NSNET_HOST_NETNS / NSNET_STATE_DIR (and NSNET_NETNS_PREFIX, so the
harness finds the sandboxes by its own prefix).
"""

import os
import re
import sys
import time
from pathlib import Path

from . import proc
from .nsnet_tool import import_error
from .tool import Endpoint, Tool

SUBNET, GATEWAY = "10.89.0.0/16", "10.89.0.1"
NSNET = os.path.join(os.path.dirname(sys.executable), "nsnet")
ADDR = re.compile(r"net0=(\d+\.\d+\.\d+\.\d+)")
PYCACHE = Path(__file__).resolve().parent / "results" / "pycache"


def cli_env(**extra: str) -> dict:
    """The environment for `nsnet` processes: as on a user's machine, Python
    may cache bytecode (this machine's sessions set PYTHONDONTWRITEBYTECODE,
    which would make every process recompile nsnet: ~70 ms); the cache goes
    to bench/results/pycache, not into the source tree."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    PYCACHE.mkdir(parents=True, exist_ok=True)
    return env | {"PYTHONPYCACHEPREFIX": str(PYCACHE)} | extra


class NsnetCliTool(Tool):
    family = "nsnet"
    name, label = "nsnet-cli", "nsnet CLI (its warm server, the default)"
    slow = True  # ~0.25 s per call, flat in N: fewer rounds, and N <= 50
    max_n = 50

    def __init__(self, in_process: bool = False):
        super().__init__(False)
        self.gateway = GATEWAY
        self.env: dict = {}
        self.served = not in_process  # the warm server (cli/served.py): the first call starts it
        if in_process:
            self.name, self.label = "nsnet-cli-inproc", "nsnet CLI, NSNET_CLI_LINGER=0 (all in its own process)"

    def available(self):
        why = import_error()
        if why is None and not os.access(NSNET, os.X_OK):
            why = f"{NSNET} missing (pip install -e .)"
        return why

    def nsnet(self, *args: str) -> str:
        res = proc.run([NSNET, *args], env=self.env, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"nsnet {' '.join(args[:3])}: rc={res.returncode} {res.stderr.strip()[-300:]}")
        return res.stdout

    def setup_host(self, host):
        super().setup_host(host)
        self.env = cli_env(NSNET_HOST_NETNS=host.name, NSNET_STATE_DIR=f"{host.tmpdir}/state",
                           NSNET_NETNS_PREFIX=host.sandbox_prefix,
                           NSNET_CLI_LINGER="30" if self.served else "0")
        self.nsnet("network", "create", "net0", "--subnet", SUBNET)

    def create_sandbox(self, i):
        return self.host.sandbox_name(i)

    def attach(self, i):
        out = self.nsnet("sandbox", "create", str(i), "--network", "net0")
        m = ADDR.search(out)
        self.endpoints[i] = Endpoint(self.host.sandbox_name(i), m.group(1) if m else None)
        return self.endpoints[i]

    def teardown_all(self):
        n = len(self.endpoints)
        t0 = time.perf_counter()
        if n:
            self.nsnet("sandbox", "rm", *(str(i) for i in sorted(self.endpoints)))
        each = (time.perf_counter() - t0) * 1000 / max(1, n)
        self.nsnet("network", "rm", "net0", "--force")
        self.endpoints.clear()
        if self.served:  # the warm server goes now, not 30 s later: nothing may stay in the host namespace
            from nsnet.cli.served import paths
            from nsnet.cni.client import stop_server

            state_dir = self.env["NSNET_STATE_DIR"]
            stop_server(state_dir, paths=paths(state_dir))
        return [each] * n
