"""The topology file's shape: keys, types and single-field values, turned into
the model with a 'path: message' error for everything wrong. Checks across
objects (references, overlaps, addresses in subnets) are in validate.py.

    name: lab                      # required; owns everything `up` creates
    networks:
      NAME: {driver, subnet, gateway, ipv6, mtu, bridge, internal, masquerade, direct_routing, options}
                                   # subnet, gateway: one, or a list of one per family (IPv4, IPv6)
                                   # options: the driver's, as --opt: {encrypted: true} (overlay)
    sandboxes:
      NAME:
        hostname: web.local        # default: NAME
        networks: [NET, ...]  or  {NET: {ip, ifname}, ...}      # ip: one, or one per family
        routes: ["DEST via GW", ...]  or  [{dest, via}, ...]
        publish: ["8080:80/tcp", ...]
        command: "python3 -m http.server 80"  or  [argv, ...]   # kept running by `up`
        env: {K: V} or ["K=V"]; workdir: /abs/dir; isolate_pid: true; init: true
    links: [{a, b, subnet | ip_a + ip_b, ifname_a, ifname_b}, ...]   # each: one, or one per family
    expect: {reach: ["a -> b", "a <-> b", "a -> b:80"], isolate: [...]}
    outside: {netns, ip, host_ip}
"""

import ipaddress

from .. import ipam
from ..drivers import DRIVERS, check_options
from ..errors import InvalidInput
from ..firewall.ports import parse_spec
from ..names import MAX_MTU, MIN_MTU, check_hostname, check_ifname, check_name
from . import commands
from . import expect as expect_mod
from .model import Attachment, Link, Network, Outside, Route, Sandbox, Topology
from .reader import Reader

TOP = ("name", "description", "networks", "sandboxes", "links", "expect", "outside")
NETWORK = ("driver", "subnet", "gateway", "ipv6", "mtu", "bridge", "internal", "masquerade", "direct_routing",
           "options")
SANDBOX = ("hostname", "networks", "routes", "publish", "command", "env", "workdir", "isolate_pid", "init")
ATTACH = ("ip", "ifname")
LINK = ("a", "b", "subnet", "ip_a", "ip_b", "ifname_a", "ifname_b")
ROUTE = ("dest", "via")
EXPECT = ("reach", "isolate")
OUTSIDE = ("netns", "ip", "host_ip")


def parse(data, r: Reader) -> Topology | None:
    top = r.mapping(data, "", TOP, required=("name",)) if data is not None else None
    if data is None:
        r.fail("(top level)", "the file is empty; it needs at least 'name'")
    if top is None:
        return None
    name = r.string(top.get("name"), "name")
    if name is not None:
        r.call("name", check_name, "topology", name)
    topo = Topology(name or "", description=r.string(top.get("description"), "description") or "")
    for net_name, spec in r.names(top.get("networks"), "networks").items():
        topo.networks[net_name] = _network(r, net_name, spec)
    for sb_name, spec in r.names(top.get("sandboxes"), "sandboxes").items():
        topo.sandboxes[sb_name] = _sandbox(r, sb_name, spec)
    for i, spec in enumerate(r.seq(top.get("links"), "links")):
        link = _link(r, f"links[{i}]", spec)
        if link:
            topo.links.append(link)
    topo.expect = _expect(r, top.get("expect"))
    if top.get("outside") is not None:
        topo.outside = _outside(r, top["outside"])
    return topo


