"""The CNI protocol: CNI_COMMAND and friends in the environment, the network
config on stdin, a JSON result (or error) on stdout.

    {"cniVersion": "1.0.0", "name": "devops", "type": "nsnet",
     "subnet": "192.168.1.0/24", "gateway": "192.168.1.1", "internal": false,
     "masquerade": true, "dns": true, "mtu": 1500, "stateDir": "/var/lib/nsnet",
     "capabilities": {"portMappings": true},
     "runtimeConfig": {"portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]}}

ADD creates the network on first use, adopts the runtime's namespace as a
sandbox named cni-CONTAINERID (one sandbox per container, one endpoint per
network/interface), attaches it, and publishes the port mappings. DEL is
idempotent and tolerates a namespace that is already gone. CHECK verifies the
endpoint and that the kernel still matches it."""

import json
import os
import re
import sys

from ..errors import Conflict, InvalidInput, NotFound, NsnetError
from .result import (
    DECODE,
    INCOMPATIBLE,
    INVALID_CONFIG,
    INVALID_ENV,
    PLUGIN,
    SUPPORTED,
    UNKNOWN_CONTAINER,
    CniError,
    build,
)

NETWORK_KEYS = ("subnet", "gateway", "mtu", "bridge", "internal", "masquerade", "dns")


def sandbox_name(container_id: str) -> str:
    clean = re.sub(r"[^A-Za-z0-9_.-]", "-", container_id)[:40]
    return f"cni-{clean}"


def _env(name: str, required: bool = True) -> str | None:
    value = os.environ.get(name)
    if required and not value:
        raise CniError(INVALID_ENV, f"{name} is not set")
    return value


def _ports(conf: dict) -> list[str]:
    specs = []
    for m in (conf.get("runtimeConfig") or {}).get("portMappings") or []:
        try:
            host_ip = m.get("hostIP") or ""
            proto = (m.get("protocol") or "tcp").lower()
            spec = f"{int(m['hostPort'])}:{int(m['containerPort'])}/{proto}"
        except (KeyError, TypeError, ValueError):
            raise CniError(INVALID_CONFIG, f"bad portMappings entry: {m}")
        specs.append(f"{host_ip}:{spec}" if host_ip else spec)
    return specs


def _engine(conf: dict):
    from ..engine import Engine

    state_dir = conf.get("stateDir") or os.environ.get("NSNET_STATE_DIR") or None
    return Engine(state_dir=state_dir, netns_prefix="")


def _ensure_network(eng, conf: dict) -> dict:
    name = conf.get("name")
    if not name:
        raise CniError(INVALID_CONFIG, "the network config has no 'name'")
    if conf.get("subnet") is not None:
        from ..ipam import parse_subnet

        wanted = str(parse_subnet(str(conf["subnet"]), "subnet"))
    net = eng.network_get(name)
    if net is not None and conf.get("subnet") is not None and net["subnet"] != wanted:
        raise CniError(INVALID_CONFIG, f"network '{name}' exists with subnet {net['subnet']}, "
                                       f"not {wanted}")
    if net is None:
        opts = {k: conf[k] for k in NETWORK_KEYS if k in conf}
        eng.network_create(name, **opts)
        net = eng.network_get(name)
    return net


def add(eng, conf: dict) -> dict:
    cid, netns, ifname = _env("CNI_CONTAINERID"), _env("CNI_NETNS"), _env("CNI_IFNAME")
    if not eng.netns_exists(netns):  # before anything is created
        raise CniError(UNKNOWN_CONTAINER, f"network namespace {netns} does not exist")
    ports = _ports(conf)
    net = _ensure_network(eng, conf)
    name = sandbox_name(cid)
    sb = eng.sandbox_get(name)
    if sb is None:
        eng.sandbox_adopt(name, netns)
    elif sb["netns"] != netns:
        raise CniError(PLUGIN, f"container {cid} is already attached from namespace {sb['netns']}")
    try:
        ep = eng.network_connect(net["name"], name, ifname=ifname, publish=ports)
    except NsnetError:
        if not eng.endpoint_rows(sandbox=name):
            eng.sandbox_rm(name)  # adopted just now and nothing attached: forget it again
        raise
    macs, host = eng.interface_macs(netns), eng.interface_macs(None)
    return build(conf.get("cniVersion", "1.0.0"), ep, net, netns, host.get(ep["host_ifname"]), macs.get(ifname))


def delete(eng, conf: dict) -> None:
    name = sandbox_name(_env("CNI_CONTAINERID"))
    if eng.sandbox_get(name) is None:
        return
    network = conf.get("name")
    if network and eng.endpoint_get(network, name):
        eng.network_disconnect(network, name)
    if not eng.endpoint_rows(sandbox=name):
        eng.sandbox_rm(name)


def check(eng, conf: dict) -> None:
    name = sandbox_name(_env("CNI_CONTAINERID"))
    if eng.sandbox_get(name) is None:
        raise CniError(UNKNOWN_CONTAINER, f"container {os.environ['CNI_CONTAINERID']} is not known to nsnet")
    if eng.endpoint_get(conf.get("name"), name) is None:
        raise CniError(UNKNOWN_CONTAINER, f"container is not attached to network '{conf.get('name')}'")
    drift = eng.drift(target=name)
    if drift:
        raise CniError(PLUGIN, f"the kernel no longer matches the attachment ({len(drift)} differences)")


def main() -> None:
    command = os.environ.get("CNI_COMMAND", "")
    raw = sys.stdin.read() if command != "VERSION" or not sys.stdin.isatty() else ""
    version = "1.0.0"
    try:
        if command == "VERSION":
            out = {"cniVersion": "1.0.0", "supportedVersions": SUPPORTED}
            json.dump(out, sys.stdout)
            return
        try:
            conf = json.loads(raw)
        except ValueError as exc:
            raise CniError(DECODE, f"cannot decode the network config: {exc}")
        version = conf.get("cniVersion", version)
        if version not in SUPPORTED:
            raise CniError(INCOMPATIBLE, f"cniVersion {version} is not supported", ", ".join(SUPPORTED))
        eng = _engine(conf)
        try:
            if command == "ADD":
                json.dump(add(eng, conf), sys.stdout)
            elif command == "DEL":
                delete(eng, conf)
            elif command == "CHECK":
                check(eng, conf)
            elif command == "STATUS":
                pass  # nothing to wait for: nsnet has no daemon
            else:
                raise CniError(INVALID_ENV, f"unknown CNI_COMMAND '{command}'")
        finally:
            eng.close()
    except CniError as exc:
        json.dump(exc.to_dict(version), sys.stdout)
        sys.exit(1)
    except NsnetError as exc:
        code = {InvalidInput: INVALID_CONFIG, NotFound: UNKNOWN_CONTAINER, Conflict: PLUGIN}.get(type(exc), PLUGIN)
        json.dump(CniError(code, str(exc)).to_dict(version), sys.stdout)
        sys.exit(1)
