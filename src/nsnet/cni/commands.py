"""The CNI commands over the engine's public API.

An attachment (CNI_CONTAINERID, network name, CNI_IFNAME) is one endpoint of
sandbox cni-CONTAINERID, which adopts the runtime's namespace (nsnet never
removes it). The network is made on first use; a container may be on one
network through several interfaces (eth0, eth1: one attachment each)."""

import contextlib
import ipaddress
import os
import re

from .. import family
from ..errors import NotFound, NsnetError
from .config import Request, bad
from .result import LIMITED, NOT_AVAILABLE, PLUGIN, UNKNOWN_CONTAINER, CniError, build, dns_of

PREFIX = "cni-"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def sandbox_name(container_id: str) -> str:
    """cni-ID for ids nsnet can use as they are (up to 40 characters: a runtime's
    64-hex id is cut, which keeps it unique); others get a hash of the whole id."""
    clean = _UNSAFE.sub("-", container_id)
    if clean == container_id and len(clean) <= 40:
        return PREFIX + clean
    if clean == container_id and re.fullmatch(r"[0-9a-f]{41,}", clean):
        return PREFIX + clean[:40]
    import hashlib

    return f"{PREFIX}{clean[:27]}-{hashlib.sha256(container_id.encode()).hexdigest()[:12]}"


def _is_ours(eng, sandbox: str) -> bool:
    """A sandbox nsnet-cni adopted (not one of the CLI's on the same network)."""
    sb = eng.sandbox_get(sandbox)
    return bool(sb and sandbox.startswith(PREFIX) and (sb.get("options") or {}).get("external"))


def _forget_if_empty(eng, sandbox: str) -> None:
    if eng.sandbox_get(sandbox) is not None and not eng.endpoint_rows(sandbox=sandbox):
        eng.sandbox_rm(sandbox)


def _network_row(eng, req: Request) -> dict:
    """The network's row, or, when this ADD is to make it, the config's subnets
    as one (static addresses are matched against them). An existing network must
    have the subnets the config names, if it names any."""
    wanted = req.network.get("subnet")
    texts = [] if wanted is None else [wanted] if isinstance(wanted, str) else wanted
    try:
        asked = [ipaddress.ip_network(w, strict=False) for w in texts]
    except (TypeError, ValueError):
        raise bad(f"subnet {wanted!r} is not a valid CIDR")
    net = eng.network_get(req.name)
    if net is None:
        return {family.SUBNET[n.version]: str(n) for n in asked}
    if wanted is None:
        return net
    has = set(family.subnets(net).values())
    if set(asked) != has:
        raise bad(f"network '{req.name}' exists with subnet {', '.join(sorted(map(str, has))) or 'none'}, "
                  f"not {', '.join(sorted(map(str, set(asked))))}")
    return net


def add(eng, req: Request) -> dict:
    name = sandbox_name(req.container_id)
    sb = eng.sandbox_get(name)
    if sb is not None and sb["netns"] != req.netns:
        if eng.netns_exists(sb["netns"]):
            raise CniError(PLUGIN, f"container {req.container_id} is already attached from namespace {sb['netns']}")
        eng.sandbox_rm(name)  # its namespace is gone: a DEL that never came
        sb = None
    if sb is None:
        try:
            eng.sandbox_adopt(name, req.netns)
        except NotFound as exc:
            raise CniError(UNKNOWN_CONTAINER, str(exc))
    try:
        net = _network_row(eng, req)
        ep = eng.endpoint_get(req.name, name, req.ifname)
        if ep is None:  # else: an ADD repeated without a DEL gets the same result
            # The network is made on first use in the same change as the attachment:
            # parallel first ADDs make it once, and a failed ADD takes it back.
            ep = eng.network_attach(req.name, name, create=req.network, ip=req.static_ips(net),
                                    ifname=req.ifname, publish=req.ports, aliases=req.aliases, mac=req.mac,
                                    probe_ports=False)  # the runtime holds its host ports itself
    except BaseException:
        with contextlib.suppress(NsnetError):
            _forget_if_empty(eng, name)
        raise
    net = eng.network_get(req.name)
    mac = req.mac or eng.interface_macs(req.netns).get(req.ifname)
    return build(req.version, net, ep, req.netns, mac, dns_of(net, req.dns), req.prev_result)


