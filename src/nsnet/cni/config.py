"""What a runtime asks, read and checked before anything is done: the CNI_*
environment and the network config on stdin, with strict types (a string is
not a boolean, a boolean is not a port).

    {"cniVersion": "1.1.0", "name": "devops", "type": "nsnet",
     "subnet": "192.168.1.0/24", "gateway": "192.168.1.1", "mtu": 1500, "bridge": "br-devops",
     (or "subnet": ["192.168.1.0/24", "fd00:1::/64"]: dual-stack; "ipv6": true: a free IPv6 /64 too)
     "internal": false, "masquerade": true, "dnsServer": true, "stateDir": "/var/lib/nsnet",
     "dns": {"search": ["example.org"]},
     "capabilities": {"portMappings": true, "ips": true, "mac": true, "aliases": true}}

The capability args come in "runtimeConfig" (portMappings, ips, mac, aliases);
a static address and MAC also as CNI_ARGS (IP=, MAC=), as podman sends them."""

import ipaddress
import os

from .. import family
from ..errors import InvalidInput
from ..names import check_ifname, check_mac, check_name
from .result import (
    DECODE,
    INCOMPATIBLE,
    INVALID_CONFIG,
    INVALID_ENV,
    LATEST,
    SUPPORTED,
    UNSUPPORTED_FIELD,
    CniError,
    version_at_least,
)

# Config key -> the engine's network_create argument, and the type it must have
# ("subnet" and "gateway": a string, or a list of them, one per family).
NETWORK_KEYS = {"subnet": ("subnet", str), "gateway": ("gateway", str), "mtu": ("mtu", int),
                "bridge": ("bridge", str), "internal": ("internal", bool), "masquerade": ("masquerade", bool),
                "dnsServer": ("dns", bool), "ipv6": ("ipv6", bool)}
PER_FAMILY = {"subnet", "gateway"}
KNOWN_ARGS = {"IgnoreUnknown", "IP", "MAC", "K8S_POD_NAME", "K8S_POD_NAMESPACE", "K8S_POD_INFRA_CONTAINER_ID",
              "K8S_POD_UID"}
# Which environment each command needs (spec: DEL may come without a namespace).
NEEDS = {"ADD": ("CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"), "CHECK": ("CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"),
         "DEL": ("CNI_CONTAINERID", "CNI_IFNAME"), "STATUS": (), "GC": ()}
SINCE = {"CHECK": "0.4.0", "STATUS": "1.1.0", "GC": "1.1.0"}


def bad(msg: str) -> CniError:
    return CniError(INVALID_CONFIG, msg)


def _typed(conf: dict, key: str, kind: type, where: str = ""):
    value = conf.get(key)
    if value is None:
        return None
    # bool is an int in Python: a port or an MTU must not be `true`
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        name = {str: "a string", int: "an integer", bool: "true or false", list: "a list", dict: "an object"}[kind]
        raise bad(f"{where}{key} must be {name}, not {value!r}")
    return value


def _checked(fn, *args):
    try:
        return fn(*args)
    except InvalidInput as exc:
        raise bad(str(exc))


