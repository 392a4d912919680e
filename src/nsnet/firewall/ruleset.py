"""nsnet's nftables table, as pure functions of the stored networks and ports.

    table inet nsnet
      owner       a set of one element: the state dir whose table this is
      guard       prerouting/raw    no packets to 127/8 from our bridges; encrypted overlays'
                                    VXLAN only from their WireGuard device
      prerouting  nat/dstnat        published ports: maps keyed by (addr.)proto.port
      output      nat/dstnat        the same for connections from the host itself
      postrouting nat/srcnat        outbound masquerade per network, hairpin, 127.0.0.1
      input       filter            internal networks reach nothing of the host
      forward     filter            internal networks first; then replies, published
                                    ports, isolation between networks, and no direct
                                    routing from beyond the host to unpublished ports

Ports live in two maps, so a published port is one map element, not one rule
that every packet walks: adding the 1000th costs what adding the 1st did. A
third set holds (sandbox address . proto . port) of every published port: what
a peer routing a sandbox subnet via the host may reach directly (Docker 28's
rule). Network-level rules are rebuilt (flush + add) in the same transaction.
IPv6 has maps and a set of its own (pub_ip6_*, pub_any6_*, pub_direct6:
ipv6_addr keys and values) and rules beside IPv4's (`ip6 saddr ...`, `dnat ip6
to ...`); what matches on interfaces and conntrack (isolation, internal
networks, replies) holds for both families as it is. A row's family is its
sandbox address's.


A host namespace serves one state dir: every batch that makes, rebuilds or
removes the table claims it first (claim()), so a second state dir on the same
host is refused whole, in the kernel's own transaction, instead of taking over
or dropping the first one's NAT and ports.
"""

from . import nftjson as n
from .ports import WILDCARDS  # a port's host_ip for all addresses (of its family)

CHAINS = [
    ("guard", "filter", "prerouting", -300),
    ("prerouting", "nat", "prerouting", -100),
    ("output", "nat", "output", -100),
    ("postrouting", "nat", "postrouting", 100),
    ("input", "filter", "input", 0),
    ("forward", "filter", "forward", 0),
]
BRIDGES = "bridges"
# Published ports: key (host addr . proto . port) or (proto . port) -> sandbox
# address in one map and sandbox port in its twin.
PUB_IP, PUB_ANY = ("pub_ip_addr", "pub_ip_port"), ("pub_any_addr", "pub_any_port")
PUB_IP6, PUB_ANY6 = ("pub_ip6_addr", "pub_ip6_port"), ("pub_any6_addr", "pub_any6_port")
MAPS = {(4, False): PUB_IP, (4, True): PUB_ANY, (6, False): PUB_IP6, (6, True): PUB_ANY6}  # (family, any address)
DNAT_KEY_IP = n.concat(n.payload("ip", "daddr"), n.meta("l4proto"), n.payload("th", "dport"))
DNAT_KEY_IP6 = n.concat(n.payload("ip6", "daddr"), n.meta("l4proto"), n.payload("th", "dport"))
DNAT_KEY_ANY = n.concat(n.meta("l4proto"), n.payload("th", "dport"))
# (sandbox address . proto . sandbox port) of every published port.
PUB_DIRECT = "pub_direct"
DIRECT_KEY = n.concat(n.payload("ip", "daddr"), n.meta("l4proto"), n.payload("th", "dport"))
DIRECT_TYPE = ["ipv4_addr", "inet_proto", "inet_service"]
PUB_DIRECT6 = "pub_direct6"
DIRECT_KEY6 = n.concat(n.payload("ip6", "daddr"), n.meta("l4proto"), n.payload("th", "dport"))
DIRECT_TYPE6 = ["ipv6_addr", "inet_proto", "inet_service"]
LOOPBACK = "127.0.0.0/8"


def _port_map(p: dict) -> tuple[tuple[str, str], list]:
    """(address map, port map) of a port row, and its key."""
    six = ":" in p["sandbox_ip"]
    if p["host_ip"] in WILDCARDS:
        return MAPS[(6 if six else 4, True)], [p["proto"], p["host_port"]]
    return MAPS[(6 if six else 4, False)], [p["host_ip"], p["proto"], p["host_port"]]


ANSWERS = {"set": ["established", "related"]}  # ct states: replies and what they bring (ICMP errors)


OWNER = "owner"


def claim(owner: tuple[int, str]) -> list:
    """The table, and its owner: `owner` is (key, comment) of one state dir
    (engine/firewall.py). The owner set holds one element, so a batch of
    another state dir fails whole at its own element (ENFILE: the set is
    full); the same state dir's `add` of its element is a no-op."""
    key, comment = owner
    return [{"add": n.table()}, {"add": n.set_(OWNER, "mark", size=1)},
            {"add": n.element(OWNER, [{"elem": {"val": key, "comment": comment}}])}]