def delete(eng, req: Request) -> None:
    """Idempotent: an attachment, a container or a network nsnet does not know is already deleted."""
    name = sandbox_name(req.container_id)
    if eng.endpoint_get(req.name, name, req.ifname) is not None:
        eng.network_disconnect(req.name, name, ifname=req.ifname)
    _forget_if_empty(eng, name)


def check(eng, req: Request) -> None:
    """The attachment is known, prevResult names it as nsnet made it, and the kernel still matches."""
    if req.prev_result is None:
        raise bad("CHECK needs prevResult (the attachment's cached result)")
    name = sandbox_name(req.container_id)
    ep = eng.endpoint_get(req.name, name, req.ifname)
    if ep is None:
        raise CniError(UNKNOWN_CONTAINER, f"container {req.container_id} has no interface {req.ifname} on "
                                          f"network '{req.name}'")
    net = eng.network_get(req.name)
    interfaces = req.prev_result.get("interfaces") or []
    index = next((i for i, iface in enumerate(interfaces) if isinstance(iface, dict)
                  and iface.get("name") == req.ifname and iface.get("sandbox") == req.netns), None)
    if index is None:
        raise CniError(PLUGIN, f"prevResult has no interface {req.ifname} in {req.netns}")
    for version, subnet in family.subnets(net).items():
        if not ep[family.IP[version]]:
            continue
        address = f"{ep[family.IP[version]]}/{subnet.prefixlen}"
        if not any(isinstance(ip, dict) and ip.get("address") == address and ip.get("interface") == index
                   for ip in req.prev_result.get("ips") or []):
            raise CniError(PLUGIN, f"prevResult does not give {req.ifname} the address nsnet gave it ({address})")
    drift = eng.drift(target=name)
    if drift:
        raise CniError(PLUGIN, f"the kernel no longer matches the attachment ({len(drift)} differences; "
                               f"missing: {drift[0].commands[0]})")
    want_mac = interfaces[index].get("mac")
    if want_mac:
        mac = eng.interface_macs(req.netns).get(req.ifname)
        if mac is not None and mac.lower() != str(want_mac).lower():
            raise CniError(PLUGIN, f"{req.ifname} has MAC {mac}, prevResult says {want_mac}")


def status(eng, req: Request) -> None:
    """Can nsnet attach containers here (privileges, host namespace, state store),
    and does the network's bridge still exist."""
    try:
        eng.require_privileges()
    except NsnetError as exc:
        raise CniError(NOT_AVAILABLE, f"nsnet cannot change networks here: {exc}")
    state_dir = eng.settings.state_dir
    try:
        with eng.store.transaction():  # takes the write lock: a read-only or broken store fails here
            net = eng.network_get(req.name)
        if not os.access(state_dir, os.W_OK):
            raise PermissionError(f"{state_dir} is not writable")
    except CniError:
        raise
    except Exception as exc:  # sqlite3.Error, OSError, NsnetError: the store cannot be used
        raise CniError(NOT_AVAILABLE, f"the state store in {state_dir} is unusable: {exc}")
    if net is not None and net["bridge"] and net["bridge"] not in eng.interface_macs(None):
        raise CniError(LIMITED, f"the bridge {net['bridge']} of network '{req.name}' is gone from the host "
                                "namespace (nsnet can rebuild it: `nsnet up` / repair)")


def gc(eng, req: Request) -> None:
    """Remove every attachment to this network (with its address and ports) that
    the runtime does not list as valid; attachments nsnet's CLI made are not touched."""
    if eng.network_get(req.name) is None:
        return
    valid = {(sandbox_name(cid), ifname) for cid, ifname in req.valid_attachments}
    errors = []
    for ep in eng.endpoint_rows(network=req.name):
        if (ep["sandbox"], ep["ifname"]) in valid or not _is_ours(eng, ep["sandbox"]):
            continue
        try:
            eng.network_disconnect(req.name, ep["sandbox"], ifname=ep["ifname"])
            _forget_if_empty(eng, ep["sandbox"])
        except NsnetError as exc:
            errors.append(f"{ep['sandbox']}: {exc}")
    if errors:
        raise CniError(PLUGIN, f"GC could not remove {len(errors)} attachment(s): {'; '.join(errors)}")
