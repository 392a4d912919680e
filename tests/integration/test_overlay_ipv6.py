"""IPv6 inside overlay networks (the underlay stays IPv4): simulated hosts ('gq'
namespaces on an underlay bridge) with a real etcd and an agent each; real
IPv6 packets between sandboxes on different hosts, dual-stack and IPv6-only,
plaintext and encrypted."""

import signal
import subprocess
import uuid

import pytest

from nsnet.names import endpoint_mac

from . import overlay_fixtures
from .helpers import blocked, in_ns, sh, wait_until
from .overlay_env import Lab
from .traffic import roundtrip

etcd = overlay_fixtures.etcd
DUAL = ["10.240.0.0/24", "fd00:240::/64"]


@pytest.fixture
def lab(etcd):
    """Underlay + hosts on a fresh etcd prefix; no namespace of the lab is left afterwards."""
    lab = Lab(f"{etcd.url}/gq{uuid.uuid4().hex[:8]}", prefix="gq")
    try:
        yield lab
    finally:
        lab.destroy()
    assert lab.leftovers() == [], f"namespaces leaked: {lab.leftovers()}"


def attach(host, sandbox: str, network: str, ip=None) -> dict:
    host.engine.sandbox_create(sandbox)
    return host.engine.network_connect(network, sandbox, ip=ip)


def ping6(ns: str, ip: str, timeout: float = 15) -> bool:
    """Pings every 0.2 s until one is answered (the first waits for the agent on the other host)."""
    return in_ns(ns, "ping", "-6", "-n", "-q", "-c", "1", "-i", "0.2", "-w", str(int(timeout)), ip,
                 timeout=timeout + 10).returncode == 0


def test_dual_stack_overlay_carries_ipv6_across_hosts(lab):
    a, b = lab.add_host(), lab.add_host()
    net = a.engine.overlay_create("blue", subnet=DUAL)
    assert (net["subnet"], net["subnet6"], net["gateway6"]) == ("10.240.0.0/24", "fd00:240::/64", "fd00:240::1")
    record = a.engine.cluster.network("blue")
    assert (record["subnet6"], record["gateway6"]) == ("fd00:240::/64", "fd00:240::1")
    ep_a = attach(a, "a1", "blue")
    ep_b = attach(b, "b1", "blue")  # B's copy of 'blue' is made from the cluster's record: dual-stack too
    assert (ep_a["ip"], ep_a["ip6"], ep_b["ip"], ep_b["ip6"]) == (
        "10.240.0.2", "fd00:240::2", "10.240.0.3", "fd00:240::3")
    assert b.engine.network_inspect("blue")["subnet6"] == "fd00:240::/64"
    ns_a, ns_b = a.netns("a1"), b.netns("b1")
    assert ping6(ns_a, ep_b["ip6"]), a.agent_log() + b.agent_log()
    assert ping6(ns_b, ep_a["ip6"])
    assert ping6(ns_a, "fd00:240::1") and ping6(ns_b, "fd00:240::1")  # the gateway answers on each host
    # TCP and UDP over IPv6, no NAT inside the overlay: the server sees the client's own address
    assert roundtrip(ns_b, ns_a, ep_b["ip6"], proto="tcp") == f"PING {ep_a['ip6']}"
    assert roundtrip(ns_a, ns_b, ep_a["ip6"], proto="udp") == f"PING {ep_b['ip6']}"
    assert roundtrip(ns_b, ns_a, ep_b["ip"], proto="tcp") == f"PING {ep_a['ip']}"  # IPv4 still
    # one MAC (the IPv4 one's), one fdb entry and a neighbour entry per address towards the other VTEP
    mac = endpoint_mac(ep_a["ip"])
    vx = f"nsvx-{net['options']['vni']}"
    assert b.fdb(vx).count(f"{mac} dst {a.address} self permanent") == 1
    neigh = b.neigh(vx)
    assert f"{ep_a['ip']} lladdr {mac} PERMANENT" in neigh and f"{ep_a['ip6']} lladdr {mac} PERMANENT" in neigh
    published = {ep["sandbox"]: ep for ep in a.engine.cluster.endpoints("blue")}
    assert (published["a1"]["ip"], published["a1"]["ip6"], published["a1"]["mac"]) == (ep_a["ip"], ep_a["ip6"], mac)
    assert set(a.engine.cluster.claims("blue")) == {ep_a["ip"], ep_a["ip6"], ep_b["ip"], ep_b["ip6"]}
    assert a.engine.drift() == [] and b.engine.drift() == []
    assert any("fd00:240::1/64" in line for line in b.engine.explain("blue"))
    listing = b.cli("overlay", "ls").stdout
    assert "10.240.0.0/24,fd00:240::/64" in listing and f"{ep_a['ip']},{ep_a['ip6']}@{a.name}" in listing
    # a disconnect gives both addresses back and the other host drops both entries
    b.engine.network_disconnect("blue", "b1")
    assert set(a.engine.cluster.claims("blue")) == {ep_a["ip"], ep_a["ip6"]}
    assert wait_until(lambda: ep_b["ip6"] not in a.neigh(vx) and ep_b["ip"] not in a.neigh(vx), timeout=10)


