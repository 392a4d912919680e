"""`graph`: a picture of the host, its networks (bridges, subnets, gateways),
the sandboxes with their interfaces and addresses, direct links, routes and
published ports. The sandboxes are grouped by network (each under its first),
a group laid out as columns side by side (column_height), so that 200 sandboxes
make a few blocks rather than one long column. Drawn by graphviz (graph_dot.py: svg,
png, pdf, dot), as Mermaid (graph_mermaid.py: .mmd) or written as JSON."""

import json
import math
import os
from dataclasses import dataclass, field

from ..errors import InvalidInput, KernelError
from ..firewall.ports import parse_spec
from ..names import bridge_name
from .model import Topology
from .validate import gateway_of

FORMATS = ("svg", "png", "pdf", "dot", "gv", "mmd", "json")
ONE_COLUMN_UP_TO = 16  # sandboxes; a larger picture lays each network's group out as a grid of columns
MIN_ROWS = 5


@dataclass
class Picture:
    title: str
    host: str
    networks: list[dict] = field(default_factory=list)  # name driver subnet gateway bridge internal
    sandboxes: list[dict] = field(default_factory=list)  # name ifaces [(ifname, ip, network)] routes
    links: list[dict] = field(default_factory=list)  # a b ifname_a ifname_b ip_a ip_b
    ports: list[str] = field(default_factory=list)  # "0.0.0.0:80/tcp -> blue:80"


def from_store(engine, topo: Topology | None = None) -> Picture:
    """What exists (all of it, or the part the topology names)."""
    nets = [n for n in engine.network_rows() if topo is None or n["name"] in topo.networks]
    sbs = [s for s in engine.sandbox_rows() if topo is None or s["name"] in topo.sandboxes]
    names = {s["name"] for s in sbs}
    pic = Picture(f"topology {topo.name}" if topo else "nsnet", host_label(engine))
    pic.networks = [dict(n, internal=bool((n.get("options") or {}).get("internal")),
                         subnet=_both(n["subnet"], n["subnet6"]), gateway=_both(n["gateway"], n["gateway6"]))
                    for n in nets]
    eps: dict[str, list] = {}
    for ep in engine.endpoint_rows():
        eps.setdefault(ep["sandbox"], []).append((ep["ifname"], _both(ep["ip"], ep["ip6"]), ep["network"]))
    routes: dict[str, list] = {}
    for r in engine.route_ls():
        routes.setdefault(r["sandbox"], []).append(f"{r['dest']} via {r['via']}")
    pic.links = [dict(link, ip_a=_both(link["ip_a"], link["ip6_a"]), ip_b=_both(link["ip_b"], link["ip6_b"]))
                 for link in engine.link_ls() if link["a"] in names and link["b"] in names]
    for link in pic.links:
        for side in ("a", "b"):
            eps.setdefault(link[side], []).append((link[f"ifname_{side}"], link[f"ip_{side}"], None))
    pic.sandboxes = [{"name": s["name"], "mode": s["mode"], "ifaces": eps.get(s["name"], []),
                      "routes": routes.get(s["name"], [])} for s in sbs]
    pic.ports = [f"{_host(p['host_ip'], p['sandbox_ip'])}:{p['host_port']}/{p['proto']} -> "
                 f"{p['sandbox']}:{p['sandbox_port']}" for p in engine.port_ls() if p["sandbox"] in names]
    return pic


def from_topology(topo: Topology, host: str = "host") -> Picture:
    """What the file describes (for a topology that is not up): automatic
    addresses show as 'auto'."""
    pic = Picture(f"topology {topo.name} (not up)", host)
    pic.networks = [{"name": n.name, "driver": n.driver,
                     "subnet": _both(*(s or ("auto" if v in n.versions() else None)
                                       for v, s in ((4, n.subnet), (6, n.subnet6)))),
                     "gateway": _both(*(gateway_of(n, v) for v in (4, 6))),
                     "bridge": n.bridge or bridge_name(n.name), "internal": n.internal}
                    for n in topo.networks.values()]
    ifaces = {sb.name: [(a.ifname, _both(a.ip, a.ip6) or "auto", a.network) for a in sb.attachments]
              for sb in topo.sandboxes.values()}
    for link in topo.links:
        ip_a, ip_b = _both(link.ip_a, link.ip6_a), _both(link.ip_b, link.ip6_b)
        pic.links.append({"a": link.a, "b": link.b, "ifname_a": link.ifname_a, "ifname_b": link.ifname_b,
                          "ip_a": ip_a, "ip_b": ip_b})
        ifaces[link.a].append((link.ifname_a, ip_a, None))
        ifaces[link.b].append((link.ifname_b, ip_b, None))
    for sb in topo.sandboxes.values():
        pic.sandboxes.append({"name": sb.name, "mode": "netns", "ifaces": ifaces[sb.name],
                              "routes": [f"{r.dest} via {r.via}" for r in sb.routes]})
        for text in sb.publish:
            spec = parse_spec(text)
            pic.ports.append(f"{_host(spec.host_ip)}:{_range(spec.host_ports)}/{spec.proto} -> "
                             f"{sb.name}:{_range(spec.sandbox_ports)}")
    return pic


