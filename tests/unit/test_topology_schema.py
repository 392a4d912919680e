"""Topology files: shape, references and addresses are checked before anything
changes, and every error names the place it is about."""

import glob
import os

import pytest

from nsnet.topology import TopologyError, loads, name_of

EXAMPLES = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "..", "examples", "*.yaml")))


def errors_of(text: str) -> list[str]:
    with pytest.raises(TopologyError) as info:
        loads(text)
    return info.value.errors


def test_every_example_is_valid():
    from nsnet.topology import load

    assert len(EXAMPLES) >= 5
    names = {load(path).name for path in EXAMPLES}
    assert {"red-blue", "v-net-0", "devops-db", "isolated", "three-tier"} <= names


def test_devops_db_resolves_interface_names_and_keeps_order():
    from nsnet.topology import load

    topo = load(os.path.join(os.path.dirname(EXAMPLES[0]), "devops-db.yaml"))
    ns = topo.sandboxes["ns"]
    assert [(a.network, a.ifname) for a in ns.attachments] == [("devops", "ceth0"), ("db", "ceth1")]
    assert topo.sandboxes["web1"].attachments[0].ifname == "eth0"
    isolate = [(e.src, e.dst) for e in topo.expect if not e.reach]
    assert ("web1", "db1") in isolate and ("db1", "web1") in isolate


