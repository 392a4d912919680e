"""Overlay networks across simulated hosts (namespaces on an underlay bridge),
with a real etcd and one `nsnet agent` per host: real traffic across hosts."""

import json
import time

from nsnet.drivers.overlay import endpoint_mac

from . import overlay_fixtures
from .helpers import blocked, in_ns, ping, sh
from .overlay_env import bulk_transfer, wait_ping
from .traffic import roundtrip

etcd, etcd_url, lab = overlay_fixtures.etcd, overlay_fixtures.etcd_url, overlay_fixtures.lab


def test_cross_host_ping_tcp_udp(lab):
    a, b = lab.add_host(), lab.add_host()
    created = a.engine.overlay_create("blue", subnet="10.210.0.0/24")
    assert created["driver"] == "overlay" and created["mtu"] == 1450
    vni = created["options"]["vni"]
    assert vni == 4096
    ip_a = a.sandbox("a1", "blue")
    # visible from every host using the same store, before it has a local copy
    assert [(n["name"], n["driver"]) for n in json.loads(b.cli("--json", "network", "ls").stdout)] == \
        [("blue", "overlay")]
    ip_b = b.sandbox("b1", "blue")  # B has no copy of 'blue' yet: made on this first connect
    assert wait_ping(a.netns("a1"), ip_b, timeout=15) is not None
    assert ping(b.netns("b1"), ip_a)
    # no NAT inside the overlay: the server sees the client's own address
    assert roundtrip(b.netns("b1"), a.netns("a1"), ip_b, proto="tcp") == f"PING {ip_a}"
    assert roundtrip(a.netns("a1"), b.netns("b1"), ip_a, proto="udp") == f"PING {ip_b}"
    # deterministic MACs, static fdb + neighbour entries towards the other VTEP
    assert endpoint_mac(ip_a) in sh("ip", "-n", a.netns("a1"), "link", "show", "eth0").stdout
    vx = f"nsvx-{vni}"
    assert f"{endpoint_mac(ip_a)} dst {a.address} self permanent" in b.fdb(vx)
    assert f"{ip_a} lladdr {endpoint_mac(ip_a)} PERMANENT" in b.neigh(vx)
    details = sh("ip", "-n", b.name, "-d", "link", "show", vx).stdout
    assert f"vxlan id {vni} local {b.address}" in details and "nolearning" in details and "proxy" in details
    assert "master nsbr-blue" in details
    # no flooding entry (00:00:00:00:00:00) and the gateway is answered locally on each host
    assert "00:00:00:00:00:00" not in a.fdb(vx) + b.fdb(vx)
    assert ping(a.netns("a1"), "10.210.0.1") and ping(b.netns("b1"), "10.210.0.1")
    # what the store says exists is in the kernel (doctor finds no drift)
    assert a.engine.drift() == [] and b.engine.drift() == []
    assert any("type vxlan id" in line for line in b.engine.explain("blue"))
    # the network is visible from B, as the cluster sees it
    listing = json.loads(b.cli("--json", "overlay", "ls").stdout)
    assert [(n["name"], n["vni"], len(n["endpoints"])) for n in listing] == [("blue", vni, 2)]


def test_mtu_follows_the_underlay_and_large_transfers_work(lab):
    a, b = lab.add_host(), lab.add_host()
    for host in (a, b):
        host.set_underlay_mtu(1400)
    net = a.engine.overlay_create("blue", subnet="10.210.0.0/24", vni=77)
    assert net["mtu"] == 1350
    ip_a, ip_b = a.sandbox("a1", "blue"), b.sandbox("b1", "blue")
    for host, sandbox in ((a, "a1"), (b, "b1")):
        assert "mtu 1350" in sh("ip", "-n", host.netns(sandbox), "link", "show", "eth0").stdout
        assert "mtu 1350" in sh("ip", "-n", host.name, "link", "show", "nsvx-77").stdout
    assert wait_ping(a.netns("a1"), ip_b, timeout=15) is not None
    # a full-size packet with DF set crosses; one byte more does not fit the sandbox MTU
    assert in_ns(a.netns("a1"), "ping", "-c", "1", "-W", "2", "-M", "do", "-s", "1322", ip_b).returncode == 0
    size = 20 * 1024 * 1024
    assert bulk_transfer(b.netns("b1"), a.netns("a1"), ip_b, size) == size
    assert bulk_transfer(a.netns("a1"), b.netns("b1"), ip_a, size, port=5602) == size


