"""Dual-stack and IPv6-only networks against a fake kernel: subnets, gateways,
addresses and default routes of each family, links and static routes in IPv6,
and refusals that change nothing."""

import ipaddress
import sqlite3

import pytest

from nsnet import family
from nsnet.names import link_local
from nsnet.state.store import Store


def _calls(kernel, verb):
    return [c[1:] for c in kernel.calls if c[0] == verb]


@pytest.fixture
def dual(engine):
    engine.network_create("dual", subnet=["10.1.0.0/24", "fd00:1::/64"])
    return engine


def test_a_dual_stack_network_has_a_subnet_and_gateway_of_each_family(dual, kernel):
    net = dual.network_inspect("dual")
    assert (net["subnet"], net["gateway"], net["subnet6"], net["gateway6"]) == (
        "10.1.0.0/24", "10.1.0.1", "fd00:1::/64", "fd00:1::1")
    assert _calls(kernel, "addr_add") == [(None, "nsbr-dual", "10.1.0.1/24"), (None, "nsbr-dual", "fd00:1::1/64"),
                                          (None, "nsbr-dual", "fe80::1/64")]


def test_sandboxes_get_an_address_and_a_default_route_of_each_family(dual, kernel):
    dual.sandbox_create("a", networks=["dual"])
    dual.sandbox_create("b", networks=[("dual", "fd00:1::99")])
    a, b = dual.store.endpoint("dual", "a"), dual.store.endpoint("dual", "b")
    assert (a["ip"], a["ip6"], a["is_gateway"], a["is_gateway6"]) == ("10.1.0.2", "fd00:1::2", 1, 1)
    assert (b["ip"], b["ip6"]) == ("10.1.0.3", "fd00:1::99")  # a static IPv6 address, the IPv4 one allocated
    assert ("h-a", "eth0", "fd00:1::2/64") in _calls(kernel, "addr_add")
    assert _calls(kernel, "route_add")[:2] == [("h-a", "0.0.0.0/0", "10.1.0.1", None),
                                               ("h-a", "::/0", "fd00:1::1", None)]
    assert "ip -n h-a -6 addr add fd00:1::2/64 dev eth0 nodad" in dual.explain("a")
    assert "ip -n h-a -6 route add default via fd00:1::1 proto static" in dual.explain("a")


def test_both_static_addresses_in_one_option(dual):
    dual.sandbox_create("s", networks=[("dual", "10.1.0.50,fd00:1::50")])
    ep = dual.store.endpoint("dual", "s")
    assert (ep["ip"], ep["ip6"]) == ("10.1.0.50", "fd00:1::50")


def test_ipv6_addresses_are_allocated_lowest_first_and_reused(dual):
    for name in ("s1", "s2", "s3"):
        dual.sandbox_create(name, networks=["dual"])
    dual.network_disconnect("dual", "s2")
    dual.sandbox_create("s4", networks=["dual"])
    assert {ep["sandbox"]: ep["ip6"] for ep in dual.store.endpoints()} == {
        "s1": "fd00:1::2", "s3": "fd00:1::4", "s4": "fd00:1::3"}


def test_an_ipv6_only_network(engine, kernel):
    engine.network_create("six", subnet="fd00:6::/64")
    net = engine.network_inspect("six")
    assert (net["subnet"], net["gateway"], net["subnet6"], net["gateway6"]) == (None, None, "fd00:6::/64", "fd00:6::1")
    engine.sandbox_create("s", networks=["six"])
    ep = engine.store.endpoint("six", "s")
    assert (ep["ip"], ep["ip6"], ep["is_gateway"], ep["is_gateway6"]) == (None, "fd00:6::2", 0, 1)
    assert _calls(kernel, "route_add") == [("h-s", "::/0", "fd00:6::1", None)]
    assert engine.sandbox_ls()[0]["networks"] == ["six:fd00:6::2"]


def test_ipv6_picks_a_free_ula_64_beside_the_ipv4_pool(engine):
    engine.network_create("one", ipv6=True)
    engine.network_create("two", subnet="10.2.0.0/24", ipv6=True)
    one, two = engine.network_inspect("one"), engine.network_inspect("two")
    assert one["subnet"] == "172.17.0.0/16" and two["subnet"] == "10.2.0.0/24"
    six = [ipaddress.ip_network(n["subnet6"]) for n in (one, two)]
    assert all(n.prefixlen == 64 and str(n).startswith("fd") for n in six) and six[0] != six[1]
    assert six[0].supernet(new_prefix=48) == six[1].supernet(new_prefix=48)  # this machine's /48


def test_a_gateway_per_family(engine, kernel):
    engine.network_create("g", subnet=["10.3.0.0/24", "fd00:3::/64"], gateway=["fd00:3::fe", "10.3.0.254"])
    net = engine.network_inspect("g")
    assert (net["gateway"], net["gateway6"]) == ("10.3.0.254", "fd00:3::fe")
    assert (None, "nsbr-g", f"{link_local('fd00:3::fe')}/64") in _calls(kernel, "addr_add")
    assert link_local("fd00:3::fe") == "fe80::fe"