@pytest.mark.parametrize("text, expected", [
    ("name: x\nnetworks:\n  db: {subnet: 192.168.2.0/33}\n",
     "networks.db.subnet: '192.168.2.0/33' is not a valid CIDR"),
    ("name: x\nnetworks:\n  db: {subnet: 10.0.0.1/24}\n",
     "networks.db.subnet: '10.0.0.1/24' has host bits set (did you mean 10.0.0.0/24?)"),
    ("name: x\nnetworks:\n  db: {subnet: 10.0.0.0/24, colour: red}\n",
     "networks.db.colour: unknown key (allowed: driver, subnet, gateway, ipv6, mtu, bridge, internal, masquerade, "
     "direct_routing, options)"),
    ("name: x\nfoo: 1\n", "foo: unknown key"),
    ("name: x\nsandboxes:\n  a: {command: sleep 9, init: true}\n", "sandboxes.a.init: only applies with isolate_pid"),
    ("name: x\nnetworks:\n  n: {direct_routing: 1}\n", "networks.n.direct_routing"),
    ("name: x\nnetworks:\n  db: {subnet: 10.0.0.0/24, mtu: big}\n",
     "networks.db.mtu: expected an integer, got the string 'big'"),
    ("name: x\nnetworks:\n  db: {subnet: 10.0.0.0/24, mtu: 40}\n", "networks.db.mtu: 40 is out of range (68..65535)"),
    ("name: x\nnetworks:\n  db: {subnet: 10.0.0.0/24, internal: maybe}\n",
     "networks.db.internal: expected true or false"),
    ("name: x\nnetworks:\n  db: {driver: overlay2}\n", "networks.db.driver: unknown driver 'overlay2'"),
    ("name: x\nnetworks:\n  h: {driver: host, subnet: 10.0.0.0/24}\n",
     "networks.h.subnet: driver 'host' takes no subnet"),
    ("name: x\nnetworks:\n  db: {subnet: 10.0.0.0/24, gateway: 10.0.1.1}\n",
     "networks.db.gateway: 10.0.1.1 is not a usable address in subnet 10.0.0.0/24"),
    ("name: x\nnetworks:\n  a: {subnet: 10.0.0.0/16}\n  b: {subnet: 10.0.1.0/24}\n",
     "networks.b.subnet: 10.0.1.0/24 overlaps network 'a' (10.0.0.0/16)"),
    ("name: x\nnetworks:\n  a: {bridge: br0}\n  b: {bridge: br0}\n",
     "networks.b.bridge: bridge br0 is also used by network 'a'"),
    ("name: x\nnetworks:\n  a: {bridge: this-name-is-too-long}\n",
     "networks.a.bridge: interface name 'this-name-is-too-long' is too long (21 > 15 bytes)"),
    ("name: x\nsandboxes:\n  web: {networks: [dbx]}\n",
     "sandboxes.web.networks.dbx: network 'dbx' is not defined (defined: none)"),
    ("name: x\nnetworks: {n: {subnet: 10.0.0.0/24}}\nsandboxes:\n  web: {networks: {n: {ip: 10.0.1.5}}}\n",
     "sandboxes.web.networks.n.ip: 10.0.1.5 is not a usable address in subnet 10.0.0.0/24"),
    ("name: x\nnetworks: {n: {subnet: 10.0.0.0/24}}\nsandboxes:\n  web: {networks: {n: {ip: 10.0.0.1}}}\n",
     "sandboxes.web.networks.n.ip: 10.0.0.1 is the gateway of network 'n'"),
    ("name: x\nnetworks: {n: {subnet: 10.0.0.0/24}}\nsandboxes:\n  a: {networks: {n: {ip: 10.0.0.9}}}\n"
     "  b: {networks: {n: {ip: 10.0.0.9}}}\n",
     "sandboxes.b.networks.n.ip: 10.0.0.9 is also given to sandbox 'a'"),
    ("name: x\nnetworks: {n: {subnet: 10.0.0.0/24}}\nsandboxes:\n  a: {networks: {n: {ip: 10.0.0.300}}}\n",
     "sandboxes.a.networks.n.ip: '10.0.0.300' is not a valid IP address"),
    ("name: x\nnetworks: {n: {}, m: {}}\nsandboxes:\n  a: {networks: {n: {ifname: e0}, m: {ifname: e0}}}\n",
     "sandboxes.a.networks.m.ifname: interface name e0 is already used"),
    ("name: x\nnetworks: {n: {driver: host}, m: {}}\nsandboxes:\n  a: {networks: [n, m]}\n",
     "sandboxes.a.networks.n: a 'host' network cannot be combined"),
    ("name: x\nsandboxes: {a: {}}\nlinks:\n  - {a: a, b: ghost}\n", "links[0].b: sandbox 'ghost' is not defined"),
    ("name: x\nsandboxes: {a: {}, b: {}}\nlinks:\n  - {a: a, b: b}\n  - {a: b, b: a}\n",
     "links[1]: 'b' and 'a' are already linked by links[0]"),
    ("name: x\nsandboxes: {a: {}, b: {}}\nlinks:\n  - {a: a, b: b, ip_a: 10.0.0.1/24, ip_b: 10.0.1.2/24}\n",
     "links[0].ip_b: 10.0.1.2/24 is not on the subnet of ip_a (10.0.0.0/24)"),
    ("name: x\nsandboxes: {a: {}, b: {}}\nlinks:\n  - {a: a, b: b, ip_a: 10.0.0.1}\n",
     "links[0]: give both ip_a and ip_b (or subnet)"),
    ("name: x\nsandboxes: {a: {}, b: {}}\nlinks:\n  - {a: a, b: b, subnet: 10.0.0.0/24, ip_a: 10.0.0.1/24}\n",
     "links[0]: give either subnet or ip_a/ip_b, not both"),
    ("name: x\nsandboxes: {a: {}, b: {}}\nlinks:\n  - {a: a, b: b, ip_a: 10.0.0.1, ip_b: 10.0.0.2}\n",
     "links[0].ip_a: '10.0.0.1' needs a prefix length (e.g. 10.0.0.1/24)"),
    ("name: x\nsandboxes:\n  a: {routes: ['10.0.0.0/8 via 192.168.1.1']}\n",
     "sandboxes.a.routes[0].via: gateway 192.168.1.1 is not on any network of sandbox 'a'"),
    ("name: x\nsandboxes:\n  a: {routes: ['10.0.0.0/8 through 1.2.3.4']}\n",
     "sandboxes.a.routes[0]: '10.0.0.0/8 through 1.2.3.4' is not 'DEST via GATEWAY'"),
    ("name: x\nnetworks: {n: {subnet: 10.0.0.0/24}}\nsandboxes:\n"
     "  a: {networks: [n], routes: ['default via 10.0.0.9']}\n",
     "sandboxes.a.routes[0]: the sandbox already gets its default route from network 'n'"),
    ("name: x\nnetworks: {n: {subnet: 10.0.0.0/24}}\nsandboxes:\n  a: {networks: [n], publish: ['80:80/icmp']}\n",
     "sandboxes.a.publish[0]: publish '80:80/icmp': protocol 'icmp' is not tcp or udp"),
    # the engine's own parser: /sctp is refused here as `nsnet publish` refuses it (it failed half-way in `up`)
    ("name: x\nnetworks: {n: {subnet: 10.0.0.0/24}}\nsandboxes:\n  a: {networks: [n], publish: ['80:80/sctp']}\n",
     "sandboxes.a.publish[0]: publish '80:80/sctp': protocol 'sctp' is not tcp or udp"),
    ("name: x\nnetworks: {n: {subnet: 10.0.0.0/24}}\nsandboxes:\n  a: {networks: [n], publish: ['8000-8002:80']}\n",
     "sandboxes.a.publish[0]: publish '8000-8002:80': ranges 8000-8002 and 80 differ in length"),
    ("name: x\nnetworks: {n: {subnet: 10.0.0.0/24}}\nsandboxes:\n  a: {networks: [n], publish: ['80:80']}\n"
     "  b: {networks: [n], publish: ['80:8080']}\n",
     "sandboxes.b.publish[0]: host port 80/tcp is also published by sandbox 'a'"),
    ("name: x\nsandboxes:\n  a: {publish: ['80:80']}\n",
     "sandboxes.a.publish: publishing ports needs a bridge network"),
    ("name: x\nsandboxes: {a: {}}\nexpect:\n  reach: [a -> ghost]\n",
     "expect.reach[0]: 'a -> ghost': sandbox 'ghost' is not defined"),
    ("name: x\nsandboxes: {a: {}}\nexpect:\n  reach: [a to b]\n",
     "expect.reach[0]: 'a to b' is not 'A -> B' or 'A <-> B'"),
    ("name: x\nsandboxes: {a: {}}\nexpect:\n  reach: ['a -> host:80']\n",
     "expect.reach[0]: 'a -> host:80': 'host' is a target only as 'outside -> host:PORT'"),
    ("name: x\nsandboxes: {a: {}}\nexpect:\n  never: [a -> a]\n",
     "expect.never: unknown key (allowed: reach, isolate)"),
    ("name: 'bad name!'\n", "name: topology name 'bad name!' has invalid characters"),
    ("networks: {}\n", "name: is required"),
    ("", "(top level): the file is empty"),
    ("name: x\nsandboxes: [a, b]\n", "sandboxes: expected a mapping of names, got a list"),
    ("name: x\nsandboxes:\n  a: {}\n  a: {}\n", "sandboxes: duplicate key 'a' (lines 3 and 4)"),
    ("name: x\nsandboxes: {a: {networks: [n}\n", "<topology>: line 2"),
    # issue #15, item 12: accepted before
    ('name: "lab\\n"\n', "name: topology name 'lab\\n' has invalid characters"),
    ("name: x\nsandboxes: {\"a\\n\": {}}\n", "sandboxes.a\n: sandbox name 'a\\n' has invalid characters"),
    ("name: x\nnetworks: {n: {subnet: 127.0.0.0/24}}\n", "networks.n.subnet: 127.0.0.0/24 is in the loopback range"),
    ("name: x\nnetworks: {n: {subnet: 224.0.0.0/24}}\n", "networks.n.subnet: 224.0.0.0/24 is in the multicast range"),
    ("name: x\nnetworks: {n: {subnet: 0.0.0.0/24}}\n", "networks.n.subnet: 0.0.0.0/24 is in the 'this network' range"),
    ("name: x\nsandboxes: {a: {}, b: {}}\nlinks: [{a: a, b: b, ip_a: 127.0.0.1/30, ip_b: 127.0.0.2/30}]\n",
     "links[0].ip_a: 127.0.0.0/30 is in the loopback range"),
    ("name: x\nnetworks: {n: {subnet: 10.1.0.0/16}}\nsandboxes: {a: {}, b: {}}\n"
     "links: [{a: a, b: b, subnet: 10.1.2.0/30}]\n", "links[0]: subnet 10.1.2.0/30 overlaps network 'n' (10.1.0.0/16)"),
    ("name: &a [*a]\n", "<topology>: line 1: name[0] refers to itself (a recursive alias)"),
    ("name: x\nsandboxes: &s {a: *s}\n", "refers to itself (a recursive alias)"),
    ("name: x\nnetworks: {n: {mtu: " + "9" * 5000 + "}}\n", "<topology>: Exceeds the limit"),
])
def test_errors_point_at_the_place(text, expected):
    errs = errors_of(text)
    assert any(e.startswith(expected) or expected in e for e in errs), errs


