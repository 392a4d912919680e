"""The kernel layer's reads against iproute2's view of the same namespaces,
and what they let drift checks see."""

import errno
import json
import socket

import pytest

from nsnet.errors import KernelError

from .helpers import in_ns, sh


def ip_json(ns: str, *args) -> list:
    return json.loads(sh("ip", "-j", "-n", ns, *args).stdout or "[]")


def test_links_addresses_and_routes_of_both_families_match_iproute2(host):
    e, k = host.engine, host.engine.kernel
    e.network_create("n", subnet="10.31.0.0/24")
    e.sandbox_create("a", networks=["n"])
    sb = host.prefix + "a"
    sh("ip", "-n", sb, "addr", "add", "fd31::2/64", "dev", "eth0", "nodad")
    sh("ip", "-n", sb, "-6", "route", "add", "fd32::/48", "via", "fd31::1")
    for ns, kernel_ns in ((host.name, None), (sb, sb)):
        want = {(x["ifname"], x.get("address"), x["mtu"], x.get("master"), "UP" in x["flags"])
                for x in ip_json(ns, "link", "show")}
        links = k.links(kernel_ns)
        names = {x["index"]: x["ifname"] for x in links}
        assert {(x["ifname"], x["mac"], x["mtu"], names.get(x["master"]), x["up"]) for x in links} == want
        want = {(x["ifname"], f"{a['local']}/{a['prefixlen']}") for x in ip_json(ns, "addr", "show")
                for a in x["addr_info"]}
        assert {(a["ifname"], a["cidr"]) for a in k.addrs(kernel_ns)} == want
        for family, flag, default, host_bits in ((socket.AF_INET, "-4", "0.0.0.0/0", "/32"),
                                                 (socket.AF_INET6, "-6", "::/0", "/128")):
            want = {(default if r["dst"] == "default" else r["dst"] if "/" in r["dst"] else r["dst"] + host_bits,
                     r.get("gateway"), r.get("dev"))
                    for r in ip_json(ns, flag, "route", "show") if r.get("type", "unicast") == "unicast"}
            assert {(r["dest"], r["via"], r["dev"]) for r in k.routes(kernel_ns, family)} == want
    assert {"dest": "fd32::/48", "via": "fd31::1", "dev": "eth0", "proto": 3} in k.routes(sb, socket.AF_INET6)
    peer = next(x for x in k.links(None) if x["kind"] == "veth")
    assert peer["peer_index"] == next(x["index"] for x in k.links(sb) if x["ifname"] == "eth0")


def test_a_changed_mac_is_drift_and_repair_restores_it(host):
    """The drift snapshot reads MACs (its decoder once had none: a MAC changed
    behind nsnet's back was never reported)."""
    e = host.engine
    e.network_create("n", subnet="10.32.0.0/24")
    e.sandbox_create("b")
    e.network_connect("n", "b", mac="02:42:0a:20:00:63")
    assert e.drift() == []
    sb = host.prefix + "b"
    sh("ip", "-n", sb, "link", "set", "eth0", "address", "02:42:0a:20:00:99")
    assert [d.step.kind for d in e.drift()] == ["veth_add"]  # made with its MAC: repair makes it again
    assert e.repair()["errors"] == []
    assert "link/ether 02:42:0a:20:00:63" in in_ns(sb, "ip", "link", "show", "eth0").stdout
    assert e.drift() == []


def test_refusals_keep_the_errno_and_the_kernels_words(host):
    k = host.engine.kernel
    k.bridge_add("gkbr-x")
    k.addr_add(None, "gkbr-x", "10.33.0.1/24")
    with pytest.raises(KernelError) as refused:
        k.addr_add(None, "gkbr-x", "10.33.0.1/24")
    assert refused.value.errno == errno.EEXIST and "adding address 10.33.0.1/24 to gkbr-x: " in str(refused.value)
    assert "\n" not in str(refused.value)
    with pytest.raises(KernelError) as missing:
        k.link_set(None, "gkbr-none", up=True)
    assert missing.value.errno == errno.ENODEV
    assert k.addr_del(None, "gkbr-x", "10.33.0.1/24") and not k.addr_del(None, "gkbr-x", "10.33.0.1/24")
    assert k.link_del(None, "gkbr-x") and not k.link_del(None, "gkbr-x")


def test_ipv6_addresses_skip_dad_and_routes_take_both_families(host):
    e, k = host.engine, host.engine.kernel
    e.network_create("n", subnet="10.34.0.0/24")
    e.sandbox_create("c", networks=["n"])
    sb = host.prefix + "c"
    k.addr_add(sb, "eth0", "fd34::2/64")
    shown = in_ns(sb, "ip", "-6", "addr", "show", "dev", "eth0").stdout
    assert "inet6 fd34::2/64" in shown and "tentative" not in shown  # IFA_F_NODAD: usable at once
    k.route_add(sb, "fd35::/48", via="fd34::1")
    assert "fd35::/48 via fd34::1 dev eth0 proto static" in in_ns(sb, "ip", "-6", "route").stdout
    assert k.route_del(sb, "fd35::/48", via="fd34::1") and not k.route_del(sb, "fd35::/48", via="fd34::1")
    assert k.addr_del(sb, "eth0", "fd34::2/64") and not k.addr_del(sb, "eth0", "fd34::2/64")
    assert [a for a in k.addrs(sb, socket.AF_INET6) if a["ifname"] == "eth0"] == []
