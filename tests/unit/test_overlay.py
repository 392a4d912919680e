"""Overlay networks without root: the pure parts (names, MTU, MACs, explain
output, the agent's diff and view, the cluster store on SQLite) and the
engine's validation against a fake kernel."""

import time

import pytest

from nsnet import Engine
from nsnet.agent.own import reconcile_own
from nsnet.agent.program import Programmer, diff
from nsnet.agent.view import ClusterView
from nsnet.drivers.overlay import OverlayDriver, endpoint_mac, overlay_mtu, vxlan_name
from nsnet.errors import Conflict, InvalidInput
from nsnet.state.cluster import parse_url
from nsnet.state.cluster.kv import Delete, Event, Put, absent, unchanged
from nsnet.state.cluster.sqlite import SqliteKV
from nsnet.state.cluster.store import check_vni, parse_key, parse_state, pick_vni
from nsnet.steps import Plan
from nsnet.steps.overlay import AddFdb, AddNeigh, CreateVxlan, DeleteFdb, DeleteNeigh

from .fakes import FakeKernel

P = "/nsnet/"


def test_names_macs_and_mtu():
    assert vxlan_name(16777215) == "nsvx-16777215" and len(vxlan_name(16777215)) <= 15
    assert endpoint_mac("10.210.0.2") == "02:42:0a:d2:00:02"
    assert overlay_mtu(1500) == 1450 and overlay_mtu(9000, 1400) == 1400 and overlay_mtu(1400, 1500) == 1350


def test_vni_rules():
    assert check_vni("42") == 42
    for bad in (0, -1, 1 << 24, "x", None):
        with pytest.raises(InvalidInput):
            check_vni(bad)
    assert pick_vni([]) == 4096 and pick_vni([4096, 4097, 5000]) == 4098


def test_store_urls():
    assert parse_url("etcd://127.0.0.1:2379") == ("etcd", {"host": "127.0.0.1", "port": 2379, "prefix": "/nsnet/"})
    assert parse_url("etcd://etcd.lan:2379/lab/")[1]["prefix"] == "/lab/"
    assert parse_url("sqlite:///var/lib/x.db") == ("sqlite", {"path": "/var/lib/x.db", "prefix": "/nsnet/"})
    for bad in ("", "etcd://host", "http://127.0.0.1:2379", "etcd://h:99999", "sqlite://"):
        with pytest.raises(InvalidInput):
            parse_url(bad)


NET = {"name": "blue", "driver": "overlay", "subnet": "10.210.0.0/24", "gateway": "10.210.0.1",
       "bridge": "nsbr-blue", "mtu": 1450,
       "options": {"vni": 42, "vxlan": "nsvx-42", "local": "10.99.0.1", "port": 4789}}


def test_driver_plans_explain_as_iproute2():
    drv = OverlayDriver()
    lines = Plan(drv.plan_create(NET)).explain()
    assert lines[0].startswith("ip link add nsbr-blue mtu 1450 address 02:") and lines[0].endswith(" type bridge")
    assert lines[1:] == [
        "ip link set nsbr-blue addrgenmode none",
        "ip link set nsbr-blue up",
        "ip addr add 10.210.0.1/24 dev nsbr-blue",
        "ip link add nsvx-42 mtu 1450 type vxlan id 42 local 10.99.0.1 dstport 4789 nolearning proxy",
        "ip link set nsvx-42 master nsbr-blue up"]
    ep = {"host_ifname": "nsv1", "ifname": "eth0", "ip": "10.210.0.2"}
    lines = Plan(drv.plan_connect(NET, ep, "sb", (4,))).explain()
    assert "type veth peer name eth0 mtu 1450 address 02:42:0a:d2:00:02 netns sb" in lines[0]
    assert lines[-1] == "ip -n sb route add default via 10.210.0.1 proto static"
    assert Plan(drv.plan_remove(NET)).explain() == ["ip link del nsvx-42", "ip link del nsbr-blue"]


def test_entry_steps_explain_and_undo():
    assert AddFdb("vx", "02:42:0a:00:00:02", "10.99.0.2").explain() == [
        "bridge fdb replace 02:42:0a:00:00:02 dev vx dst 10.99.0.2 self permanent"]
    assert AddNeigh("vx", "10.0.0.2", "m").explain() == ["ip neigh replace 10.0.0.2 lladdr m dev vx nud permanent"]
    assert DeleteFdb("vx", "m", "d").explain() == ["bridge fdb del m dev vx dst d self",
                                                   "bridge fdb del m dev vx master"]
    assert DeleteNeigh("vx", "10.0.0.2").explain() == ["ip neigh del 10.0.0.2 dev vx"]
    assert CreateVxlan("vx", 7, "10.0.0.1").kind == "vxlan_add"


def test_gratuitous_arp_frame():
    from nsnet.kernel.garp import frame

    raw = frame(bytes.fromhex("020000000001"), "10.210.0.2", "02:42:0a:d2:00:02")
    assert raw[:6] == b"\xff" * 6 and raw[6:12] == bytes.fromhex("020000000001") and raw[12:14] == b"\x08\x06"
    assert raw[20:22] == b"\x00\x02"  # a reply: the VXLAN proxy leaves it alone
    assert raw[22:28] == bytes.fromhex("02420ad20002") and raw[28:32] == bytes([10, 210, 0, 2]) == raw[38:42]
    assert len(raw) == 42