def test_two_overlays_and_a_bridge_stay_isolated(lab):
    a, b = lab.add_host(), lab.add_host()
    a.engine.overlay_create("blue", subnet="10.210.0.0/24")
    a.engine.overlay_create("red", subnet="10.211.0.0/24")
    a.engine.network_create("lan", subnet="10.212.0.0/24", dns=False)
    blue_a, red_a, lan_a = a.sandbox("a1", "blue"), a.sandbox("a2", "red"), a.sandbox("a3", "lan")
    blue_b, red_b = b.sandbox("b1", "blue"), b.sandbox("b2", "red")
    assert wait_ping(a.netns("a1"), blue_b, timeout=15) is not None
    assert wait_ping(a.netns("a2"), red_b, timeout=15) is not None
    for src, dst in (("a1", red_b), ("a1", red_a), ("a2", blue_b), ("a2", blue_a), ("a1", lan_a), ("a3", blue_a)):
        assert blocked(a.netns(src), dst), f"{src} reached {dst} across networks"
    assert blocked(b.netns("b1"), red_b) and blocked(b.netns("b2"), blue_b)
    # both overlay bridges are in the firewall's bridges set on each host
    out = sh("ip", "netns", "exec", a.name, "nft", "-j", "list", "set", "inet", "nsnet", "bridges").stdout
    assert {"nsbr-blue", "nsbr-red", "nsbr-lan"} <= set(json.loads(out)["nftables"][1]["set"]["elem"])


def test_outbound_nat_leaves_through_the_local_host(lab):
    a, b = lab.add_host(), lab.add_host()
    a.engine.overlay_create("blue", subnet="10.210.0.0/24")
    a.engine.overlay_create("sealed", subnet="10.213.0.0/24", internal=True)
    out_a, out_b = lab.outside(a, "10.77.1"), lab.outside(b, "10.77.2")
    a.sandbox("a1", "blue")
    b.sandbox("b1", "blue")
    a.sandbox("a9", "sealed")
    # each sandbox leaves through its own host, masqueraded to that host's address
    assert roundtrip(out_a, a.netns("a1"), "10.77.1.2") == "PING 10.77.1.1"
    assert roundtrip(out_b, b.netns("b1"), "10.77.2.2") == "PING 10.77.2.1"
    assert blocked(b.netns("b1"), "10.77.1.2")  # A's outside is not B's: no hairpin through A
    assert blocked(a.netns("a9"), "10.77.1.2")  # internal overlay: nothing leaves


def test_third_host_joins_later(lab):
    """(How soon it is reached is bench/overlay.py's to measure, not a test's.)"""
    a, b = lab.add_host(), lab.add_host()
    a.engine.overlay_create("blue", subnet="10.210.0.0/24")
    ip_a, ip_b = a.sandbox("a1", "blue"), b.sandbox("b1", "blue")
    assert wait_ping(a.netns("a1"), ip_b, timeout=15) is not None
    c = lab.add_host()
    ip_c = c.sandbox("c1", "blue")
    took = [wait_ping(a.netns("a1"), ip_c, timeout=15), wait_ping(b.netns("b1"), ip_c, timeout=15)]
    assert all(t is not None for t in took), c.agent_log()
    assert ping(c.netns("c1"), ip_a) and ping(c.netns("c1"), ip_b)


def test_an_endpoint_that_leaves_is_removed_everywhere(lab):
    a, b = lab.add_host(), lab.add_host()
    vni = a.engine.overlay_create("blue", subnet="10.210.0.0/24")["options"]["vni"]
    ip_1, ip_2 = a.sandbox("a1", "blue"), a.sandbox("a2", "blue")
    b.sandbox("b1", "blue")
    assert wait_ping(b.netns("b1"), ip_1, timeout=15) is not None
    vx, mac = f"nsvx-{vni}", endpoint_mac(ip_1)
    a.engine.network_disconnect("blue", "a1")
    assert wait_gone(lambda: mac in b.fdb(vx) or ip_1 in b.neigh(vx))
    assert ip_1 not in a.engine.cluster.claims("blue")
    assert blocked(b.netns("b1"), ip_1)
    assert ping(b.netns("b1"), ip_2)
    a.engine.sandbox_rm("a2")  # removing the sandbox takes its endpoint along
    assert wait_gone(lambda: endpoint_mac(ip_2) in b.fdb(vx))
    assert [ep["ip"] for ep in a.engine.cluster.endpoints("blue")] == [b.engine.store.endpoint("blue", "b1")["ip"]]


def wait_gone(still_there, timeout=10.0) -> bool:
    """Bounded: the other host's agent may be slow on a busy machine."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and still_there():
        time.sleep(0.02)
    return not still_there()
