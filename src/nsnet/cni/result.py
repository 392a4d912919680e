"""CNI results and errors (spec 1.0.0; 0.3.x/0.4.0 results differ only in
the per-address "version" field)."""

import ipaddress

SUPPORTED = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]

# CNI error codes (spec): 1 incompatible version, 3 container unknown, 4 invalid
# environment, 6 decoding failure, 7 invalid network config, 999 plugin-specific.
INCOMPATIBLE, UNKNOWN_CONTAINER, INVALID_ENV, DECODE, INVALID_CONFIG, PLUGIN = 1, 3, 4, 6, 7, 999


class CniError(Exception):
    def __init__(self, code: int, msg: str, details: str = ""):
        super().__init__(msg)
        self.code, self.msg, self.details = code, msg, details

    def to_dict(self, version: str) -> dict:
        out = {"cniVersion": version, "code": self.code, "msg": self.msg}
        if self.details:
            out["details"] = self.details
        return out


def build(version: str, endpoint: dict, network: dict, netns: str, host_mac: str | None,
          sandbox_mac: str | None) -> dict:
    """The ADD result for one attachment."""
    subnet = ipaddress.ip_network(network["subnet"])
    ip = {"address": f"{endpoint['ip']}/{subnet.prefixlen}", "gateway": network["gateway"], "interface": 1}
    if version.startswith("0."):
        ip["version"] = "4"
    result = {
        "cniVersion": version,
        "interfaces": [
            {"name": endpoint["host_ifname"], **({"mac": host_mac} if host_mac else {})},
            {"name": endpoint["ifname"], **({"mac": sandbox_mac} if sandbox_mac else {}), "sandbox": netns},
        ],
        "ips": [ip],
        "routes": [{"dst": "0.0.0.0/0", "gw": network["gateway"]}] if endpoint["is_gateway"] else [],
    }
    if (network.get("options") or {}).get("dns", True):
        result["dns"] = {"nameservers": [network["gateway"]]}
    return result