def test_agent_diff():
    desired = {"10.0.0.2": ("m2", "h2"), "10.0.0.3": ("m3", "h3")}
    steps = diff("vx", desired, fdb={"m2": "h2", "m3": "old", "m9": "h9"}, neigh={"10.0.0.2": "m2", "10.0.0.9": "m9"})
    assert [type(s).__name__ + ":" + (getattr(s, "ip", None) or s.mac) for s in steps] == [
        "AddFdb:m3", "AddNeigh:10.0.0.3", "DeleteNeigh:10.0.0.9", "DeleteFdb:m9"]
    assert diff("vx", desired, {"m2": "h2", "m3": "h3"}, {"10.0.0.2": "m2", "10.0.0.3": "m3"}) == []


class EntryKernel(FakeKernel):
    def __init__(self):
        super().__init__()
        self.fdb, self.neigh = {}, {}

    def fdb_entries(self, ns, ifname):
        return dict(self.fdb)

    def neigh_entries(self, ns, ifname):
        return dict(self.neigh)

    def fdb_replace(self, ns, ifname, mac, dst):
        self._call("fdb_replace", mac, dst)
        self.fdb[mac] = dst

    def fdb_del(self, ns, ifname, mac, dst=None, master=False):
        self._call("fdb_del", mac, master)
        return self.fdb.pop(mac, None) is not None if not master else True

    def neigh_replace(self, ns, ifname, ip, mac):
        self._call("neigh_replace", ip, mac)
        self.neigh[ip] = mac

    def neigh_remove(self, ns, ifname, ip):
        self._call("neigh_remove", ip)
        return self.neigh.pop(ip, None) is not None


def test_programmer_reads_the_kernel_once_then_tracks_what_it_did():
    k = EntryKernel()
    k.fdb, k.neigh = {"stale": "h9"}, {"10.0.0.9": "stale"}
    prog = Programmer(k)
    assert prog.sync(("blue", 1), "vx", {"10.0.0.2": ("m2", "h2")}) == (4, [])
    assert k.fdb == {"m2": "h2"} and k.neigh == {"10.0.0.2": "m2"}
    k.calls.clear()
    assert prog.sync(("blue", 1), "vx", {"10.0.0.2": ("m2", "h2")}) == (0, [])
    assert k.calls == []
    k.fdb.clear()  # changed behind the agent's back: found by a resync (read_kernel)
    assert prog.sync(("blue", 1), "vx", {"10.0.0.2": ("m2", "h2")}, read_kernel=True) == (1, [])
    k.neigh.clear()
    assert prog.sync(("blue", 1), "vx", {"10.0.0.2": ("m2", "h2")}, read_kernel=True, bridge="br") == (2, [])
    assert k.calls[-1] == ("neigh_announce", None, "br", [("10.0.0.2", "m2")])


def test_cluster_view_follows_events_and_ignores_dead_hosts():
    state = parse_state(P, [])
    view = ClusterView(state, P)
    ep = '{"network":"blue","ip":"10.0.0.2","mac":"m2","host":"h2","vtep":"x","sandbox":"s"}'
    changes = view.apply([Event("put", P + "networks/blue", '{"name":"blue","vni":42}', 2),
                          Event("put", P + "endpoints/blue/10.0.0.2", ep, 3),
                          Event("put", P + "ipam/blue/10.0.0.2", '{"host":"h2"}', 3)])
    assert changes.networks == {"blue"} and changes.endpoints == {"blue"} and not changes.hosts
    assert view.desired("blue", "h1") == {}  # h2 is not registered (alive)
    assert view.apply([Event("put", P + "hosts/h2", '{"name":"h2","address":"10.99.0.2"}', 4)]).hosts
    assert view.desired("blue", "h1") == {"10.0.0.2": ("m2", "10.99.0.2")}
    assert view.desired("blue", "h2") == {}  # never its own endpoints
    view.apply([Event("delete", P + "hosts/h2", None, 5)])
    assert view.desired("blue", "h1") == {}
    assert parse_key(P, P + "endpoints/blue/10.0.0.2") == ("endpoints", ("blue", "10.0.0.2"))
    assert parse_key(P, P + "endpoints/blue") is None and parse_key(P, "/other/x") is None


def test_sqlite_kv_compares_leases_and_watch(tmp_path):
    kv = SqliteKV(str(tmp_path / "c.db"))
    try:
        assert kv.txn([absent("/a")], [Put("/a", "1")]) and not kv.txn([absent("/a")], [Put("/a", "2")])
        item = kv.get("/a")
        assert kv.txn([unchanged("/a", item)], [Put("/a", "2"), Delete("/b")])
        assert not kv.txn([unchanged("/a", item)], [Put("/a", "3")])
        items, rev = kv.range("/")
        assert [(i.key, i.value) for i in items] == [("/a", "2")] and rev == item.mod + 1
        watch = kv.watch("/", rev + 1)
        lease = kv.grant(1)
        kv.txn([], [Put("/h", "x", lease)])
        assert kv.keepalive(lease) == 1
        time.sleep(1.2)
        seen = []
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and len(seen) < 2:
            seen += watch.next(0.2)
        assert [(e.type, e.key) for e in seen] == [("put", "/h"), ("delete", "/h")]
        assert kv.keepalive(lease) == -1
        assert "put /x" in kv.describe("put", "/x", "v")
    finally:
        kv.close()


