"""Encrypted overlays without root: option checks, the MTU figure, the pure
helpers (peers, VTEPs), the firewall guard, and the engine's plans against a
fake kernel and a SQLite cluster store (a device started with the first
encrypted network, kept once, stopped with the last; rolled back on failure)."""

import pytest

from nsnet import Engine
from nsnet.agent.view import ClusterView
from nsnet.drivers import check_options, tunnel
from nsnet.drivers.overlay import overlay_mtu
from nsnet.errors import Conflict, InvalidInput, KernelError
from nsnet.firewall import nftjson, ruleset
from nsnet.steps import Plan
from nsnet.steps.wireguard import SetTunnelPeers, StartTunnel, StopTunnel
from nsnet.topology import TopologyError, loads
from nsnet.topology.diff import network_change

from .fakes import FakeKernel

DEV = tunnel.device("/var/lib/nsnet", "100.96.0.1", 1500)


def test_options_are_the_drivers_and_checked_before_anything():
    assert check_options("overlay", {"encrypted": None}) == {"encrypted": True}
    assert check_options("overlay", {"encrypted": "false"}) == {"encrypted": False}
    assert check_options("overlay", None) == {} and check_options("bridge", {}) == {}
    with pytest.raises(InvalidInput, match="option 'encrypted' is for --driver overlay, not bridge"):
        check_options("bridge", {"encrypted": None})
    with pytest.raises(InvalidInput, match=r"unknown option 'colour' for driver 'overlay' \(known: encrypted\)"):
        check_options("overlay", {"colour": "red"})
    with pytest.raises(InvalidInput, match=r"unknown option 'x' for driver 'host' \(it takes none\)"):
        check_options("host", {"x": "1"})
    with pytest.raises(InvalidInput, match="option 'encrypted' takes true or false, not 'maybe'"):
        check_options("overlay", {"encrypted": "maybe"})


def test_the_mtu_leaves_room_for_wireguard_and_vxlan():
    assert DEV["mtu"] == 1440 and overlay_mtu(DEV["mtu"]) == 1390  # 1500 - 60 - 50
    assert overlay_mtu(tunnel.device("/s", "100.96.0.1", 9000)["mtu"]) == 8890
    assert DEV["address"] == "100.96.0.1/16" and DEV["run"] == "/var/lib/nsnet/wireguard/run"
    assert DEV["key"] == "/var/lib/nsnet/wireguard/private.key"


HOSTS = {"a": {"name": "a", "address": "10.99.0.1", "wg": {"key": "KA", "port": 51820, "tunnel": "100.96.0.1"}},
         "b": {"name": "b", "address": "10.99.0.2", "wg": {"key": "KB", "port": 51820, "tunnel": "100.96.0.2"}},
         "old": {"name": "old", "address": "10.99.0.3"}}  # no WireGuard tools there


def test_peers_and_vteps_come_from_the_live_hosts():
    assert tunnel.peers(HOSTS, "a") == {"KB": {"endpoint": "10.99.0.2:51820", "allowed_ips": "100.96.0.2/32"}}
    assert tunnel.vtep(HOSTS["b"], True) == "100.96.0.2" and tunnel.vtep(HOSTS["b"], False) == "10.99.0.2"
    assert tunnel.vtep(HOSTS["old"], True) is None and tunnel.vtep(None, False) is None
    current = {"KB": {"endpoint": "10.99.0.9:51820", "allowed_ips": "100.96.0.2/32", "rx": 5},
               "KC": {"endpoint": "10.99.0.3:51820", "allowed_ips": "100.96.0.3/32"}}
    add, remove = tunnel.peer_changes(current, tunnel.peers(HOSTS, "a"))
    assert list(add) == ["KB"] and remove == ["KC"]
    assert tunnel.peer_changes({"KB": dict(add["KB"], rx=1)}, add) == ({}, [])


def test_the_agent_view_uses_tunnel_addresses_for_encrypted_networks():
    state = {"networks": {"sec": {"name": "sec", "encrypted": True}, "pub": {"name": "pub"}},
             "hosts": HOSTS, "claims": {},
             "endpoints": {(net, ip): {"ip": ip, "mac": "m" + ip[-1], "host": host}
                           for net, ip, host in (("sec", "10.0.0.2", "b"), ("sec", "10.0.0.3", "old"),
                                                 ("pub", "10.1.0.2", "b"), ("pub", "10.1.0.3", "old"))}}
    view = ClusterView(state, "/nsnet/")
    assert view.desired("sec", "a") == {"10.0.0.2": ("m2", "100.96.0.2")}  # 'old' cannot take part
    assert view.desired("pub", "a") == {"10.1.0.2": ("m2", "10.99.0.2"), "10.1.0.3": ("m3", "10.99.0.3")}
    assert list(view.peers("a")) == ["KB"]