def test_a_file_that_is_no_topology_is_refused_in_one_pass(tmp_path):
    """Invalid UTF-8, a "billion laughs" file of 400 bytes (10^9 values once
    expanded: it hung up, status and down) and a file too large, each in one line."""
    from nsnet.topology import load
    from nsnet.topology.yamlload import MAX_BYTES

    bomb = ["name: bomb", "a: &a [x, x, x, x, x, x, x, x, x, x]"]
    bomb += [f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]" for p, c in zip("abcdefgh", "bcdefghi", strict=True)]
    cases = {"utf8.yaml": b"name: lab\ndescription: \"\xff\xfe\"\n", "bomb.yaml": "\n".join(bomb).encode(),
             "big.yaml": b"name: x\n" + b"#" * MAX_BYTES}
    expected = {"utf8.yaml": "line 2: not UTF-8 text (byte 0xff at offset 24)",
                "bomb.yaml": "expands to more than 250,000 values", "big.yaml": "larger than 16 MiB"}
    assert len(cases["bomb.yaml"]) < 700
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        for read in (load, name_of):
            with pytest.raises(TopologyError) as info:
                read(str(path))
            assert expected[name] in str(info.value) and "\n" not in str(info.value)


def test_overlaps_among_thousands_of_networks_are_found_in_one_sweep():
    """4,000 networks that all overlap were 55 s and 1.2 GB (every pair: 8 million
    messages); each is reported once now (ipam.overlapping_pairs, checked against
    pairwise comparison in test_bad_input_properties.py)."""
    text = "name: big\nnetworks:\n" + "".join(f"  n{i}: {{subnet: 10.0.0.0/16}}\n" for i in range(4000))
    errs = errors_of(text)
    assert len(errs) == 3999 and errs[0].endswith("overlaps network 'n0' (10.0.0.0/16)")