def owner_of(listing: dict | None) -> tuple[int, str] | None:
    """(key, comment) of the owner in a listing of the owner set (None: unclaimed)."""
    for item in (listing or {}).get("nftables", []):
        for elem in item.get("set", {}).get("elem", []):
            body = elem.get("elem", {}) if isinstance(elem, dict) else {}
            return body.get("val", elem), body.get("comment", "")
    return None


def skeleton(owner: tuple[int, str]) -> list:
    """Idempotent declarations: `add` of what exists is a no-op."""
    cmds = claim(owner)
    cmds += [{"add": n.chain(name, t, hook, prio)} for name, t, hook, prio in CHAINS]
    cmds.append({"add": n.set_(BRIDGES, "ifname")})
    for (addr_map, port_map), key, addr in (
            (PUB_IP, ["ipv4_addr", "inet_proto", "inet_service"], "ipv4_addr"),
            (PUB_ANY, ["inet_proto", "inet_service"], "ipv4_addr"),
            (PUB_IP6, ["ipv6_addr", "inet_proto", "inet_service"], "ipv6_addr"),
            (PUB_ANY6, ["inet_proto", "inet_service"], "ipv6_addr")):
        cmds += [{"add": n.set_(addr_map, key, addr)}, {"add": n.set_(port_map, key, "inet_service")}]
    cmds += [{"add": n.set_(PUB_DIRECT, DIRECT_TYPE)}, {"add": n.set_(PUB_DIRECT6, DIRECT_TYPE6)}]
    return cmds


def _static_rules() -> list:
    local = n.match(n.fib_daddr_type(), "local")
    not_loopback = n.match(n.payload("ip", "daddr"), n.prefix(LOOPBACK), "!=")
    on_bridges = n.match(n.meta("iifname"), f"@{BRIDGES}")
    out_bridges = n.match(n.meta("oifname"), f"@{BRIDGES}")
    return [
        n.rule("guard", [on_bridges, n.match(n.payload("ip", "daddr"), n.prefix(LOOPBACK)), n.DROP],
               "nsnet: sandboxes never reach 127/8 of the host"),
        # 127/8 is excluded here (moby#45610): only the host itself reaches ports on 127.0.0.1.
        n.rule("prerouting", [local, not_loopback, n.dnat_maps(DNAT_KEY_IP, *PUB_IP)], "nsnet: ports on one address"),
        n.rule("prerouting", [local, not_loopback, n.dnat_maps(DNAT_KEY_ANY, *PUB_ANY)],
               "nsnet: ports on all addresses"),
        n.rule("output", [local, n.dnat_maps(DNAT_KEY_IP, *PUB_IP)], "nsnet: ports on one address, from the host"),
        n.rule("output", [local, n.dnat_maps(DNAT_KEY_ANY, *PUB_ANY)], "nsnet: ports on all addresses, from the host"),
        n.rule("postrouting", [n.match(n.payload("ip", "saddr"), n.prefix(LOOPBACK)), out_bridges, n.MASQUERADE],
               "nsnet: host to 127.0.0.1:published port"),
        # Routed from one network to another's published port (iifname is set on
        # the routed path); within one network see _network_rules.
        n.rule("postrouting", [n.match(n.ct("status"), "dnat", "in"), on_bridges, out_bridges, n.MASQUERADE],
               "nsnet: a published port from another network"),
        *_static_rules6(local),
    ]


def _forward_accepts() -> list:
    """What the forward chain lets through after internal networks' drops."""
    out_bridges = n.match(n.meta("oifname"), f"@{BRIDGES}")
    return [
        n.rule("forward", [n.match(n.ct("state"), ANSWERS, "in"), n.ACCEPT], "nsnet: replies"),
        n.rule("forward", [n.match(n.ct("status"), "dnat", "in"), out_bridges, n.ACCEPT],
               "nsnet: published ports cross networks"),
        # A peer beyond the host that routes a sandbox subnet via the host reaches
        # the published ports at the sandbox's own address too (as with Docker 28).
        n.rule("forward", [n.match(n.meta("iifname"), f"@{BRIDGES}", "!="), out_bridges,
                           n.match(DIRECT_KEY, f"@{PUB_DIRECT}"), n.ACCEPT],
               "nsnet: published ports, routed to directly"),
        n.rule("forward", [n.match(n.meta("iifname"), f"@{BRIDGES}", "!="), out_bridges,
                           n.match(DIRECT_KEY6, f"@{PUB_DIRECT6}"), n.ACCEPT],
               "nsnet: IPv6 published ports, routed to directly"),
    ]


