"""netavark (Debian netavark 1.4, /usr/lib/podman/netavark) driven as podman
does: `netavark --config DIR setup|teardown /run/netns/X` with the network
options JSON on stdin.  netavark does no IPAM itself (podman does), so the
bench hands it static_ips.  It turns on ip_forward and writes iptables(-nft)
rules: both only inside the throwaway host namespace."""

import json
import os

from . import proc
from .tool import CONTAINER_PORT, Endpoint, Tool

NETAVARK = "/usr/lib/podman/netavark"
SUBNET, GATEWAY = "10.232.0.0/16", "10.232.0.1"
HOSTPORT_BASE = 31000


def ip_of(i: int) -> str:
    return f"10.232.{(i + 2) // 256}.{(i + 2) % 256}"


class Netavark(Tool):
    family = "netavark"

    def __init__(self, ports: bool = False):
        super().__init__(ports)
        self.name = "netavark-port" if ports else "netavark"
        self.label = "netavark + port" if ports else "netavark"
        self.gateway = GATEWAY

    def available(self):
        return None if os.access(NETAVARK, os.X_OK) else f"{NETAVARK} missing (bench/install_peers.sh)"

    def setup_host(self, host):
        super().setup_host(host)
        self.config_dir = f"{host.tmpdir}/aardvark"
        self.opts: dict[int, bytes] = {}

    def options(self, i: int) -> dict:
        ports = []
        if self.ports:
            ports = [{"host_ip": "", "container_port": CONTAINER_PORT,
                      "host_port": HOSTPORT_BASE + i, "range": 1, "protocol": "tcp"}]
        return {
            "container_id": f"{i + 1:064x}", "container_name": f"nbn{i}", "port_mappings": ports,
            "networks": {"nbnnet": {"static_ips": [ip_of(i)], "aliases": [f"nbn{i}"],
                                    "interface_name": "eth0"}},
            "network_info": {"nbnnet": {
                "name": "nbnnet", "id": f"{12345:064x}", "driver": "bridge",
                "network_interface": "nbnbr0", "created": "2024-01-01T00:00:00Z",
                "subnets": [{"subnet": SUBNET, "gateway": GATEWAY}], "ipv6_enabled": False,
                "internal": False, "dns_enabled": False, "ipam_options": {"driver": "host-local"},
            }},
        }

    def _call(self, verb: str, i: int) -> None:
        res = proc.run([NETAVARK, "--config", self.config_dir, verb, f"/run/netns/{self.host.sandbox_name(i)}"],
                       input=self.opts[i])
        if res.returncode != 0:
            raise RuntimeError(f"netavark {verb} sandbox {i}: {res.stderr.decode().strip()}")

    def attach(self, i):
        self.opts[i] = json.dumps(self.options(i)).encode()  # runtime's own work, cheap
        self._call("setup", i)
        ep = Endpoint(self.host.sandbox_name(i), ip_of(i), HOSTPORT_BASE + i if self.ports else None)
        self.endpoints[i] = ep
        return ep

    def detach(self, i):
        self._call("teardown", i)
