import pytest

from nsnet.engine.firewall import table_owner
from nsnet.errors import Conflict, InvalidInput, NotFound
from nsnet.firewall import nftjson, ruleset
from nsnet.firewall.ports import Port, parse_all, parse_publish

NETS = [{"name": "a", "bridge": "nsbr-a", "subnet": "10.1.0.0/24", "options": {"masquerade": True}},
        {"name": "b", "bridge": "nsbr-b", "subnet": "10.2.0.0/24", "options": {"internal": True}}]
PORT = {"sandbox": "web", "network": "a", "sandbox_ip": "10.1.0.2", "sandbox_port": 80, "host_ip": "",
        "proto": "tcp", "host_port": 8080}


def test_publish_specs():
    assert parse_publish("8080:80") == [Port("", 8080, "tcp", 80)]
    assert parse_publish("127.0.0.1:53:5353/udp") == [Port("127.0.0.1", 53, "udp", 5353)]
    assert parse_publish("0.0.0.0:1-2:11-12") == [Port("0.0.0.0", 1, "tcp", 11), Port("0.0.0.0", 2, "tcp", 12)]
    # IPv6 host addresses in brackets; a port without one is on both families
    assert parse_publish("[::]:8080:80") == [Port("::", 8080, "tcp", 80)]
    assert parse_publish("[FD00::0001]:8080:80/udp") == [Port("fd00::1", 8080, "udp", 80)]
    assert [p.family for p in parse_all(["8080:80", "[::]:81:80", "0.0.0.0:82:80", "10.0.0.1:83:80"])] == \
        [None, 6, 4, 4]
    assert parse_publish("[fd00::1]:8080:80")[0].label() == "[fd00::1]:8080->80/tcp"
    for bad, text in [("80", "expected"), ("a:b", "not a port"), ("0:80", "out of range"), ("9-8:9-8", "reversed"),
                      ("1-3:1-2", "differ"), ("80:80/icmp", "not tcp or udp"), ("1.2.3:80:80", "not an IPv4"),
                      ("[::1]:80:80", "cannot be forwarded"), ("[10.0.0.1]:80:80", "only IPv6"),
                      ("fd00::1:80:80", "goes in brackets")]:
        with pytest.raises(InvalidInput, match=text):
            parse_publish(bad)
    with pytest.raises(InvalidInput, match="given twice"):
        parse_all(["8080:80", "127.0.0.1:8080:81"])
    with pytest.raises(InvalidInput, match="given twice"):
        parse_all(["8080:80", "[::]:8080:81"])
    assert len(parse_all(["8080:80", "8080:80/udp"])) == 2
    assert len(parse_all(["0.0.0.0:8080:80", "[::]:8080:81"])) == 2  # one port, one family each


def test_rules_per_network_and_golden_text():
    text = nftjson.render(nftjson.batch(*ruleset.rules(NETS)))
    assert "nft 'add rule inet nsnet postrouting ip saddr 10.1.0.0/24 oifname != \"nsbr-a\" masquerade " \
           "comment \"nsnet network a: outbound NAT\"'" in text
    assert not any("10.2.0.0/24" in line and "masquerade" in line for line in text)  # internal: no NAT
    assert sum("internal" in line for line in text) == 4  # IPv6 neighbour discovery; the host, out, in
    assert "nft 'add rule inet nsnet input iifname \"nsbr-b\" icmpv6 type { \"nd-neighbor-solicit\", " \
           "\"nd-neighbor-advert\" } accept comment \"nsnet network b: internal, IPv6 neighbour discovery with " \
           "the host\"'" in text
    forward = [line for line in text if "add rule inet nsnet forward" in line]
    assert "nsnet network b: internal" in forward[0] and "nsnet network b: internal" in forward[1]  # before accepts
    assert "nft 'add rule inet nsnet forward oifname \"nsbr-a\" iifname != \"nsbr-a\" drop " \
           "comment \"nsnet network a: unpublished ports are not routed to\"'" in text
    assert "nft 'add rule inet nsnet forward iifname != @bridges oifname @bridges ip daddr . meta l4proto . " \
           "th dport @pub_direct accept comment \"nsnet: published ports, routed to directly\"'" in text
    assert "nft 'add rule inet nsnet input iifname \"nsbr-b\" ct state != { established, related } drop " \
           "comment \"nsnet network b: internal, the host is beyond it\"'" in text
    opted_out = nftjson.render(nftjson.batch(*ruleset.rules([dict(NETS[0], options={"direct_routing": True})])))
    assert not any("not routed to" in line for line in opted_out)
    assert "nft 'add element inet nsnet bridges { \"nsbr-a\", \"nsbr-b\" }'" in text