def _network(r: Reader, name: str, spec) -> Network:
    path = f"networks.{name}"
    r.call(path, check_name, "network", name)
    m = r.mapping(spec, path, NETWORK, null_ok=True) or {}
    net = Network(name)
    driver = r.string(m.get("driver"), f"{path}.driver")
    if driver is not None and driver not in DRIVERS:
        r.fail(f"{path}.driver", f"unknown driver '{driver}' (choose from: {', '.join(sorted(DRIVERS))})")
    net.driver = driver if driver in DRIVERS else "bridge"
    subnets = _per_family(r, m.get("subnet"), f"{path}.subnet", ipam.parse_subnets)
    net.subnet, net.subnet6 = (str(subnets[v]) if v in subnets else None for v in (4, 6))
    gateways = _per_family(r, m.get("gateway"), f"{path}.gateway", ipam.parse_ips)
    net.gateway, net.gateway6 = (str(gateways[v]) if v in gateways else None for v in (4, 6))
    net.ipv6 = r.boolean(m.get("ipv6"), f"{path}.ipv6", False)
    net.mtu = r.integer(m.get("mtu"), f"{path}.mtu", MIN_MTU, MAX_MTU)
    bridge = r.string(m.get("bridge"), f"{path}.bridge")
    if bridge is not None and r.call(f"{path}.bridge", check_ifname, bridge):
        net.bridge = bridge
    net.internal = r.boolean(m.get("internal"), f"{path}.internal", False)
    net.masquerade = r.boolean(m.get("masquerade"), f"{path}.masquerade", True) and not net.internal
    net.direct_routing = r.boolean(m.get("direct_routing"), f"{path}.direct_routing", False) and not net.internal
    options = m.get("options")
    if options is not None:
        if not isinstance(options, dict) or not all(isinstance(k, str) for k in options):
            r.fail(f"{path}.options", "expected a mapping of option names to values (e.g. {encrypted: true})")
        else:
            net.options = r.call(f"{path}.options", check_options, net.driver, options) or {}
    if not DRIVERS[net.driver].uses_subnet:
        for key in ("subnet", "gateway", "ipv6", "mtu", "bridge"):
            if m.get(key) is not None:
                r.fail(f"{path}.{key}", f"driver '{net.driver}' takes no {key}")
    return net


def _sandbox(r: Reader, name: str, spec) -> Sandbox:
    path = f"sandboxes.{name}"
    r.call(path, check_name, "sandbox", name)
    m = r.mapping(spec, path, SANDBOX, null_ok=True) or {}
    sb = Sandbox(name)
    hostname = r.string(m.get("hostname"), f"{path}.hostname")
    if hostname is not None and r.call(f"{path}.hostname", check_hostname, hostname):
        sb.hostname = hostname
    nets = m.get("networks")
    if isinstance(nets, list):
        for i, item in enumerate(nets):
            net = r.string(item, f"{path}.networks[{i}]")
            if net is not None:
                sb.attachments.append(Attachment(net))
    elif nets is not None:
        for net, att in r.names(nets, f"{path}.networks").items():
            sb.attachments.append(_attachment(r, f"{path}.networks.{net}", net, att))
    for i, item in enumerate(r.seq(m.get("routes"), f"{path}.routes")):
        route = _route(r, f"{path}.routes[{i}]", item)
        if route:
            sb.routes.append(route)
    publish = m.get("publish")
    for i, item in enumerate(r.seq([publish] if isinstance(publish, str) else publish, f"{path}.publish")):
        if r.call(f"{path}.publish[{i}]", parse_spec, item):
            sb.publish.append(item)
    sb.command = commands.parse(r, path, m)
    return sb


def _attachment(r: Reader, path: str, net: str, spec) -> Attachment:
    m = r.mapping(spec, path, ATTACH, null_ok=True) or {}
    att = Attachment(net)
    ips = _per_family(r, m.get("ip"), f"{path}.ip", ipam.parse_ips)
    att.ip, att.ip6 = (str(ips[v]) if v in ips else None for v in (4, 6))
    ifname = r.string(m.get("ifname"), f"{path}.ifname")
    if ifname is not None and r.call(f"{path}.ifname", check_ifname, ifname):
        att.ifname = ifname
    return att


def _route(r: Reader, path: str, spec) -> Route | None:
    if isinstance(spec, str):
        words = spec.split()
        if len(words) != 3 or words[1] != "via":
            r.fail(path, f"'{spec}' is not 'DEST via GATEWAY'")
            return None
        dest, via = words[0], words[2]
    else:
        m = r.mapping(spec, path, ROUTE, required=ROUTE)
        if m is None or m.get("dest") is None or m.get("via") is None:
            return None
        dest, via = r.string(m["dest"], f"{path}.dest"), r.string(m["via"], f"{path}.via")
        if dest is None or via is None:
            return None
    gateway = r.call(f"{path}.via", ipam.parse_ip, via, f"{path}.via", prefixed=True)
    dest = r.call(f"{path}.dest", ipam.parse_dest, dest, gateway.version if gateway else 4)
    if dest is None or gateway is None:
        return None
    if ipaddress.ip_network(dest).version != gateway.version:
        r.fail(path, f"the destination {dest} and the gateway {gateway} are of different families")
        return None
    return Route(dest, str(gateway))


