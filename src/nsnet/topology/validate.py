"""Checks across objects: references, duplicates, overlaps, addresses inside
their subnets, interface names (and the default ones, resolved here so that
`up`, `status` and `graph` all agree on them)."""

import ipaddress

from .. import ipam
from ..drivers import DRIVERS
from ..errors import InvalidInput
from ..firewall.ports import parse_publish
from ..names import bridge_name, default_link_ifname
from . import expect as expect_mod
from .model import Topology
from .reader import Reader


def validate(topo: Topology, r: Reader) -> None:
    _networks(topo, r)
    _attachments(topo, r)
    _links(topo, r)
    _ifnames(topo, r)
    _overlaps(topo, r)
    _routes(topo, r)
    _publish(topo, r)
    _expectations(topo, r)


def gateway_of(net, version: int = 4) -> str | None:
    """The network's gateway of one family, when the file says (or implies) it."""
    gateway, subnet = (net.gateway, net.subnet) if version == 4 else (net.gateway6, net.subnet6)
    if gateway:
        return gateway
    if subnet:
        return str(ipaddress.ip_network(subnet).network_address + 1)
    return None


def _subnets_of(net) -> dict:
    """{4: IPv4Network, 6: IPv6Network} the file gives the network."""
    return {v: ipaddress.ip_network(s) for v, s in ((4, net.subnet), (6, net.subnet6)) if s}


def _networks(topo: Topology, r: Reader) -> None:
    subnets, seen_bridges, seen_drivers = {4: {}, 6: {}}, {}, {}  # subnets: per family, by network
    for name, net in topo.networks.items():
        path = f"networks.{name}"
        drv = DRIVERS[net.driver]
        if not drv.uses_subnet:
            if net.driver in seen_drivers:
                r.fail(f"{path}.driver", f"only one '{net.driver}' network is allowed "
                                         f"('{seen_drivers[net.driver]}' is one)")
            seen_drivers[net.driver] = name
            continue
        own = _subnets_of(net)
        for version, subnet in own.items():
            subnets[version][name] = subnet
        for version, gateway in ((4, net.gateway), (6, net.gateway6)):
            if not gateway:
                continue
            if version in own:
                _usable(r, f"{path}.gateway", gateway, own[version])
            elif version not in net.versions():
                r.fail(f"{path}.gateway", f"{gateway}: the network has no IPv{version} subnet")
            elif version == 4:
                r.fail(f"{path}.gateway", "a gateway needs a subnet")
        bridge = net.bridge or bridge_name(name)
        if bridge in seen_bridges:
            r.fail(f"{path}.bridge", f"bridge {bridge} is also used by network '{seen_bridges[bridge]}'")
        seen_bridges[bridge] = name
    for named in subnets.values():
        for name, other in ipam.overlapping_pairs(named):
            r.fail(f"networks.{name}.subnet", f"{named[name]} overlaps network '{other}' ({named[other]})")
    _link_subnets(topo, r, subnets)


def _link_subnets(topo: Topology, r: Reader, networks: dict) -> None:
    """A link's subnet may not overlap a network's: the host routes every
    network's subnet to its bridge, and the link's ends would route it to the link."""
    index = {version: ipam.SubnetIndex(named) for version, named in networks.items()}
    for i, link in enumerate(topo.links):
        for version, end in ((4, link.ip_a), (6, link.ip6_a)):
            if end:
                subnet = ipaddress.ip_interface(end).network
                other = index[version].find(subnet)
                if other:
                    r.fail(f"links[{i}]", f"subnet {subnet} overlaps network '{other}' ({networks[version][other]})")


def _usable(r: Reader, path: str, ip: str, subnet) -> bool:
    try:
        ipam.check_in_subnet(ipaddress.ip_address(ip), subnet, "")
    except InvalidInput:
        r.fail(path, f"{ip} is not a usable address in subnet {subnet}")
        return False
    return True


def _attachments(topo: Topology, r: Reader) -> None:
    taken: dict[tuple[str, str], str] = {}  # (network, ip) -> sandbox
    defined = ", ".join(topo.networks) or "none"
    for sb in topo.sandboxes.values():
        seen = set()
        for att in sb.attachments:
            path = f"sandboxes.{sb.name}.networks.{att.network}"
            net = topo.networks.get(att.network)
            if net is None:
                r.fail(path, f"network '{att.network}' is not defined (defined: {defined})")
                continue
            if att.network in seen:
                r.fail(path, "the sandbox is attached to this network twice")
            seen.add(att.network)
            drv = DRIVERS[net.driver]
            if drv.exclusive and (len(sb.attachments) > 1 or sb.routes or sb.publish):
                r.fail(path, f"a '{net.driver}' network cannot be combined with other networks, "
                             "routes or published ports")
            if not drv.uses_subnet and (att.ip or att.ip6 or att.ifname):
                r.fail(path, f"network '{att.network}' (driver {net.driver}) takes no ip or ifname")
            subnets = _subnets_of(net)
            for version, ip in ((4, att.ip), (6, att.ip6)):
                if not ip or not drv.uses_subnet:
                    continue
                if version not in net.versions():
                    r.fail(f"{path}.ip", f"{ip}: network '{att.network}' has no IPv{version} subnet")
                    continue
                if version not in subnets:
                    continue  # the engine picks the subnet: it checks the address then
                if not _usable(r, f"{path}.ip", ip, subnets[version]):
                    continue
                if ip == gateway_of(net, version):
                    r.fail(f"{path}.ip", f"{ip} is the gateway of network '{att.network}'")
                elif (att.network, ip) in taken:
                    r.fail(f"{path}.ip", f"{ip} is also given to sandbox '{taken[(att.network, ip)]}'")
                taken[(att.network, ip)] = sb.name