def test_ports_are_map_elements_not_rules():
    add = nftjson.batch(*ruleset.port_commands("add", [PORT]))
    assert [next(iter(c)) for c in add["nftables"]] == ["add", "add"]  # address map + port map
    assert nftjson.render(add) == [
        "nft 'add element inet nsnet pub_any_addr { tcp . 8080 comment \"sandbox web (a)\" : 10.1.0.2 }'",
        "nft 'add element inet nsnet pub_any_port { tcp . 8080 comment \"sandbox web (a)\" : 80 }'",
    ]
    delete = nftjson.render(nftjson.batch(*ruleset.port_commands("delete", [dict(PORT, host_ip="127.0.0.1")])))
    assert delete == ["nft 'delete element inet nsnet pub_ip_addr { 127.0.0.1 . tcp . 8080 }'",
                      "nft 'delete element inet nsnet pub_ip_port { 127.0.0.1 . tcp . 8080 }'"]


def test_engine_refuses_port_conflicts(engine, kernel):
    engine.network_create("n", subnet="10.5.0.0/24")
    engine.network_create("i", subnet="10.6.0.0/24", internal=True)
    engine.sandbox_create("s", networks=["n"], publish=["8080:80"])
    engine.sandbox_create("t")
    before = engine.store.snapshot()
    with pytest.raises(Conflict, match="already published by sandbox 's'"):
        engine.network_connect("n", "t", publish=["127.0.0.1:8080:80"])
    kernel.busy_ports.add(("tcp", 9000))
    with pytest.raises(Conflict, match="in use by a socket"):
        engine.network_connect("n", "t", publish=["9000:80"])
    with pytest.raises(InvalidInput, match="internal"):
        engine.network_connect("i", "t", publish=["9001:80"])
    with pytest.raises(InvalidInput, match="not an address of the host"):
        engine.network_connect("n", "t", publish=["10.9.9.9:9002:80"])
    assert engine.store.snapshot() == before


def test_forwarding_is_restored_after_the_last_network(engine, kernel):
    engine.network_create("n", subnet="10.5.0.0/24")
    assert kernel.sysctls["net.ipv4.ip_forward"] == "1"
    engine.network_create("m", subnet="10.6.0.0/24")
    engine.network_rm("n")
    assert kernel.sysctls["net.ipv4.ip_forward"] == "1"
    engine.network_rm("m")
    assert kernel.sysctls["net.ipv4.ip_forward"] == "0"
    last_nft = [c for c in kernel.calls if c[0] == "nft"][-1][1]
    assert last_nft == ruleset.teardown(table_owner(engine.settings.state_dir))


def test_the_bridge_goes_last_when_a_network_is_removed(engine, kernel):
    """Its deletion holds the kernel's RTNL lock through an RCU grace period: a sysctl written
    after it waited for that (~15-20 ms); written before, network rm ends as the bridge leaves."""
    engine.network_create("n", subnet="10.5.0.0/24")
    del kernel.calls[:]
    engine.network_rm("n")
    verbs = kernel.verbs()
    assert "sysctl_set" in verbs and verbs.index("link_del") > max(i for i, v in enumerate(verbs) if v == "sysctl_set")