class Request:
    """One plugin call: the command, its environment and its config."""

    def __init__(self, command: str, env, raw: str):
        self.command = command
        self.version = LATEST
        if command == "VERSION":  # never fails: echoes the caller's version when nsnet speaks it
            self.version = asked_version(raw) or LATEST
            return
        if command not in NEEDS:
            raise CniError(INVALID_ENV, f"unknown CNI_COMMAND '{command}'" if command else "CNI_COMMAND is not set")
        self.conf = self._decode(raw)
        self.version = self._version()
        for name in NEEDS[command]:
            if not env.get(name):
                raise CniError(INVALID_ENV, f"{name} is not set")
        if command in SINCE and not version_at_least(self.version, SINCE[command]):
            raise CniError(INCOMPATIBLE, f"cniVersion {self.version} does not allow {command} "
                                         f"(it came with {SINCE[command]})")
        self.container_id = env.get("CNI_CONTAINERID") or ""
        self.netns = env.get("CNI_NETNS") or ""
        if self.netns and not self.netns.startswith("/"):
            raise CniError(INVALID_ENV, f"CNI_NETNS must be a path, not '{self.netns}'")
        self.ifname = env.get("CNI_IFNAME") or ""
        if self.ifname:
            try:
                check_ifname(self.ifname)
            except InvalidInput as exc:
                raise CniError(INVALID_ENV, f"CNI_IFNAME: {exc}")
        self.args = self._cni_args(env.get("CNI_ARGS") or "")
        self._read_conf()

    # -- stdin --------------------------------------------------------------
    @staticmethod
    def _decode(raw: str) -> dict:
        import json

        try:
            conf = json.loads(raw)
        except ValueError as exc:
            raise CniError(DECODE, f"cannot decode the network config: {exc}")
        if not isinstance(conf, dict):
            raise CniError(DECODE, "the network config must be a JSON object")
        return conf

    def _version(self) -> str:
        version = self.conf.get("cniVersion")
        if version not in SUPPORTED:
            shown = "missing" if version is None else f"{version!r}"
            raise CniError(INCOMPATIBLE, f"cniVersion {shown} is not supported", ", ".join(SUPPORTED))
        return version

    def _read_conf(self) -> None:
        conf = self.conf
        self.name = _typed(conf, "name", str)
        if not self.name:
            raise bad("the network config has no 'name'")
        _checked(check_name, "network", self.name)
        if "ipam" in conf:
            raise CniError(UNSUPPORTED_FIELD, "nsnet allocates addresses itself: give 'subnet' (and 'gateway') "
                                              "instead of 'ipam'")
        self.network = {}
        for key, (option, kind) in NETWORK_KEYS.items():
            if key in PER_FAMILY and isinstance(conf.get(key), list):
                value = conf[key]
                if not value or not all(isinstance(v, str) for v in value):
                    raise bad(f"{key} must be a string or a list of strings (one per family), not {value!r}")
            else:
                value = _typed(conf, key, kind)
            if value is not None:
                self.network[option] = value
        if isinstance(conf.get("dns"), bool):
            raise bad("dns must be an object (the CNI spec's DNS settings); nsnet's own DNS server is "
                      "'dnsServer': true or false")
        self.dns = _typed(conf, "dns", dict)
        self.state_dir = _typed(conf, "stateDir", str)
        if self.state_dir is not None and not os.path.isabs(self.state_dir):
            raise bad(f"stateDir must be an absolute path, not '{self.state_dir}'")
        self.prev_result = _typed(conf, "prevResult", dict)
        runtime = _typed(conf, "runtimeConfig", dict) or {}
        self.ports = _port_specs(_typed(runtime, "portMappings", list, "runtimeConfig.") or [])
        self.ips = [*(_typed(runtime, "ips", list, "runtimeConfig.") or []),
                    *[ip for ip in self.args.get("IP", "").split(",") if ip]]
        mac = _typed(runtime, "mac", str, "runtimeConfig.") or self.args.get("MAC")
        self.mac = _checked(check_mac, mac) if mac else None
        aliases = (_typed(runtime, "aliases", dict, "runtimeConfig.") or {}).get(self.name) or []
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise bad(f"runtimeConfig.aliases.{self.name} must be a list of names")
        self.aliases = aliases
        self.valid_attachments = None
        if self.command == "GC":
            self.valid_attachments = _attachments(conf.get("cni.dev/valid-attachments"))

    def static_ips(self, net: dict) -> list[str] | None:
        """The addresses asked for on this network (runtimeConfig.ips / CNI_ARGS IP=),
        at most one per family; those of other networks' subnets are left out."""
        subnets = family.subnets(net)
        wanted = {}
        for text in self.ips:
            if not isinstance(text, str):
                raise bad(f"runtimeConfig.ips: {text!r} is not an address")
            try:
                addr = ipaddress.ip_interface(text).ip
            except ValueError:
                raise bad(f"static address '{text}' is not an IP address")
            if addr.version in subnets and addr in subnets[addr.version]:
                wanted.setdefault(addr.version, []).append(str(addr))
        wanted = {v: list(dict.fromkeys(addrs)) for v, addrs in wanted.items()}
        if self.ips and not wanted:
            shown = ", ".join(str(n) for n in subnets.values())
            versions = {ipaddress.ip_interface(t).version for t in self.ips}
            if not versions & set(subnets):
                raise bad(f"network '{self.name}' ({shown}) has no IPv{min(versions)} subnet for the static "
                          f"address{'es' if len(self.ips) > 1 else ''} asked for: {', '.join(map(str, self.ips))}")
            raise bad(f"no static address asked for is in network '{self.name}' ({shown}): "
                      f"{', '.join(map(str, self.ips))}")
        for addrs in wanted.values():
            if len(addrs) > 1:
                raise bad(f"nsnet gives an interface one address of each family; asked for {', '.join(addrs)}")
        return [addrs[0] for addrs in wanted.values()] or None

    # -- environment ----------------------------------------------------------
    @staticmethod
    def _cni_args(text: str) -> dict:
        args = {}
        for item in filter(None, text.split(";")):
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise CniError(INVALID_ENV, f"CNI_ARGS: '{item}' is not KEY=VALUE")
            args[key] = value
        unknown = sorted(set(args) - KNOWN_ARGS)
        if unknown and args.get("IgnoreUnknown", "").lower() not in ("1", "true"):
            raise CniError(INVALID_ENV, f"CNI_ARGS: unknown argument(s) {', '.join(unknown)} "
                                        "(add IgnoreUnknown=1 to ignore them)")
        return args


def asked_version(raw: str) -> str | None:
    """The config's cniVersion when nsnet speaks it (what VERSION and errors answer in)."""
    import json

    try:
        version = json.loads(raw).get("cniVersion")
    except (ValueError, AttributeError):
        return None
    return version if version in SUPPORTED else None


def _port_specs(mappings: list) -> list[str]:
    """runtimeConfig.portMappings -> nsnet's publish specs ([HOST_IP:]HOST:PORT/PROTO)."""
    specs = []
    for m in mappings:
        if not isinstance(m, dict):
            raise bad(f"portMappings entry {m!r} is not an object")
        host_port = _typed(m, "hostPort", int, "portMappings.")
        container_port = _typed(m, "containerPort", int, "portMappings.")
        if host_port is None or container_port is None:
            raise bad(f"portMappings entry {m} needs hostPort and containerPort")
        proto = (_typed(m, "protocol", str, "portMappings.") or "tcp").lower()
        host_ip = _typed(m, "hostIP", str, "portMappings.") or ""
        if ":" in host_ip and not host_ip.startswith("["):
            host_ip = f"[{host_ip}]"  # an IPv6 host address, as nsnet's publish specs write it
        spec = f"{host_port}:{container_port}/{proto}"
        specs.append(f"{host_ip}:{spec}" if host_ip else spec)
    return specs


def _attachments(value) -> set[tuple[str, str]]:
    if value is None:
        raise bad("GC needs 'cni.dev/valid-attachments'")
    if not isinstance(value, list):
        raise bad("cni.dev/valid-attachments must be a list")
    out = set()
    for item in value:
        if not (isinstance(item, dict) and isinstance(item.get("containerID"), str)
                and isinstance(item.get("ifname"), str)):
            raise bad(f"cni.dev/valid-attachments: {item!r} is not {{containerID, ifname}}")
        out.add((item["containerID"], item["ifname"]))
    return out