def test_all_errors_are_reported_together():
    errs = errors_of("name: x\nnetworks:\n  a: {subnet: 1.2.3.0/33, mtu: 1}\nsandboxes:\n  s: {networks: [zz]}\n")
    assert len(errs) >= 2
    assert any(e.startswith("networks.a.subnet") for e in errs)
    assert any(e.startswith("networks.a.mtu") for e in errs)


def test_message_is_one_line_with_the_first_errors():
    with pytest.raises(TopologyError) as info:
        loads("name: x\nfoo: 1\nbar: 2\nbaz: 3\nqux: 4\n")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("foo: unknown key") and "(and 1 more)" in message
    assert info.value.exit_code == 2


def test_automatic_interface_names_skip_the_given_ones():
    topo = loads("""
name: x
networks: {a: {}, b: {}, c: {}}
sandboxes:
  s:
    networks:
      a: {}
      b: {ifname: eth0}
      c: {}
  t: {}
links:
  - {a: s, b: t}
""")
    names = [(a.network, a.ifname) for a in topo.sandboxes["s"].attachments]
    assert names == [("a", "eth1"), ("b", "eth0"), ("c", "eth2")]
    link = topo.links[0]
    assert (link.ifname_a, link.ifname_b) == ("veth-t", "veth-s")


def test_link_subnet_gives_the_first_two_addresses():
    topo = loads("name: x\nsandboxes: {a: {}, b: {}}\nlinks:\n  - {a: a, b: b, subnet: 10.9.0.0/30}\n")
    assert (topo.links[0].ip_a, topo.links[0].ip_b) == ("10.9.0.1/30", "10.9.0.2/30")