def _static_rules6(local) -> list:
    """Published ports on IPv6 host addresses. ::1 is left out: the kernel routes
    ::1 on lo only (there is no route_localnet for IPv6), so a connection to it
    is refused at once instead of DNATed into the void."""
    six = n.match(n.meta("nfproto"), "ipv6")
    not_loopback = n.match(n.payload("ip6", "daddr"), "::1", "!=")
    return [
        n.rule("prerouting", [local, n.dnat_maps(DNAT_KEY_IP6, *PUB_IP6, "ip6")], "nsnet: IPv6 ports on one address"),
        n.rule("prerouting", [six, local, n.dnat_maps(DNAT_KEY_ANY, *PUB_ANY6, "ip6")],
               "nsnet: IPv6 ports on all addresses"),
        n.rule("output", [local, not_loopback, n.dnat_maps(DNAT_KEY_IP6, *PUB_IP6, "ip6")],
               "nsnet: IPv6 ports on one address, from the host"),
        n.rule("output", [local, not_loopback, n.dnat_maps(DNAT_KEY_ANY, *PUB_ANY6, "ip6")],
               "nsnet: IPv6 ports on all addresses, from the host"),
    ]


def _internal_rules(net: dict) -> list:
    """An internal network reaches nothing beyond itself: not the host (its
    gateway address included; what the host starts is answered), not another
    network, not a published port through DNAT, not the outside."""
    bridge, name = net["bridge"], net["name"]
    return [
        # IPv6 neighbour discovery is not tracked (no ct state): without it the
        # host could not reach the network it is the gateway of (nor hear replies).
        n.rule("input", [n.match(n.meta("iifname"), bridge),
                         n.match(n.payload("icmpv6", "type"), {"set": ["nd-neighbor-solicit", "nd-neighbor-advert"]}),
                         n.ACCEPT],
               f"nsnet network {name}: internal, IPv6 neighbour discovery with the host"),
        n.rule("input", [n.match(n.meta("iifname"), bridge), n.match(n.ct("state"), ANSWERS, "!="), n.DROP],
               f"nsnet network {name}: internal, the host is beyond it"),
        n.rule("forward", [n.match(n.meta("iifname"), bridge), n.match(n.meta("oifname"), bridge, "!="), n.DROP],
               f"nsnet network {name}: internal, nothing leaves"),
        n.rule("forward", [n.match(n.meta("oifname"), bridge), n.match(n.meta("iifname"), bridge, "!="), n.DROP],
               f"nsnet network {name}: internal, nothing enters"),
    ]


def _network_rules(net: dict) -> list:
    bridge, name = net["bridge"], net["name"]
    opts = net.get("options") or {}
    rules = []
    if opts.get("masquerade") and not opts.get("internal"):
        for proto, column, what in (("ip", "subnet", "outbound NAT"), ("ip6", "subnet6", "outbound NAT66")):
            if net.get(column):
                rules.append(n.rule("postrouting", [n.match(n.payload(proto, "saddr"), n.prefix(net[column])),
                                                    n.match(n.meta("oifname"), bridge, "!="), n.MASQUERADE],
                                    f"nsnet network {name}: {what}"))
    if not opts.get("internal"):
        # A sandbox reaching a published port of its own network (its own, too):
        # the reply must come back through the host, so the source becomes the
        # gateway. Matched on addresses: with br_netfilter the DNAT'ed packet is
        # bridged and this hook sees no input interface.
        for proto, column, what in (("ip", "subnet", "hairpin"), ("ip6", "subnet6", "IPv6 hairpin")):
            if net.get(column):  # an IPv6-only network has no subnet
                subnet = n.prefix(net[column])
                rules.append(n.rule("postrouting", [n.match(n.ct("status"), "dnat", "in"),
                                                    n.match(n.payload(proto, "saddr"), subnet),
                                                    n.match(n.payload(proto, "daddr"), subnet), n.MASQUERADE],
                                    f"nsnet network {name}: {what} to its published ports"))
        rules.append(n.rule("forward", [n.match(n.meta("iifname"), bridge),
                                        n.match(n.meta("oifname"), f"@{BRIDGES}"),
                                        n.match(n.meta("oifname"), bridge, "!="), n.DROP],
                            f"nsnet network {name}: isolated from other networks"))
        if not opts.get("direct_routing"):
            rules.append(n.rule("forward", [n.match(n.meta("oifname"), bridge),
                                            n.match(n.meta("iifname"), bridge, "!="), n.DROP],
                                f"nsnet network {name}: unpublished ports are not routed to"))
    return rules