def _link(r: Reader, path: str, spec) -> Link | None:
    m = r.mapping(spec, path, LINK, required=("a", "b"))
    if m is None:
        return None
    a, b = r.string(m.get("a"), f"{path}.a"), r.string(m.get("b"), f"{path}.b")
    if not a or not b:
        return None
    link = Link(a, b)
    subnet, ip_a, ip_b = m.get("subnet"), m.get("ip_a"), m.get("ip_b")
    if subnet is not None and (ip_a or ip_b):
        r.fail(path, "give either subnet or ip_a/ip_b, not both")
    elif subnet is not None:
        for version, net in _per_family(r, subnet, f"{path}.subnet", ipam.parse_subnets).items():
            hosts = net.hosts()
            _set_ends(link, version, f"{next(hosts)}/{net.prefixlen}", f"{next(hosts)}/{net.prefixlen}")
    elif bool(ip_a) != bool(ip_b):
        r.fail(path, "give both ip_a and ip_b (or subnet)")
    elif ip_a:
        ends = [_per_family(r, value, f"{path}.ip_{side}", _cidrs) for side, value in (("a", ip_a), ("b", ip_b))]
        if set(ends[0]) != set(ends[1]):
            r.fail(f"{path}.ip_b", "ip_a and ip_b must give addresses of the same families")
        for version in set(ends[0]) & set(ends[1]):
            ia, ib = ends[0][version], ends[1][version]
            if ia.network != ib.network:
                r.fail(f"{path}.ip_b", f"{ib} is not on the subnet of ip_a ({ia.network})")
            elif ia.ip == ib.ip:
                r.fail(f"{path}.ip_b", f"is the same address as ip_a ({ia.ip})")
            else:
                _set_ends(link, version, str(ia), str(ib))
    for key in ("ifname_a", "ifname_b"):
        value = r.string(m.get(key), f"{path}.{key}")
        if value is not None and r.call(f"{path}.{key}", check_ifname, value):
            setattr(link, key, value)
    return link


def _set_ends(link: Link, version: int, a: str, b: str) -> None:
    if version == 4:
        link.ip_a, link.ip_b = a, b
    else:
        link.ip6_a, link.ip6_b = a, b


def _per_family(r: Reader, value, path: str, parse) -> dict:
    """{4: x, 6: y} of a value that is one string or a list of strings (one per
    family), parsed by `parse` (which takes them all and the path)."""
    if value is None:
        return {}
    texts = [r.string(v, f"{path}[{i}]") for i, v in enumerate(value)] if isinstance(value, list) else \
        [r.string(value, path)]
    if None in texts:
        return {}
    return r.call(path, parse, texts, path, prefixed=True) or {}


def _cidrs(texts: list[str], path: str) -> dict:
    """{family: ip_interface} of addresses with prefix lengths, one per family."""
    return ipam.per_family(texts, _cidr, path, "addresses")


def _cidr(text: str, path: str):
    if "/" not in text:
        raise InvalidInput(f"{path}: '{text}' needs a prefix length (e.g. {text}/{64 if ':' in text else 24})")
    try:
        iface = ipaddress.ip_interface(text)
    except ValueError:
        raise InvalidInput(f"{path}: '{text}' is not a valid address/prefix")
    ipam.check_in_subnet(iface.ip, iface.network, f"{path}:")
    ipam.check_special(iface.network, path)
    return iface


def _expect(r: Reader, spec) -> list:
    m = r.mapping(spec, "expect", EXPECT, null_ok=True) if spec is not None else {}
    out = []
    for key, reach in (("reach", True), ("isolate", False)):
        for i, item in enumerate(r.seq((m or {}).get(key), f"expect.{key}")):
            parsed = r.call(f"expect.{key}[{i}]", expect_mod.parse, item, reach) or []
            for exp in parsed:
                exp.path = f"expect.{key}[{i}]"
            out.extend(parsed)
    return out


def _outside(r: Reader, spec) -> Outside | None:
    m = r.mapping(spec, "outside", OUTSIDE, required=("netns",))
    if not m or not m.get("netns"):
        return None
    out = Outside(r.string(m["netns"], "outside.netns") or "")
    for key in ("ip", "host_ip"):
        value = r.string(m.get(key), f"outside.{key}")
        if value is not None:
            parsed = r.call(f"outside.{key}", ipam.parse_ip, value, f"outside.{key}", prefixed=True)
            setattr(out, key, str(parsed) if parsed else None)
    return out