def test_agent_republishes_local_endpoints_and_releases_stale_ones(tmp_path):
    eng = Engine(host_netns="h", state_dir=str(tmp_path), kernel=FakeKernel(),
                 cluster_store=f"sqlite://{tmp_path}/cluster.db")
    try:
        cluster = eng.cluster
        cluster.create_network({"name": "blue", "subnet": "10.210.0.0/24", "gateway": "10.210.0.1", "vni": 42,
                                "mtu": None, "internal": False, "masquerade": True})
        eng.store.add_network("blue", "overlay", "10.210.0.0/24", "10.210.0.1", "nsbr-blue", 1450, NET["options"])
        eng.store.add_sandbox("s1", "h-s1")
        eng.store.add_endpoint("blue", "s1", "eth0", "10.210.0.5", True)
        cluster.claim("blue", "h", "gone", ip="10.210.0.9")  # a crash between claim and commit
        host = {"name": "h", "address": "10.99.0.1"}
        state, _ = cluster.snapshot()
        notes = reconcile_own(eng, ClusterView(state, cluster.prefix), host)
        assert notes == ["published s1 10.210.0.5 on blue again"]  # the claim is too young to be stale
        state, _ = cluster.snapshot()
        notes = reconcile_own(eng, ClusterView(state, cluster.prefix), host, now=time.time() + 60)
        assert notes == ["released stale 10.210.0.9 on blue (sandbox gone is not here)"]
        assert [e["ip"] for e in cluster.endpoints("blue")] == ["10.210.0.5"]
        assert sorted(cluster.claims("blue")) == ["10.210.0.5"]
    finally:
        eng.close()


class UnderlayKernel(EntryKernel):
    def vxlan_add(self, ns, ifname, vni, local, port=4789, mtu=None, master=None):
        self._call("vxlan_add", ifname, vni, local)

    def links(self, ns):
        return [{"ifname": "eth0", "mtu": 1500, "index": 2}]

    def link_exists(self, ns, ifname):
        return False

    def routes(self, ns, family=2):
        return []


@pytest.fixture
def overlay_engine(tmp_path):
    k = UnderlayKernel()
    k.namespaces.add("h")
    eng = Engine(host_netns="h", state_dir=str(tmp_path), kernel=k, cluster_store=f"sqlite://{tmp_path}/c.db")
    yield eng
    eng.close()


def test_engine_validation_without_root(overlay_engine):
    eng = overlay_engine
    with pytest.raises(Conflict, match="no advertise address"):
        eng.overlay_create("blue", subnet="10.210.0.0/24")
    with pytest.raises(InvalidInput, match=r"10\.0\.2\.99 is not an address of namespace h"):
        eng.overlay_host_set("10.0.2.99")
    assert eng.overlay_host_set("10.0.2.15")["name"] == "h"
    with pytest.raises(InvalidInput, match="VNI 0 is out of range"):
        eng.overlay_create("blue", subnet="10.210.0.0/24", vni=0)
    with pytest.raises(InvalidInput, match="mtu 1451 does not fit the underlay"):
        eng.overlay_create("blue", subnet="10.210.0.0/24", mtu=1451)
    out = eng.overlay_create("blue", subnet="10.210.0.0/24", vni=7, dry_run=True)["commands"]
    assert out[0].startswith("# cluster store") and "put /nsnet/networks/blue" in out[0]
    assert "ip -n h link add nsvx-7 mtu 1450 type vxlan id 7 local 10.0.2.15 dstport 4789 nolearning proxy" in out
    assert eng.cluster.networks() == [] and eng.store.networks() == []
    eng.overlay_create("blue", subnet="10.210.0.0/24", vni=7)
    assert [n["vni"] for n in eng.cluster.networks()] == [7]
    assert eng.store.network("blue")["options"]["vxlan"] == "nsvx-7"
    with pytest.raises(Conflict, match="VNI 7 is taken by network 'blue'"):
        eng.overlay_create("red", subnet="10.211.0.0/24", vni=7)
    with pytest.raises(Conflict, match="overlaps network 'blue'"):
        eng.overlay_create("red", subnet="10.210.0.0/16")
    eng.sandbox_create("s1")
    ep = eng.network_connect("blue", "s1")
    assert ep["ip"] == "10.210.0.2" and [e["mac"] for e in eng.cluster.endpoints("blue")] == ["02:42:0a:d2:00:02"]
    eng.network_disconnect("blue", "s1")
    assert eng.cluster.claims("blue") == {}
    assert eng.network_rm("blue")["errors"] == []
    assert eng.cluster.networks() == [] and eng.store.networks() == []
