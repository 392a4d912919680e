"""CNI results and errors (spec 1.1.0; results for 0.3.0-1.0.0 too: the 0.x
forms differ only in the per-address "version" field).

Error codes are the spec's (1-11, 50-51); nsnet's own failures are 100 + the
CLI's exit code for the same error (104 conflict, 105 not permitted, 106
kernel error, 107 rollback failed); 999 an attachment that does not match
(CHECK) or anything unforeseen."""

from .. import family
from ..dns.config import LISTEN, LISTEN6

SUPPORTED = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]
LATEST = SUPPORTED[-1]

INCOMPATIBLE = 1        # incompatible CNI version
UNSUPPORTED_FIELD = 2   # unsupported field in the network config
UNKNOWN_CONTAINER = 3   # container unknown or does not exist
INVALID_ENV = 4         # invalid necessary environment variables
IO_FAILURE = 5
DECODE = 6              # failed to decode content
INVALID_CONFIG = 7      # invalid network config
TRY_AGAIN = 11          # try again later
NOT_AVAILABLE = 50      # STATUS: the plugin cannot ADD
LIMITED = 51            # STATUS: ... and existing containers may have limited connectivity
PLUGIN = 999


class CniError(Exception):
    def __init__(self, code: int, msg: str, details: str = ""):
        super().__init__(msg)
        self.code, self.msg, self.details = code, msg, details

    def to_dict(self, version: str) -> dict:
        out = {"cniVersion": version, "code": self.code, "msg": self.msg}
        if self.details:
            out["details"] = self.details
        return out


def version_at_least(version: str, minimum: str) -> bool:
    return tuple(int(p) for p in version.split(".")) >= tuple(int(p) for p in minimum.split("."))


def _ip_entry(version: str, ip: dict) -> dict:
    """An "ips" entry in the form of `version` (0.x results name the IP version)."""
    entry = {k: v for k, v in ip.items() if k != "version"}
    if not version_at_least(version, "1.0.0"):
        entry["version"] = "6" if ":" in entry["address"] else "4"
    return entry


def build(version: str, network: dict, endpoint: dict, netns: str, mac: str | None,
          dns: dict | None = None, prev: dict | None = None) -> dict:
    """The ADD result for one attachment, appended to `prev` (the result of the
    plugins before nsnet in a chain, if any)."""
    prev = prev or {}
    interfaces = [dict(i) for i in prev.get("interfaces") or []]
    ips = [_ip_entry(version, ip) for ip in prev.get("ips") or []]
    routes = list(prev.get("routes") or [])
    container = {"name": endpoint["ifname"], "sandbox": netns}
    if mac:
        container["mac"] = mac
    interfaces += [{"name": endpoint["host_ifname"]}, container]
    for ip_version, subnet in family.subnets(network).items():
        address, gateway = endpoint.get(family.IP[ip_version]), network[family.GATEWAY[ip_version]]
        if address:
            ips.append(_ip_entry(version, {"address": f"{address}/{subnet.prefixlen}", "gateway": gateway,
                                           "interface": len(interfaces) - 1}))
        if endpoint.get(family.IS_GATEWAY[ip_version]):
            routes.append({"dst": family.DEFAULT_ROUTE[ip_version], "gw": gateway})
    result = {"cniVersion": version, "interfaces": interfaces, "ips": ips}
    if routes:
        result["routes"] = routes
    merged = _merge_dns(prev.get("dns"), dns)
    if merged:
        result["dns"] = merged
    return result


def _merge_dns(*parts) -> dict:
    out: dict = {}
    for part in parts:
        for key, value in (part or {}).items():
            if isinstance(value, list):
                out[key] = out.get(key, []) + [v for v in value if v not in out.get(key, [])]
            elif value:
                out.setdefault(key, value)
    return out


def dns_of(network: dict, conf_dns: dict | None) -> dict:
    """nsnet's DNS server (127.0.0.11 in the container's own namespace, and ::1
    on a network with IPv6) when the network has one, then what the config's
    "dns" adds."""
    ours = {}
    if (network.get("options") or {}).get("dns", True):
        ours["nameservers"] = list(LISTEN) + (list(LISTEN6) if network.get("subnet6") else [])
    return _merge_dns(ours, conf_dns)
