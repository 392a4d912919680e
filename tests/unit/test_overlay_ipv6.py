"""IPv6 inside overlay networks without root: the engine against a fake kernel
and the SQLite cluster store, the agent's view and its own-endpoint repair."""

import time

import pytest

from nsnet import Engine
from nsnet.agent.own import reconcile_own
from nsnet.agent.program import Programmer
from nsnet.agent.view import ClusterView
from nsnet.drivers.overlay import remote_steps
from nsnet.errors import Conflict, InvalidInput
from nsnet.state.cluster.store import parse_state
from nsnet.steps import Plan

from .test_overlay import NET, EntryKernel, UnderlayKernel

P = "/nsnet/"
DUAL = ["10.210.0.0/24", "fd00:210::/64"]


class SmallUnderlay(UnderlayKernel):
    def links(self, ns):
        return [{"ifname": "eth0", "mtu": 1300, "index": 2}]


def engine(tmp_path, kernel=None) -> Engine:
    k = kernel or UnderlayKernel()
    k.namespaces.add("h")
    eng = Engine(host_netns="h", state_dir=str(tmp_path), kernel=k, cluster_store=f"sqlite://{tmp_path}/c.db")
    eng.overlay_host_set("10.0.2.15")
    return eng


@pytest.fixture
def eng(tmp_path):
    e = engine(tmp_path)
    yield e
    e.close()


def test_a_dual_stack_overlay_claims_and_publishes_both_addresses(eng):
    out = eng.overlay_create("blue", subnet=DUAL, vni=7, dry_run=True)["commands"]
    assert '"subnet6":"fd00:210::/64"' in out[0] and "ip -n h -6 addr add fd00:210::1/64 dev nsbr-blue nodad" in out
    assert eng.cluster.networks() == []
    net = eng.overlay_create("blue", subnet=DUAL, vni=7)
    assert (net["subnet6"], net["gateway6"]) == ("fd00:210::/64", "fd00:210::1")
    record = eng.cluster.network("blue")
    assert (record["subnet"], record["subnet6"], record["gateway6"]) == ("10.210.0.0/24", "fd00:210::/64",
                                                                         "fd00:210::1")
    with pytest.raises(Conflict, match=r"fd00:210::/80 overlaps overlay network 'blue' \(fd00:210::/64\)"):
        eng.cluster.check_new_network("red", "10.211.0.0/24", None, "fd00:210::/80")  # a host without a copy
    eng.sandbox_create("s1")
    dry = eng.network_connect("blue", "s1", dry_run=True)["commands"]
    assert sum("put /nsnet/ipam/blue/" in line for line in dry) == 2 and eng.cluster.claims("blue") == {}
    ep = eng.network_connect("blue", "s1")
    assert (ep["ip"], ep["ip6"]) == ("10.210.0.2", "fd00:210::2")
    assert sorted(eng.cluster.claims("blue")) == ["10.210.0.2", "fd00:210::2"]
    [published] = eng.cluster.endpoints("blue")
    assert (published["ip"], published["ip6"], published["mac"]) == ("10.210.0.2", "fd00:210::2", "02:42:0a:d2:00:02")
    eng.sandbox_create("s2")
    assert eng.network_connect("blue", "s2", ip="fd00:210::99")["ip6"] == "fd00:210::99"
    eng.sandbox_create("s3")
    with pytest.raises(Conflict, match=r"fd00:210::99 .* already taken by s2"):
        eng.network_connect("blue", "s3", ip="fd00:210::99")
    assert len(eng.cluster.claims("blue")) == 4  # the refused connect claimed nothing, not even its IPv4 address
    eng.network_disconnect("blue", "s1")
    assert sorted(eng.cluster.claims("blue")) == ["10.210.0.3", "fd00:210::99"]
    with pytest.raises(Conflict, match="1 sandbox"):
        eng.network_rm("blue")
    assert eng.network_rm("blue", force=True)["errors"] == []
    assert eng.cluster.networks() == [] and eng.cluster.claims("blue") == {}


def test_an_ipv6_only_overlay(eng):
    eng.overlay_create("v6", subnet="fd00:211::/64")
    assert eng.cluster.network("v6")["subnet"] is None
    eng.sandbox_create("s1")
    ep = eng.network_connect("v6", "s1")
    assert (ep["ip"], ep["ip6"]) == (None, "fd00:211::2")
    [published] = eng.cluster.endpoints("v6")
    assert (published["ip"], published["mac"], "ip6" in published) == ("fd00:211::2", "02:42:00:00:00:02", False)
    eng.sandbox_create("s2")
    with pytest.raises(Conflict, match="would share its MAC with fd00:211::2"):
        eng.network_connect("v6", "s2", ip="fd00:211::1:0:0:2")
    # the lowest free address whose MAC is free: ::3 is skipped while ::1:0:0:3 holds its MAC
    eng.cluster.claim("v6", "other", "x", ip="fd00:211::1:0:0:3")
    assert eng.network_connect("v6", "s2")["ip6"] == "fd00:211::4"
    with pytest.raises(InvalidInput, match="has no IPv4 subnet"):
        eng.cluster.claim_addresses("v6", "h", "y", {4: None})
    eng.overlay_create("auto", subnet="10.212.0.0/24", ipv6=True)  # --ipv6: a free unique local /64
    assert eng.cluster.network("auto")["subnet6"].endswith("::/64")
    eng.cluster.create_network({"name": "far", "subnet": None, "gateway": None, "subnet6": "fd00:213::/64",
                                "gateway6": "fd00:213::1", "vni": 99, "mtu": None})  # made on another host
    [far] = [n for n in eng.network_ls() if n["name"] == "far"]
    assert (far["driver"], far["subnet"], far["subnet6"]) == ("overlay", None, "fd00:213::/64")