def test_port_batches_are_the_add_and_delete_commands():
    ports = [PORT, dict(PORT, host_ip="127.0.0.1", proto="udp", host_port=53, sandbox_port=5353),
             dict(PORT, sandbox="db", host_port=8081)]
    assert ruleset.port_batches(ports) == (nftjson.batch(*ruleset.port_commands("add", ports)),
                                           nftjson.batch(*ruleset.port_commands("delete", ports)))


def test_one_sandbox_port_on_two_networks_is_shared(engine, kernel):
    """A runtime's `--network a,b -p 8080:80`: the port is published once, to the
    first network's address; when that network goes, to the second's."""
    engine.network_create("a", subnet="10.5.0.0/24")
    engine.network_create("b", subnet="10.6.0.0/24")
    engine.sandbox_create("s", networks=["a"], publish=["8080:80"])
    engine.sandbox_create("t")
    kernel.calls.clear()
    engine.network_connect("b", "s", publish=["8080:80"])
    added = nftjson.render([c for c in kernel.calls if c[0] == "nft"][-1][1])
    assert added == ["nft 'add element inet nsnet pub_direct { 10.6.0.2 . tcp . 80 }'"]  # no second map element
    assert {p["network"] for p in engine.port_ls("s")} == {"a", "b"}
    full = nftjson.render(engine.firewall_plan().batch)
    assert sum("tcp . 8080" in line for line in full) == 2
    assert [line for line in full if "10.6.0.2" in line] == [  # reached directly, not through the host port
        "nft 'add element inet nsnet pub_direct { 10.5.0.2 . tcp . 80, 10.6.0.2 . tcp . 80 }'"]
    with pytest.raises(Conflict, match="already published by sandbox 's'"):  # another sandbox: taken
        engine.network_connect("b", "t", publish=["8080:80"])
    with pytest.raises(Conflict, match="already published by sandbox 's'"):  # another sandbox port: taken
        engine.port_publish("s", ["8080:81/tcp"], network="b")
    kernel.calls.clear()
    engine.network_disconnect("a", "s")
    handover = nftjson.render([c for c in kernel.calls if c[0] == "nft"][-1][1])
    assert handover == [
        "nft 'delete element inet nsnet pub_any_addr { tcp . 8080 }'",
        "nft 'delete element inet nsnet pub_any_port { tcp . 8080 }'",
        "nft 'add element inet nsnet pub_any_addr { tcp . 8080 comment \"sandbox s (b)\" : 10.6.0.2 }'",
        "nft 'add element inet nsnet pub_any_port { tcp . 8080 comment \"sandbox s (b)\" : 80 }'",
        "nft 'delete element inet nsnet pub_direct { 10.5.0.2 . tcp . 80 }'",
    ]
    engine.network_disconnect("b", "s")
    assert engine.port_ls() == []


def test_a_caller_holding_the_port_skips_the_socket_probe(engine, kernel):
    engine.network_create("n", subnet="10.5.0.0/24")
    engine.sandbox_create("s")
    kernel.busy_ports.add(("tcp", 9000))
    engine.network_connect("n", "s", publish=["9000:80"], probe_ports=False)
    assert engine.port_ls("s")[0]["host_port"] == 9000


