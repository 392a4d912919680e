"""CNI reference plugins (Debian containernetworking-plugins), driven through
the CNI protocol the way a runtime does: env CNI_COMMAND / CNI_CONTAINERID /
CNI_NETNS / CNI_IFNAME / CNI_PATH, the network config on stdin, and for the
chained portmap plugin the bridge result as prevResult plus
runtimeConfig.portMappings.  bridge + host-local IPAM, ipMasq off."""

import json
import os

from . import proc
from .tool import CONTAINER_PORT, Endpoint, Tool

CNI_PATH = "/usr/lib/cni"
SUBNET, GATEWAY = "10.231.0.0/16", "10.231.0.1"
HOSTPORT_BASE = 30000


class CniBridge(Tool):
    family = "cni"
    bridge = "nbcbr0"  # the bridge plugin never deletes its bridge

    def __init__(self, ports: bool = False):
        super().__init__(ports)
        self.name = "cni-portmap" if ports else "cni-bridge"
        self.label = "CNI bridge+portmap" if ports else "CNI bridge"
        self.gateway = GATEWAY

    def available(self):
        need = ["bridge", "host-local"] + (["portmap"] if self.ports else [])
        missing = [p for p in need if not os.access(f"{CNI_PATH}/{p}", os.X_OK)]
        return f"missing {CNI_PATH}/{','.join(missing)} (bench/install_peers.sh)" if missing else None

    def setup_host(self, host):
        super().setup_host(host)
        self.conf = {
            "cniVersion": "1.0.0", "name": "nbcnet", "type": "bridge", "bridge": self.bridge,
            "isGateway": True, "ipMasq": False,
            "ipam": {"type": "host-local", "dataDir": f"{host.tmpdir}/ipam",
                     "ranges": [[{"subnet": SUBNET, "gateway": GATEWAY}]],
                     "routes": [{"dst": "0.0.0.0/0"}]},
        }
        self.conf_bytes = json.dumps(self.conf).encode()

    def _portmap_conf(self, i: int, prev: dict | None) -> bytes:
        conf = {"cniVersion": "1.0.0", "name": "nbcnet", "type": "portmap", "snat": True,
                "capabilities": {"portMappings": True},
                "runtimeConfig": {"portMappings": [{"hostPort": HOSTPORT_BASE + i,
                                                    "containerPort": CONTAINER_PORT,
                                                    "protocol": "tcp"}]}}
        if prev is not None:
            conf["prevResult"] = prev
        return json.dumps(conf).encode()

    def call_args(self, command: str, i: int, plugin: str = "bridge", stdin: bytes | None = None):
        """(argv, environment, stdin) of one plugin call (bench/cni.py starts several at once)."""
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "CNI_COMMAND": command,
               "CNI_CONTAINERID": f"nbc{i}", "CNI_IFNAME": "eth0", "CNI_PATH": CNI_PATH,
               "CNI_NETNS": f"/run/netns/{self.host.sandbox_name(i)}"}
        return [f"{CNI_PATH}/{plugin}"], env, self.conf_bytes if stdin is None else stdin

    def _call(self, plugin: str, command: str, i: int, stdin: bytes) -> dict:
        argv, env, stdin = self.call_args(command, i, plugin, stdin)
        res = proc.run(argv, input=stdin, env=env)
        if res.returncode != 0:
            raise RuntimeError(f"CNI {plugin} {command} sandbox {i}: "
                               f"{(res.stdout or res.stderr).decode().strip()}")
        return json.loads(res.stdout) if res.stdout.strip() else {}

    def attach(self, i):
        result = self._call("bridge", "ADD", i, self.conf_bytes)
        port = None
        if self.ports:
            result = self._call("portmap", "ADD", i, self._portmap_conf(i, result))
            port = HOSTPORT_BASE + i
        ep = Endpoint(self.host.sandbox_name(i), result["ips"][0]["address"].split("/")[0], port)
        self.endpoints[i] = ep
        return ep

    def detach(self, i):
        if self.ports:  # DEL runs the chain in reverse order
            self._call("portmap", "DEL", i, self._portmap_conf(i, None))
        self._call("bridge", "DEL", i, self.conf_bytes)

    def leftovers(self):
        left = super().leftovers()
        ipam = f"{self.host.tmpdir}/ipam/nbcnet"
        if os.path.isdir(ipam):
            left += [f"ipam:{f}" for f in os.listdir(ipam) if f[0].isdigit()]
        return left