def test_ipv6_needs_an_mtu_of_1280(tmp_path):
    eng = engine(tmp_path, SmallUnderlay())
    try:
        with pytest.raises(InvalidInput, match="IPv6 needs an MTU of at least 1280; this one would have 1250"):
            eng.overlay_create("v6", subnet="fd00:211::/64")
        assert eng.overlay_create("v4", subnet="10.213.0.0/24")["mtu"] == 1250  # IPv4 has no such floor
    finally:
        eng.close()


def test_the_agent_programs_both_addresses_of_a_remote_endpoint():
    view = ClusterView(parse_state(P, []), P)
    view.apply([])
    view.state["hosts"]["h2"] = {"name": "h2", "address": "10.99.0.2"}
    view.state["endpoints"][("blue", "10.0.0.2")] = {"ip": "10.0.0.2", "ip6": "fd00::2", "mac": "m2", "host": "h2"}
    view.state["endpoints"][("v6", "fd00:1::3")] = {"ip": "fd00:1::3", "mac": "m3", "host": "h2"}
    assert view.desired("blue", "h1") == {"10.0.0.2": ("m2", "10.99.0.2"), "fd00::2": ("m2", "10.99.0.2")}
    assert view.desired("v6", "h1") == {"fd00:1::3": ("m3", "10.99.0.2")}
    k = EntryKernel()
    changed, errors = Programmer(k).sync(("blue", 1), "vx", view.desired("blue", "h1"), bridge="br")
    assert (changed, errors) == (4, []) and k.fdb == {"m2": "10.99.0.2"}
    assert k.neigh == {"10.0.0.2": "m2", "fd00::2": "m2"}
    assert k.calls[-1] == ("neigh_announce", None, "br", [("10.0.0.2", "m2"), ("fd00::2", "m2")])  # one socket
    lines = Plan(remote_steps("vx", [("10.0.0.2", "m2", "d"), ("fd00::2", "m2", "d")])).explain()
    assert lines == ["bridge fdb replace m2 dev vx dst d self permanent",
                     "ip neigh replace 10.0.0.2 lladdr m2 dev vx nud permanent",
                     "ip neigh replace fd00::2 lladdr m2 dev vx nud permanent"]


def test_the_agent_republishes_and_releases_dual_stack_endpoints(tmp_path):
    eng = engine(tmp_path)
    try:
        cluster = eng.cluster
        cluster.create_network({"name": "blue", "subnet": "10.210.0.0/24", "gateway": "10.210.0.1",
                                "subnet6": "fd00:210::/64", "gateway6": "fd00:210::1", "vni": 42, "mtu": None,
                                "internal": False, "masquerade": True})
        eng.store.add_network("blue", "overlay", "10.210.0.0/24", "10.210.0.1", "nsbr-blue", 1450, NET["options"],
                              "fd00:210::/64", "fd00:210::1")
        eng.store.add_sandbox("s1", "h-s1")
        eng.store.add_endpoint("blue", "s1", "eth0", "10.210.0.5", True, None, "fd00:210::5", True)
        assert cluster.claim_addresses("blue", "h", "gone", {4: "10.210.0.9", 6: "fd00:210::9"}) == {
            4: "10.210.0.9", 6: "fd00:210::9"}
        cluster.publish({"network": "blue", "ip": "10.210.0.9", "ip6": "fd00:210::9", "mac": "m", "host": "h",
                         "vtep": "v", "sandbox": "gone"})
        host = {"name": "h", "address": "10.99.0.1"}
        state, _ = cluster.snapshot()
        assert reconcile_own(eng, ClusterView(state, cluster.prefix), host) == [
            "published s1 10.210.0.5 on blue again"]
        state, _ = cluster.snapshot()
        notes = reconcile_own(eng, ClusterView(state, cluster.prefix), host, now=time.time() + 60)
        assert notes == ["released stale 10.210.0.9 on blue (sandbox gone is not here)"]
        [ep] = cluster.endpoints("blue")
        assert (ep["ip"], ep["ip6"], ep["mac"]) == ("10.210.0.5", "fd00:210::5", "02:42:0a:d2:00:05")
        assert sorted(cluster.claims("blue")) == ["10.210.0.5", "fd00:210::5"]
    finally:
        eng.close()


def test_unsolicited_neighbour_advertisement_frame():
    import socket
    import struct

    from nsnet.kernel.garp import checksum, na_frame

    raw = na_frame(bytes.fromhex("020000000001"), "fd00::3", "02:42:00:00:00:03")
    assert raw[:6] == bytes.fromhex("333300000001") and raw[6:12] == bytes.fromhex("020000000001")
    assert raw[12:14] == b"\x86\xdd" and len(raw) == 14 + 40 + 32
    ip6, icmp = raw[14:54], raw[54:]
    assert ip6[0] >> 4 == 6 and struct.unpack("!H", ip6[4:6])[0] == 32 and ip6[6] == 58 and ip6[7] == 255
    target = socket.inet_pton(socket.AF_INET6, "fd00::3")
    assert ip6[8:24] == target and ip6[24:40] == socket.inet_pton(socket.AF_INET6, "ff02::1")
    assert icmp[0] == 136 and icmp[1] == 0 and icmp[4] == 0x20  # override, neither solicited nor router
    assert icmp[8:24] == target and icmp[24:26] == b"\x02\x01" and icmp[26:32] == bytes.fromhex("024200000003")
    pseudo = ip6[8:40] + struct.pack("!I3xB", 32, 58)
    assert checksum(pseudo + icmp) == 0  # a valid checksum sums to 0xffff