def test_each_family_takes_its_default_route_from_its_first_network(engine, kernel):
    engine.network_create("four", subnet="10.4.0.0/24")
    engine.network_create("both", subnet=["10.5.0.0/24", "fd00:5::/64"])
    engine.sandbox_create("s", networks=["four", "both"])
    eps = {ep["network"]: ep for ep in engine.store.endpoints(sandbox="s")}
    assert family.default_routes(eps["four"]) == (4,) and family.default_routes(eps["both"]) == (6,)
    assert _calls(kernel, "route_add") == [("h-s", "0.0.0.0/0", "10.4.0.1", None), ("h-s", "::/0", "fd00:5::1", None)]
    engine.network_disconnect("four", "s")  # IPv4's default moves to the dual-stack network
    assert _calls(kernel, "route_add")[-1] == ("h-s", "0.0.0.0/0", "10.5.0.1", None)
    assert family.default_routes(engine.store.endpoint("both", "s")) == (4, 6)


def test_links_and_static_routes_in_ipv6(engine, kernel):
    engine.sandbox_create("red")
    engine.sandbox_create("blue")
    link = engine.link_add("red", "blue", subnet=["10.9.0.0/30", "fd00:9::/64"])
    assert (link["ip_a"], link["ip_b"], link["ip6_a"], link["ip6_b"]) == (
        "10.9.0.1/30", "10.9.0.2/30", "fd00:9::1/64", "fd00:9::2/64")
    added = _calls(kernel, "addr_add")
    assert ("h-red", "veth-blue", "fd00:9::1/64") in added and ("h-red", "veth-blue", "fe80::1/64") in added
    assert ("h-blue", "veth-red", "fe80::2/64") in added
    engine.route_add("red", "fd00:77::/64", "fd00:9::2")
    engine.route_add("red", "default", "fd00:9::2")
    assert {r["dest"] for r in engine.route_ls("red")} == {"fd00:77::/64", "::/0"}
    assert "ip -n h-red -6 route add fd00:77::/64 via fd00:9::2 proto static" in engine.explain("red")
    engine.route_rm("red", "default")
    assert {r["dest"] for r in engine.route_ls("red")} == {"fd00:77::/64"}
    engine.link_rm("red", "blue")  # the routes through the link go with it
    assert engine.route_ls("red") == []


def test_links_with_addresses_of_both_families_per_end(engine):
    engine.sandbox_create("red")
    engine.sandbox_create("blue")
    link = engine.link_add("red", "blue", ip_a=["fd00:8::a/64", "10.8.0.1/24"], ip_b="10.8.0.2/24,fd00:8::b/64")
    assert (link["ip_a"], link["ip6_a"], link["ip_b"], link["ip6_b"]) == (
        "10.8.0.1/24", "fd00:8::a/64", "10.8.0.2/24", "fd00:8::b/64")


def test_a_store_of_the_first_schema_gains_the_ipv6_columns(tmp_path):
    """A state.db written before IPv6 (no subnet6, ip6, ...) opens with its rows
    kept and the new columns empty."""
    from nsnet.state import database

    path = tmp_path / "state.db"
    db = sqlite3.connect(path)
    old = (database.SCHEMA.replace("    subnet6 TEXT, gateway6 TEXT,\n", "")
           .replace("    ip6 TEXT, is_gateway6 INTEGER NOT NULL DEFAULT 0,\n", "")
           .replace("    ip6_a TEXT, ip6_b TEXT,\n", ""))
    assert old != database.SCHEMA
    db.executescript(old + "PRAGMA user_version=1;")
    db.execute("INSERT INTO networks (name, driver, subnet, gateway, bridge) VALUES "
               "('n', 'bridge', '10.0.0.0/24', '10.0.0.1', 'nsbr-n')")
    db.commit()
    db.close()
    store = Store(str(tmp_path))
    try:
        net = store.network("n")
        assert (net["subnet"], net["subnet6"], net["gateway6"]) == ("10.0.0.0/24", None, None)
        store.add_sandbox("s", "h-s")
        store.add_endpoint("n", "s", "eth0", "10.0.0.2", True, ip6="fd00::2")
        assert store.endpoint("n", "s")["ip6"] == "fd00::2" and store.ip_taken("n", "fd00::2")
    finally:
        store.close()


def test_dns_records_of_both_families_and_a_resolver_on_both(dual, kernel):
    from nsnet.dns.config import parse_config

    dual.network_create("four", subnet="10.7.0.0/24")
    dual.sandbox_create("web", networks=["dual"])
    dual.sandbox_create("old", networks=["four"])
    dual.sandbox_create("six", networks=[("dual", "fd00:1::6")])
    cfg = dual.dns_config()
    assert cfg["networks"]["dual"]["records"] == {"web": ["10.1.0.2", "fd00:1::2"], "six": ["10.1.0.3", "fd00:1::6"]}
    assert cfg["sandboxes"]["web"] == {"netns": "h-web", "networks": ["dual"], "ipv6": True}
    assert cfg["sandboxes"]["old"] == {"netns": "h-old", "networks": ["four"]}
    assert ("resolver_sockets", "h-web", "::1", 53) in kernel.calls
    assert ("resolver_sockets", "h-old", "::1", 53) not in kernel.calls
    askers = parse_config(cfg).askers
    assert askers["web"].listen == ("127.0.0.11", "::1") and askers["old"].listen == ("127.0.0.11",)
