"""nsnet's CNI plugin, driven as bench/peer_cni.py drives the reference
bridge + host-local: one `nsnet-cni` process per ADD and per DEL, the CNI_*
environment and the config on stdin, run inside the bench's host namespace.
Its like-for-like peer is "cni-bridge" (no masquerade, no DNS server there
either); the issue's target is ADD <= 2x and DEL <= 1x that peer's.

    attach(i)  = nsnet-cni ADD (the first one also makes the network)
    detach(i)  = nsnet-cni DEL, then the runtime removes the namespace
"""

import json
import os
import sys

from . import proc
from .nsnet_cli_tool import cli_env
from .nsnet_tool import import_error
from .tool import Endpoint, Tool

PLUGIN = os.path.join(os.path.dirname(sys.executable), "nsnet-cni")
SUBNET, GATEWAY = "10.232.0.0/16", "10.232.0.1"


class NsnetCniTool(Tool):
    family = "nsnet"
    name, label = "nsnet-cni", "nsnet CNI plugin"
    bridge = "nsbr-nbcni"  # a CNI network outlives its containers, as podman's do
    slow = True  # a process per ADD and per DEL: fewer rounds
    max_n = 200

    def __init__(self):
        super().__init__(False)
        self.gateway = GATEWAY
        self.env: dict = {}
        self.conf = b""

    def available(self):
        why = import_error()
        if why is None and not os.access(PLUGIN, os.X_OK):
            why = f"{PLUGIN} missing (pip install -e .)"
        return why

    def setup_host(self, host):
        super().setup_host(host)
        self.state_dir = f"{host.tmpdir}/state"
        os.makedirs(self.state_dir)  # as an installed nsnet's is (the first call in a new one makes it itself)
        self.env = {k: v for k, v in cli_env().items() if not k.startswith(("NSNET_", "CNI_"))}
        self.conf = json.dumps({"cniVersion": "1.0.0", "name": "nbcni", "type": "nsnet", "subnet": SUBNET,
                                "masquerade": False, "dnsServer": False, "stateDir": self.state_dir}).encode()

    def call_args(self, command: str, i: int):
        """(argv, environment, stdin) of one plugin call (bench/cni.py starts several at once)."""
        env = self.env | {"CNI_COMMAND": command, "CNI_CONTAINERID": f"nbc{i}", "CNI_IFNAME": "eth0",
                          "CNI_PATH": os.path.dirname(PLUGIN),
                          "CNI_NETNS": f"/run/netns/{self.host.sandbox_name(i)}"}
        return [PLUGIN], env, self.conf

    def _call(self, command: str, i: int) -> dict:
        argv, env, stdin = self.call_args(command, i)
        res = proc.run(argv, input=stdin, env=env)
        if res.returncode != 0:
            raise RuntimeError(f"nsnet-cni {command} sandbox {i}: {(res.stdout or res.stderr).decode().strip()}")
        return json.loads(res.stdout) if res.stdout.strip() else {}

    def attach(self, i):
        result = self._call("ADD", i)
        ep = Endpoint(self.host.sandbox_name(i), result["ips"][0]["address"].split("/")[0])
        self.endpoints[i] = ep
        return ep

    def detach(self, i):
        self._call("DEL", i)

    def teardown_all(self) -> list[float]:
        """The DELs, then the plugin's server stops (a runtime's would after
        NSNET_CNI_LINGER idle seconds): nothing may stay in the host namespace."""
        times = super().teardown_all()
        from nsnet.cni.client import stop_server

        stop_server(self.state_dir)
        return times