def test_steps_explain_as_wg_and_ip_commands():
    lines = Plan([StartTunnel(DEV), SetTunnelPeers(DEV, {"KB": {"endpoint": "10.99.0.2:51820",
                                                                  "allowed_ips": "100.96.0.2/32"}}, ["KC"]),
                  StopTunnel(DEV)]).explain()
    assert lines[0].startswith("ip link add nswg0 type wireguard  # once per host")
    assert "wireguard-go -f nswg0" in lines[0]
    assert lines[1:5] == ["wg set nswg0 listen-port 51820 private-key /var/lib/nsnet/wireguard/private.key",
                          "ip link set nswg0 mtu 1440 up", "ip addr add 100.96.0.1/16 dev nswg0",
                          "wg set nswg0 peer KC remove"]
    assert lines[5] == "wg set nswg0 peer KB endpoint 10.99.0.2:51820 allowed-ips 100.96.0.2/32"
    assert lines[6].startswith("ip link del nswg0")
    assert Plan([StartTunnel(DEV), StartTunnel(dict(DEV)), StopTunnel(DEV), StopTunnel(DEV)]).once().steps == \
        [StartTunnel(DEV), StopTunnel(DEV), StopTunnel(DEV)]  # only shared steps are kept once


def test_the_firewall_drops_tunnel_vxlan_that_did_not_come_through_wireguard():
    sec = {"name": "sec", "bridge": "nsbr-sec", "subnet": "10.230.0.0/24",
           "options": {"masquerade": True, "encrypted": True, "port": 4790, "tunnel": DEV}}
    pub = {"name": "pub", "bridge": "nsbr-pub", "subnet": "10.231.0.0/24", "options": {"port": 4789}}
    text = nftjson.render(nftjson.batch(*ruleset.rules([sec, pub, dict(sec, name="sec2", bridge="nsbr-sec2")])))
    guards = [line for line in text if "4790" in line]
    assert guards == ["nft 'add rule inet nsnet guard fib daddr type local udp dport 4790 iifname != \"nswg0\" drop "
                      "comment \"nsnet: encrypted overlays only through nswg0\"'"]
    assert not any("4790" in line for line in nftjson.render(nftjson.batch(*ruleset.rules([pub]))))


def test_topology_files_take_driver_options():
    topo = loads("name: t\nnetworks:\n  sec: {driver: overlay, subnet: 10.230.0.0/24, options: {encrypted: true}}\n")
    assert topo.networks["sec"].options == {"encrypted": True}
    row = {"driver": "overlay", "subnet": "10.230.0.0/24", "gateway": "10.230.0.1", "subnet6": None,
           "gateway6": None, "mtu": None, "bridge": "nsbr-sec", "options": {"masquerade": True}}
    assert network_change(topo.networks["sec"], row) == "encrypted False -> True"
    assert network_change(topo.networks["sec"], dict(row, options={"masquerade": True, "encrypted": True})) is None
    for text, error in (("{driver: bridge, options: {encrypted: true}}", "networks.n.options: option 'encrypted' is "
                                                                        "for --driver overlay, not bridge"),
                        ("{driver: overlay, options: [encrypted]}", "networks.n.options: expected a mapping"),
                        ("{driver: overlay, options: {encrypted: 3}}", "takes true or false")):
        with pytest.raises(TopologyError) as info:
            loads(f"name: t\nnetworks:\n  n: {text}\n")
        assert any(error in e for e in info.value.errors), info.value.errors


class WgKernel(FakeKernel):
    """A fake with an underlay (eth0 10.0.2.15, MTU 1500) and no real links."""

    def links(self, ns):
        return [{"ifname": "eth0", "mtu": 1500, "index": 2}]

    def link_exists(self, ns, ifname):
        return False

    def routes(self, ns, family=2):
        return []


@pytest.fixture
def wg_engine(tmp_path):
    def make(name="h", fail_on=None):
        k = WgKernel(fail_on)
        k.namespaces.add(name)
        eng = Engine(host_netns=name, state_dir=str(tmp_path / name), kernel=k,
                     cluster_store=f"sqlite://{tmp_path}/cluster.db")
        engines.append(eng)
        eng.overlay_host_set("10.0.2.15")
        return eng

    engines = []
    yield make
    for eng in engines:
        eng.close()