def _tunnel_rules(networks: list[dict]) -> list:
    """The VXLAN of encrypted overlays (its own UDP port) reaches this host only
    out of the WireGuard device: a plaintext packet for it from the underlay, or
    from a sandbox, is dropped instead of landing on an encrypted network."""
    tunnels = sorted({(net["options"]["port"], net["options"]["tunnel"]["ifname"]) for net in networks
                      if (net.get("options") or {}).get("encrypted")})
    return [n.rule("guard", [n.match(n.fib_daddr_type(), "local"), n.match(n.payload("udp", "dport"), port),
                             n.match(n.meta("iifname"), ifname, "!="), n.DROP],
                   f"nsnet: encrypted overlays only through {ifname}") for port, ifname in tunnels]


def rules(networks: list[dict]) -> list:
    """Flush every chain and the bridge set, then add all rules: one transaction.
    In the forward chain internal networks' drops come before any accept."""
    bridged = [net for net in networks if net.get("bridge")]
    cmds = [{"flush": n.chain(name)} for name, *_ in CHAINS]
    cmds.append({"flush": {"set": {"family": n.FAMILY, "table": n.TABLE, "name": BRIDGES}}})
    if bridged:
        cmds.append({"add": n.element(BRIDGES, [net["bridge"] for net in bridged])})
    cmds += [{"add": r} for r in _static_rules() + _tunnel_rules(bridged)]
    for net in bridged:
        if (net.get("options") or {}).get("internal"):
            cmds += [{"add": r} for r in _internal_rules(net)]
    cmds += [{"add": r} for r in _forward_accepts()]
    for net in bridged:
        cmds += [{"add": r} for r in _network_rules(net)]
    return cmds


def port_commands(verb: str, ports: list[dict]) -> list:
    """These ports' map elements: `add` commands, or `delete` ones (which name the keys only)."""
    add, delete = port_batches(ports)
    return (add if verb == "add" else delete)["nftables"]


def port_batches(ports: list[dict]) -> tuple[dict, dict]:
    """(add batch, delete batch) of these ports' map elements, made in one pass
    (the hot path of publishing: one sandbox_create -p)."""
    add = {name: [] for pair in MAPS.values() for name in pair}
    keys = {name: [] for pair in MAPS.values() for name in pair}
    for p in ports:
        (addr_map, port_map), key = _port_map(p)
        key = {"concat": key}
        elem = {"val": key, "comment": f"sandbox {p['sandbox']} ({p['network']})"}
        add[addr_map].append([{"elem": elem}, p["sandbox_ip"]])
        add[port_map].append([{"elem": elem}, p["sandbox_port"]])
        keys[addr_map].append(key)
        keys[port_map].append(key)
    return ({"nftables": [{"add": n.element(name, elems)} for name, elems in add.items() if elems]},
            {"nftables": [{"delete": n.element(name, elems)} for name, elems in keys.items() if elems]})


def direct_keys(ports: list[dict]) -> set[tuple]:
    """(sandbox address, proto, sandbox port) of port rows: the pub_direct set's
    keys (two host ports to one sandbox port share one)."""
    return {(p["sandbox_ip"], p["proto"], p["sandbox_port"]) for p in ports}


def direct_commands(verb: str, keys: set[tuple]) -> list:
    """Elements of pub_direct (IPv4 keys) and pub_direct6 (IPv6 keys)."""
    cmds = []
    for name, six in ((PUB_DIRECT, False), (PUB_DIRECT6, True)):
        elems = [n.concat(*key) for key in sorted(keys) if (":" in key[0]) == six]
        if elems:
            cmds.append({verb: n.element(name, elems)})
    return cmds


def active_ports(ports: list[dict]) -> list[dict]:
    """The rows that own a map element: a port one sandbox publishes through
    several networks forwards to its first row's (lowest id) address."""
    seen, out = set(), []
    for p in sorted(ports, key=lambda p: p.get("id", 0)):
        key = (":" in p["sandbox_ip"], p["host_ip"], p["proto"], p["host_port"])
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def full(networks: list[dict], ports: list[dict], owner: tuple[int, str], replace: bool = True) -> dict:
    """Everything from scratch: with `replace` (firewall reload), our table is
    dropped first -- after it is claimed, so another state dir's never is."""
    cmds = [*claim(owner), {"delete": n.table()}] if replace else []
    cmds += skeleton(owner) + rules(networks)
    return n.batch(*cmds, *port_commands("add", active_ports(ports)), *direct_commands("add", direct_keys(ports)))


def teardown(owner: tuple[int, str]) -> dict:
    return n.batch(*claim(owner), {"delete": n.table()})