def test_expectations_both_ways_and_ports():
    topo = loads("name: x\nsandboxes: {a: {}, b: {}}\nexpect:\n  reach: ['a <-> b', 'a -> b:8080/tcp']\n"
                 "  isolate: ['outside -> a']\n")
    got = [(e.src, e.dst, e.port, e.proto, e.reach) for e in topo.expect]
    assert got == [("a", "b", None, "icmp", True), ("b", "a", None, "icmp", True),
                   ("a", "b", 8080, "tcp", True), ("outside", "a", None, "icmp", False)]


def test_internal_networks_never_masquerade():
    topo = loads("name: x\nnetworks: {db: {internal: true}}\n")
    assert topo.networks["db"].internal and not topo.networks["db"].masquerade


def test_down_needs_only_the_name(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("name: lab\nnetworks:\n  db: {subnet: nonsense}\n")
    assert name_of(str(path)) == "lab"
    with pytest.raises(TopologyError, match="no such file"):
        name_of(str(tmp_path / "missing.yaml"))


def test_dual_stack_and_ipv6_only_networks_links_and_routes():
    topo = loads("""
name: six
networks:
  dual: {subnet: [10.1.0.0/24, "fd00:1::/64"], gateway: ["fd00:1::fe"]}
  six: {subnet: "fd00:2::/64"}
  auto: {ipv6: true}
sandboxes:
  a: {networks: {dual: {ip: [10.1.0.5, "fd00:1::5"]}, six: {ip: "fd00:2::5"}}}
  b: {networks: [auto], routes: ["fd00:9::/64 via fd00:3::1"]}
links:
  - {a: a, b: b, subnet: ["10.3.0.0/30", "fd00:3::/64"]}
""")
    dual, six, auto = topo.networks["dual"], topo.networks["six"], topo.networks["auto"]
    assert (dual.subnet, dual.subnet6, dual.gateway, dual.gateway6) == (
        "10.1.0.0/24", "fd00:1::/64", None, "fd00:1::fe")
    assert six.versions() == {6} and dual.versions() == {4, 6} and auto.versions() == {4, 6}
    att = {a.network: a for a in topo.sandboxes["a"].attachments}
    assert (att["dual"].ip, att["dual"].ip6, att["six"].ip, att["six"].ip6) == (
        "10.1.0.5", "fd00:1::5", None, "fd00:2::5")
    link = topo.links[0]
    assert (link.ip_a, link.ip6_a, link.ip6_b) == ("10.3.0.1/30", "fd00:3::1/64", "fd00:3::2/64")
    assert topo.sandboxes["b"].routes[0].dest == "fd00:9::/64"


@pytest.mark.parametrize("text, expected", [
    ("name: x\nnetworks:\n  n: {subnet: ['fd00:1::/64', 'fd00:2::/64']}\n", "networks.n.subnet: two IPv6 subnets"),
    ("name: x\nnetworks:\n  n: {subnet: 'fd00:1::/64', gateway: 10.0.0.1}\n",
     "networks.n.gateway: 10.0.0.1: the network has no IPv4 subnet"),
    ("name: x\nnetworks:\n  n: {subnet: 10.0.0.0/24}\nsandboxes:\n  a: {networks: {n: {ip: 'fd00::5'}}}\n",
     "sandboxes.a.networks.n.ip: fd00::5: network 'n' has no IPv6 subnet"),
    ("name: x\nnetworks:\n  a: {subnet: 'fd00::/64'}\n  b: {subnet: 'fd00::/80'}\n",
     "networks.a.subnet: fd00::/64 overlaps network 'b' (fd00::/80)"),
    ("name: x\nsandboxes: {a: {}, b: {}}\nlinks: [{a: a, b: b, ip_a: 'fd00::1/64', ip_b: 10.0.0.2/24}]\n",
     "links[0].ip_b: ip_a and ip_b must give addresses of the same families"),
    ("name: x\nsandboxes: {a: {routes: ['10.9.0.0/16 via fd00::1']}}\n", "different families"),
    ("name: x\nnetworks:\n  n: {subnet: [10.0.0.0/24, 'fd00::/64']}\nsandboxes:\n"
     "  a: {networks: [n], routes: ['default via fd00::9']}\n",
     "the sandbox already gets its default route from network 'n'"),
])
def test_ipv6_errors_point_at_the_place(text, expected):
    errs = errors_of(text)
    assert any(e.startswith(expected) or expected in e for e in errs), errs