def test_a_host_needs_its_identity_and_keeps_its_tunnel_address(wg_engine):
    eng = wg_engine()
    with pytest.raises(Conflict, match="no WireGuard identity"):
        eng.overlay_create("sec", subnet="10.230.0.0/24", encrypted=True)
    assert eng.cluster.networks() == [] and eng.store.networks() == []
    wg = eng.tunnel_identity()
    assert wg == {"key": "PUBLIC-" + tunnel.key_path(eng.settings.state_dir), "port": 51820, "tunnel": "100.96.0.1"}
    assert eng.tunnel_identity() == wg and eng.overlay_host()["wg"] == wg
    assert eng.overlay_host_set("10.0.2.15")["wg"] == wg  # the agent restarting keeps it
    other = wg_engine("g")
    assert other.tunnel_identity()["tunnel"] == "100.96.0.2"


def test_the_device_comes_with_the_first_encrypted_network_and_goes_with_the_last(wg_engine):
    eng = wg_engine()
    eng.tunnel_identity()
    eng.kernel.calls.clear()
    eng.cluster.register("g", "10.0.2.16", 10, {"key": "KG", "port": 51820, "tunnel": "100.96.0.2"})
    dry = eng.overlay_create("sec", subnet="10.230.0.0/24", vni=7, encrypted=True, dry_run=True)["commands"]
    assert "ip -n h link add nsvx-7 mtu 1390 type vxlan id 7 local 100.96.0.1 dstport 4790 nolearning proxy" in dry
    assert "ip netns exec h wg set nswg0 peer KG endpoint 10.0.2.16:51820 allowed-ips 100.96.0.2/32" in dry
    assert eng.kernel.calls == [] and eng.cluster.networks() == []
    with pytest.raises(InvalidInput, match="mtu 1391 does not fit the underlay: at most 1390"):
        eng.overlay_create("sec", subnet="10.230.0.0/24", encrypted=True, mtu=1391)
    with pytest.raises(Conflict, match=r"overlaps 100\.96\.0\.0/16"):
        eng.overlay_create("sec", subnet="100.96.1.0/24", encrypted=True)
    net = eng.overlay_create("sec", subnet="10.230.0.0/24", vni=7, encrypted=True)
    assert net["mtu"] == 1390 and net["options"]["encrypted"] and net["options"]["local"] == "100.96.0.1"
    assert eng.cluster.network("sec")["encrypted"] is True
    verbs = eng.kernel.verbs()
    assert verbs.index("wg_up") < verbs.index("vxlan_add") and "wg_set_peers" in verbs
    assert eng.kernel.wg_devices["nswg0"] == {"KG": {"endpoint": "10.0.2.16:51820", "allowed_ips": "100.96.0.2/32"}}
    eng.overlay_create("sec2", subnet="10.231.0.0/24", encrypted=True)
    assert sum(line.startswith("ip -n h link add nswg0") for line in eng.explain()) == 1
    eng.network_rm("sec2")
    assert "wg_down" not in eng.kernel.verbs()  # 'sec' still needs it
    eng.network_rm("sec")
    assert eng.kernel.verbs()[-1] == "wg_down" and eng.kernel.wg_devices == {}


def test_a_failed_create_stops_the_device_it_started(wg_engine):
    eng = wg_engine(fail_on="vxlan_add")
    eng.tunnel_identity()
    with pytest.raises(KernelError):
        eng.overlay_create("sec", subnet="10.230.0.0/24", encrypted=True)
    assert eng.kernel.wg_devices == {} and "wg_down" in eng.kernel.verbs()
    assert eng.cluster.networks() == [] and eng.store.networks() == []


def test_sync_and_check_keep_the_device_to_what_the_networks_need(wg_engine):
    eng = wg_engine()
    eng.tunnel_identity()
    assert eng.tunnel_check() == [] and eng.tunnel_sync() == {"device": "nswg0", "stopped": False}
    eng.overlay_create("sec", subnet="10.230.0.0/24", encrypted=True)
    assert eng.tunnel_check() == []
    eng.kernel.wg_devices.clear()  # wireguard-go died
    assert "encrypted overlay(s) sec need nswg0" in eng.tunnel_check()[0]["problem"]
    peers = {"KG": {"endpoint": "10.0.2.16:51820", "allowed_ips": "100.96.0.2/32"}}
    assert eng.tunnel_sync(peers=peers) == {"device": "nswg0", "started": True, "added": ["KG"], "removed": []}
    assert eng.tunnel_check() == [] and eng.tunnel_sync(peers={})["removed"] == ["KG"]
    status = eng.tunnel_status()
    assert status["running"] and status["networks"] == ["sec"] and status["peers"] == []
    eng.store.remove_network("sec")  # behind the engine's back: nothing needs the device now
    assert "no encrypted overlay here needs it" in eng.tunnel_check()[0]["problem"]
    assert eng.tunnel_release() == {"stopped": True} and eng.kernel.wg_devices == {}