def _host(host_ip: str | None, sandbox_ip: str = "") -> str:
    """A published port's host address as it reads before ':PORT'."""
    text = host_ip or ("::" if ":" in sandbox_ip else "0.0.0.0" if sandbox_ip else "*")
    return f"[{text}]" if ":" in text else text


def _both(*values) -> str | None:
    """Addresses or subnets of both families as one label (None: neither)."""
    return ", ".join(v for v in values if v) or None


def _range(ports: range) -> str:
    return str(ports[0]) if len(ports) == 1 else f"{ports[0]}-{ports[-1]}"


def host_label(engine) -> str:
    host = engine.settings.host_netns
    return f"host (netns {host})" if host else "host"


def groups(pic: Picture) -> list[tuple[dict | None, list[dict]]]:
    """The sandboxes by network, each under its first (None: those on links only),
    in the picture's order: what a reader scans at 200 sandboxes."""
    by_net: dict[str, list[dict]] = {net["name"]: [] for net in pic.networks}
    loose: list[dict] = []
    for sb in pic.sandboxes:
        first = next((network for _, _, network in sb["ifaces"] if network in by_net), None)
        (by_net[first] if first else loose).append(sb)
    out: list[tuple[dict | None, list[dict]]] = [(net, by_net[net["name"]]) for net in pic.networks]
    return out + ([(None, loose)] if loose else [])


def network_lines(net: dict) -> list[str]:
    """What a network's box (or block title) says."""
    lines = [f"network {net['name']}"]
    if net.get("subnet"):
        lines += [str(net["subnet"]), f"bridge {net['bridge']}", f"gateway {net['gateway']}"]
    else:
        lines.append(f"driver {net['driver']}")
    return lines + (["internal"] if net.get("internal") else [])


def sandbox_lines(sb: dict) -> list[str]:
    """What a sandbox's box says: its name, interfaces with addresses, routes."""
    lines = [sb["name"] + (f" ({sb['mode']})" if sb["mode"] != "netns" else "")]
    lines += [f"{ifname or '-'} {ip or ''}".strip() for ifname, ip, _ in sb["ifaces"]]
    return lines + [f"route {r}" for r in sb["routes"]]


def column_height(pic: Picture) -> int:
    """Sandboxes per column: all of them in a small picture; else about as many
    as make the whole picture square (a sandbox's box, with its spacing, is about
    three times as wide as it is tall; the groups stand one above the other)."""
    n = len(pic.sandboxes)
    if n <= ONE_COLUMN_UP_TO:
        return max(n, 1)
    return max(MIN_ROWS, math.ceil(math.sqrt(3 * n) / len(groups(pic))))


def rows(members: list, height: int) -> list[tuple]:
    """(sandbox, the one to its right): the pairs that hold a group's columns side by side."""
    return [(members[i - height], members[i]) for i in range(height, len(members))]


def to_dict(pic: Picture) -> dict:
    """The picture as data (`-o x.json`), grouped as drawn."""
    return {"title": pic.title, "host": pic.host, "ports": pic.ports,
            "networks": [dict(net, sandboxes=[sb["name"] for sb in members]) if net
                         else {"name": None, "sandboxes": [sb["name"] for sb in members]}
                         for net, members in groups(pic)],
            "sandboxes": [{"name": sb["name"], "mode": sb["mode"], "routes": sb["routes"],
                           "interfaces": [{"ifname": i, "ip": ip, "network": n} for i, ip, n in sb["ifaces"]]}
                          for sb in pic.sandboxes],
            "links": pic.links}


def write(pic: Picture, out: str) -> str:
    """Write the picture to `out`; the format is its extension. Returns the path."""
    ext = os.path.splitext(out)[1].lstrip(".").lower()
    if ext not in FORMATS:
        raise InvalidInput(f"-o {out}: unknown picture format '.{ext}' (use one of: "
                           f"{', '.join('.' + f for f in FORMATS)})")
    if ext in TEXT:
        with open(out, "w", encoding="utf-8") as f:
            f.write(text(pic, ext))
        return out
    import graphviz

    from .graph_dot import to_dot

    try:
        data = to_dot(pic).pipe(format=ext)
    except graphviz.ExecutableNotFound:
        raise KernelError("graphviz's `dot` is not installed (apt-get install graphviz); "
                          "or write a .dot or .mmd file") from None
    with open(out, "wb") as f:
        f.write(data)
    return out


TEXT = ("dot", "gv", "mmd", "json")


def text(pic: Picture, ext: str) -> str:
    """The picture in one of the TEXT formats (graphviz's source, Mermaid, JSON)."""
    if ext == "json":
        return json.dumps(to_dict(pic), indent=2) + "\n"
    if ext == "mmd":
        from .graph_mermaid import to_mermaid

        return to_mermaid(pic)
    from .graph_dot import to_dot

    return to_dot(pic).source
