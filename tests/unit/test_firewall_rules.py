import pytest

from nsnet.errors import Conflict, InvalidInput
from nsnet.firewall import nftjson, ruleset
from nsnet.firewall.ports import Port, parse_all, parse_publish

NETS = [{"name": "a", "bridge": "nsbr-a", "subnet": "10.1.0.0/24", "options": {"masquerade": True}},
        {"name": "b", "bridge": "nsbr-b", "subnet": "10.2.0.0/24", "options": {"internal": True}}]
PORT = {"sandbox": "web", "network": "a", "sandbox_ip": "10.1.0.2", "sandbox_port": 80, "host_ip": "",
        "proto": "tcp", "host_port": 8080}


def test_publish_specs():
    assert parse_publish("8080:80") == [Port("", 8080, "tcp", 80)]
    assert parse_publish("127.0.0.1:53:5353/udp") == [Port("127.0.0.1", 53, "udp", 5353)]
    assert parse_publish("0.0.0.0:1-2:11-12") == [Port("", 1, "tcp", 11), Port("", 2, "tcp", 12)]
    for bad, text in [("80", "expected"), ("a:b", "not a port"), ("0:80", "out of range"), ("9-8:9-8", "reversed"),
                      ("1-3:1-2", "differ"), ("80:80/icmp", "not tcp or udp"), ("1.2.3:80:80", "not an IPv4")]:
        with pytest.raises(InvalidInput, match=text):
            parse_publish(bad)
    with pytest.raises(InvalidInput, match="given twice"):
        parse_all(["8080:80", "127.0.0.1:8080:81"])
    assert len(parse_all(["8080:80", "8080:80/udp"])) == 2


def test_rules_per_network_and_golden_text():
    text = nftjson.render(nftjson.batch(*ruleset.rules(NETS)))
    assert "nft 'add rule inet nsnet postrouting ip saddr 10.1.0.0/24 oifname != \"nsbr-a\" masquerade " \
           "comment \"nsnet network a: outbound NAT\"'" in text
    assert not any("10.2.0.0/24" in line and "masquerade" in line for line in text)  # internal: no NAT
    assert sum("internal" in line for line in text) == 2
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
    assert last_nft == ruleset.teardown()


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
    assert not any(c[0] == "nft" for c in kernel.calls)  # no second element for the same key
    assert {p["network"] for p in engine.port_ls("s")} == {"a", "b"}
    full = nftjson.render(engine.firewall_plan().batch)
    assert sum("tcp . 8080" in line for line in full) == 2 and not any("10.6.0.2" in line for line in full)
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
    ]
    engine.network_disconnect("b", "s")
    assert engine.port_ls() == []


def test_a_caller_holding_the_port_skips_the_socket_probe(engine, kernel):
    engine.network_create("n", subnet="10.5.0.0/24")
    engine.sandbox_create("s")
    kernel.busy_ports.add(("tcp", 9000))
    engine.network_connect("n", "s", publish=["9000:80"], probe_ports=False)
    assert engine.port_ls("s")[0]["host_port"] == 9000