def test_ipv6_only_overlay_across_three_hosts_and_a_host_leaving(lab):
    a, b, c = lab.add_host(), lab.add_host(), lab.add_host(ttl=2)
    net = a.engine.overlay_create("v6", subnet="fd00:241::/64")
    assert net["subnet"] is None and net["gateway6"] == "fd00:241::1"
    eps = {h.name: attach(h, f"s{h.index}", "v6") for h in (a, b, c)}
    assert all(ep["ip"] is None for ep in eps.values())
    ips = {h.name: eps[h.name]["ip6"] for h in (a, b, c)}
    assert sorted(ips.values()) == ["fd00:241::2", "fd00:241::3", "fd00:241::4"]
    for src in (a, b, c):
        for dst in (a, b, c):
            if src is not dst:
                assert ping6(src.netns(f"s{src.index}"), ips[dst.name]), f"{src.name} -> {dst.name}"
    assert roundtrip(c.netns("s3"), a.netns("s1"), ips[c.name], proto="tcp") == f"PING {ips[a.name]}"
    assert a.engine.drift() == [] and c.engine.drift() == []
    # MACs from the addresses' last 32 bits, no IPv4 anywhere in the sandboxes
    mac_c = endpoint_mac(ips[c.name])
    assert mac_c == "02:42:00:00:00:04" and mac_c in sh("ip", "-n", c.netns("s3"), "link", "show", "eth0").stdout
    assert "inet " not in sh("ip", "-n", c.netns("s3"), "addr", "show", "eth0").stdout
    vx = f"nsvx-{net['options']['vni']}"
    assert f"{ips[c.name]} lladdr {mac_c} PERMANENT" in a.neigh(vx)
    # a static address whose MAC another endpoint has is refused in one line, nothing claimed
    a.engine.sandbox_create("dup")
    with pytest.raises(Exception, match="would share its MAC"):
        a.engine.network_connect("v6", "dup", ip="fd00:241::1:0:0:2")
    assert len(a.engine.cluster.claims("v6")) == 3
    # host C leaves (its agent dies, its registration expires): A and B remove its entries
    c.stop_agent(signal.SIGKILL)
    for host in (a, b):
        assert wait_until(lambda h=host: ips[c.name] not in h.neigh(vx) and mac_c not in h.fdb(vx), timeout=20), \
            host.agent_log()
    assert blocked(a.netns("s1"), ips[c.name])
    assert ping6(a.netns("s1"), ips[b.name])  # the others still reach each other


def test_encrypted_overlay_carries_ipv6_through_the_tunnel(lab):
    a, b = lab.add_host(), lab.add_host()
    net = a.engine.overlay_create("sec", subnet=["10.242.0.0/24", "fd00:242::/64"], encrypted=True)
    assert net["mtu"] == 1390 and net["options"]["encrypted"]
    ep_a, ep_b = attach(a, "a1", "sec"), attach(b, "b1", "sec")
    assert ping6(a.netns("a1"), ep_b["ip6"]), a.agent_log() + b.agent_log()
    assert roundtrip(a.netns("a1"), b.netns("b1"), ep_a["ip6"], proto="tcp") == f"PING {ep_b['ip6']}"
    # a full-size IPv6 packet (40 bytes of header + 8 of ICMPv6) with no fragmenting crosses
    assert in_ns(a.netns("a1"), "ping", "-6", "-c", "1", "-W", "2", "-M", "do", "-s", "1342",
                 ep_b["ip6"]).returncode == 0
    vx = f"nsvx-{net['options']['vni']}"
    tunnel_b = b.engine.overlay_host()["wg"]["tunnel"]
    assert f"{endpoint_mac(ep_b['ip'])} dst {tunnel_b} self permanent" in a.fdb(vx)


def test_an_unsolicited_neighbour_advertisement_resolves_a_waiting_sandbox(lab):
    """What the agent sends after programming a remote endpoint (garp.na_frame): a
    sandbox whose solicitation went unanswered takes the address at once."""
    a = lab.add_host()
    a.engine.overlay_create("blue", subnet=DUAL)
    attach(a, "a1", "blue")
    ns, far, mac = a.netns("a1"), "fd00:240::99", "02:42:0a:f0:00:63"
    waiting = subprocess.Popen(["ip", "netns", "exec", ns, "ping", "-6", "-n", "-q", "-c", "1", "-w", "3", far],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_until(lambda: far in sh("ip", "-n", ns, "-6", "neigh", "show", far).stdout, timeout=5)
        assert "lladdr" not in sh("ip", "-n", ns, "-6", "neigh", "show", far).stdout  # nobody answered
        a.engine.kernel.neigh_announce(None, "nsbr-blue", [(far, mac), ("10.240.0.99", mac)])
        assert wait_until(lambda: f"lladdr {mac}" in sh("ip", "-n", ns, "-6", "neigh", "show", far).stdout,
                          timeout=5)
    finally:
        waiting.kill()
        waiting.wait(timeout=5)