def _exclusive(topo: Topology, sandbox: str) -> bool:
    sb = topo.sandboxes.get(sandbox)
    return bool(sb) and any(
        DRIVERS[topo.networks[a.network].driver].exclusive
        for a in sb.attachments if a.network in topo.networks)


def _links(topo: Topology, r: Reader) -> None:
    pairs = {}
    for i, link in enumerate(topo.links):
        path = f"links[{i}]"
        for side in ("a", "b"):
            name = getattr(link, side)
            if name not in topo.sandboxes:
                r.fail(f"{path}.{side}", f"sandbox '{name}' is not defined")
            elif _exclusive(topo, name):
                r.fail(f"{path}.{side}", f"sandbox '{name}' uses a host/none network; it cannot have links")
        if link.a == link.b:
            r.fail(path, "a link needs two different sandboxes")
        if link.key in pairs:
            r.fail(path, f"'{link.a}' and '{link.b}' are already linked by {pairs[link.key]}")
        pairs.setdefault(link.key, path)
        link.ifname_a = link.ifname_a or default_link_ifname(link.b)
        link.ifname_b = link.ifname_b or default_link_ifname(link.a)


def _ifnames(topo: Topology, r: Reader) -> None:
    """Given names must be unique per sandbox; the others become eth0, eth1, ..."""
    used: dict[str, dict[str, str]] = {name: {"lo": "(loopback)"} for name in topo.sandboxes}
    for sb in topo.sandboxes.values():
        for att in sb.attachments:
            if att.ifname:
                _claim(r, used[sb.name], att.ifname, f"sandboxes.{sb.name}.networks.{att.network}.ifname")
    for i, link in enumerate(topo.links):
        for side in ("a", "b"):
            name, ifname = getattr(link, side), getattr(link, f"ifname_{side}")
            if name in used:
                _claim(r, used[name], ifname, f"links[{i}].ifname_{side}")
    for sb in topo.sandboxes.values():
        for att in sb.attachments:
            net = topo.networks.get(att.network)
            if att.ifname or net is None or not DRIVERS[net.driver].uses_subnet:
                continue
            att.ifname = next(f"eth{i}" for i in range(len(used[sb.name]) + 1)
                              if f"eth{i}" not in used[sb.name])
            used[sb.name][att.ifname] = "auto"


def _claim(r: Reader, used: dict, ifname: str, path: str) -> None:
    if ifname in used:
        r.fail(path, f"interface name {ifname} is already used ({used[ifname]})")
    else:
        used[ifname] = path


def _subnets(topo: Topology, sandbox: str) -> list | None:
    """The sandbox's directly connected subnets; None if one is not known yet."""
    out = []
    for att in topo.sandboxes[sandbox].attachments:
        net = topo.networks.get(att.network)
        if net and DRIVERS[net.driver].uses_subnet:
            subnets = _subnets_of(net)
            if set(subnets) != net.versions():
                return None
            out += [(f"network '{att.network}'", subnet) for subnet in subnets.values()]
    for link in topo.links:
        for side, peer in (("a", link.b), ("b", link.a)):
            for cidr in (getattr(link, f"ip_{side}"), getattr(link, f"ip6_{side}")):
                if getattr(link, side) == sandbox and cidr:
                    out.append((f"the link to '{peer}'", ipaddress.ip_interface(cidr).network))
    return out


def _overlaps(topo: Topology, r: Reader) -> None:
    for name in topo.sandboxes:
        subnets = _subnets(topo, name) or []
        for i, (what, net) in enumerate(subnets):
            for other, other_net in subnets[:i]:
                if net.version == other_net.version and net.overlaps(other_net):
                    r.fail(f"sandboxes.{name}", f"the subnets of {other} ({other_net}) and {what} "
                                                f"({net}) overlap")


def _routes(topo: Topology, r: Reader) -> None:
    for sb in topo.sandboxes.values():
        subnets = _subnets(topo, sb.name)
        seen = set()
        for i, route in enumerate(sb.routes):
            path = f"sandboxes.{sb.name}.routes[{i}]"
            if route.dest in seen:
                r.fail(path, f"a second route to {route.dest}")
            seen.add(route.dest)
            via = ipaddress.ip_address(route.via)
            has_gateway = next((a.network for a in sb.attachments if a.network in topo.networks
                                and DRIVERS[topo.networks[a.network].driver].uses_subnet
                                and via.version in topo.networks[a.network].versions()), None)
            if route.dest in ("0.0.0.0/0", "::/0") and has_gateway:
                r.fail(path, f"the sandbox already gets its default route from network '{has_gateway}'")
            if subnets is not None and not any(via.version == net.version and via in net for _, net in subnets):
                r.fail(f"{path}.via", f"gateway {via} is not on any network of sandbox '{sb.name}'")


def _publish(topo: Topology, r: Reader) -> None:
    seen = {}
    for sb in topo.sandboxes.values():
        if sb.publish and not any(
                a.network in topo.networks and DRIVERS[topo.networks[a.network].driver].uses_subnet
                for a in sb.attachments):
            r.fail(f"sandboxes.{sb.name}.publish", "publishing ports needs a bridge network")
        for i, text in enumerate(sb.publish):
            for port in parse_publish(text):
                key = (port.host_ip, port.host_port, port.proto)
                if key in seen:
                    r.fail(f"sandboxes.{sb.name}.publish[{i}]",
                           f"host port {port.host_port}/{port.proto} is also published by {seen[key]}")
                    break
                seen[key] = f"sandbox '{sb.name}'"


def _expectations(topo: Topology, r: Reader) -> None:
    for exp in topo.expect:
        for name in expect_mod.names(exp):
            if name not in topo.sandboxes:
                r.fail(exp.path, f"'{exp.text}': sandbox '{name}' is not defined")