def test_ipv6_nat_maps_and_forwarding(engine, kernel):
    kernel.sysctls["net.ipv6.conf.all.forwarding"] = "0"
    engine.network_create("four", subnet="10.5.0.0/24")
    assert "net.ipv6.conf.all.forwarding" not in [c[1] for c in kernel.calls if c[0] == "sysctl_set"]
    engine.network_create("dual", subnet=["10.6.0.0/24", "fd00:6::/64"])
    engine.network_create("quiet", subnet="fd00:7::/64", masquerade=False)
    assert kernel.sysctls["net.ipv6.conf.all.forwarding"] == "1"
    text = nftjson.render(engine.firewall_plan().batch)
    assert "nft 'add rule inet nsnet postrouting ip6 saddr fd00:6::/64 oifname != \"nsbr-dual\" masquerade " \
           "comment \"nsnet network dual: outbound NAT66\"'" in text
    assert not any("fd00:7::/64" in line and "outbound NAT66" in line for line in text)  # --no-masquerade: routed
    assert "nft 'add map inet nsnet pub_any6_addr { type inet_proto . inet_service : ipv6_addr; }'" in text
    assert any("dnat ip6 to ip6 daddr . meta l4proto . th dport map @pub_ip6_addr" in line for line in text)
    engine.network_rm("dual")
    assert kernel.sysctls["net.ipv6.conf.all.forwarding"] == "1"  # "quiet" still carries IPv6
    engine.network_rm("quiet")
    assert kernel.sysctls["net.ipv6.conf.all.forwarding"] == "0"
    assert kernel.sysctls["net.ipv4.ip_forward"] == "1"


def test_a_port_is_published_on_each_family_the_sandbox_has(engine, kernel):
    engine.network_create("dual", subnet=["10.6.0.0/24", "fd00:6::/64"])
    engine.network_create("six", subnet="fd00:7::/64")
    engine.network_create("four", subnet="10.8.0.0/24")
    engine.sandbox_create("s", networks=["dual"], publish=["8080:80", "[::]:8081:81", "0.0.0.0:8082:82"])
    rows = {(p["host_ip"], p["host_port"], p["sandbox_ip"]) for p in engine.port_ls("s")}
    assert rows == {("", 8080, "10.6.0.2"), ("", 8080, "fd00:6::2"), ("::", 8081, "fd00:6::2"),
                    ("0.0.0.0", 8082, "10.6.0.2")}
    text = nftjson.render(engine.firewall_plan().batch)
    assert "nft 'add element inet nsnet pub_any6_addr { tcp . 8080 comment \"sandbox s (dual)\" : fd00:6::2, " \
           "tcp . 8081 comment \"sandbox s (dual)\" : fd00:6::2 }'" in text
    engine.sandbox_create("t", networks=["six"], publish=["9090:90"])
    assert [p["sandbox_ip"] for p in engine.port_ls("t")] == ["fd00:7::2"]
    engine.sandbox_create("u", networks=["four"])
    before = engine.store.snapshot()
    with pytest.raises(InvalidInput, match="has no IPv6 address on network 'four'"):
        engine.port_publish("u", ["[::]:7070:70"])
    with pytest.raises(Conflict, match="already published by sandbox 's'"):  # IPv4 of 8080 is taken
        engine.port_publish("u", ["8080:80"])
    with pytest.raises(InvalidInput, match="not an address of the host"):
        engine.port_publish("t", ["[fd00:99::1]:7071:70"])
    assert engine.store.snapshot() == before
    engine.port_publish("u", ["8081:81"])  # 8081 is taken on IPv6 only
    assert engine.port_unpublish("s", ["8080:80"]) and {p["host_port"] for p in engine.port_ls("s")} == {8081, 8082}
    with pytest.raises(NotFound, match=r"no published port \[::\]:8082/tcp"):
        engine.port_unpublish("s", ["[::]:8082:82"])


def test_a_host_on_router_advertisements_is_warned_before_it_forwards_ipv6(engine, kernel, monkeypatch):
    ra = {"dest": "::/0", "via": "fe80::1", "dev": "eth0", "proto": 9}
    monkeypatch.setattr(kernel, "routes", lambda ns, family=2: [ra] if family == 10 and ns is None else [])
    out = engine.network_create("dual", subnet=["10.6.0.0/24", "fd00:6::/64"])
    assert out["warnings"] == ["the host's IPv6 default route via fe80::1 on eth0 comes from router advertisements, "
                               "which Linux ignores while it forwards IPv6: set net.ipv6.conf.eth0.accept_ra=2 to "
                               "keep it"]
    assert "warnings" not in engine.network_create("more", subnet="fd00:7::/64")  # forwarding was on already
