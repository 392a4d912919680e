"""One contract, two cluster stores: etcd v3 (a real etcd on 127.0.0.1) and the
embedded SQLite one must behave the same."""

import threading
import time
import uuid

import pytest

from nsnet.errors import Conflict, InvalidInput, NotFound
from nsnet.state.cluster import ClusterUnavailable, open_store

from . import overlay_fixtures
from .etcd_server import free_port

etcd = overlay_fixtures.etcd


@pytest.fixture(params=["etcd", "sqlite"])
def opener(request, tmp_path):
    """A function returning a new client of one fresh store (same store each call)."""
    if request.param == "etcd":
        url = f"{request.getfixturevalue('etcd').url}/nvc{uuid.uuid4().hex[:8]}"
    else:
        url = f"sqlite://{tmp_path}/cluster.db"
    clients = []

    def open_client():
        clients.append(open_store(url))
        return clients[-1]

    yield open_client
    for client in clients:
        client.close()


@pytest.fixture
def store(opener):
    return opener()


def net(name="blue", subnet="10.210.0.0/24", vni=42, **kw):
    return dict({"name": name, "subnet": subnet, "gateway": subnet.rsplit(".", 1)[0] + ".1", "vni": vni,
                 "mtu": None, "internal": False, "masquerade": True}, **kw)


def test_network_create_get_list(store):
    assert store.networks() == []
    store.create_network(net())
    store.create_network(net("red", "10.211.0.0/24", 43))
    assert store.network("blue")["vni"] == 42
    assert [n["name"] for n in store.networks()] == ["blue", "red"]
    assert store.network("nope") is None


def test_network_rules(store):
    store.create_network(net())
    with pytest.raises(Conflict, match="already exists"):
        store.create_network(net(subnet="10.212.0.0/24", vni=50))
    with pytest.raises(Conflict, match="VNI 42 is taken by network 'blue'"):
        store.create_network(net("red", "10.211.0.0/24", 42))
    with pytest.raises(Conflict, match="overlaps overlay network 'blue'"):
        store.create_network(net("red", "10.210.0.128/25", 43))
    with pytest.raises(InvalidInput, match="out of range"):
        store.create_network(net("red", "10.211.0.0/24", 1 << 24))
    assert [n["name"] for n in store.networks()] == ["blue"]
    assert store.free_vni() == 4096


def test_claims_are_lowest_free_unique_and_released(store):
    store.create_network(net())
    assert [store.claim("blue", "h1", f"s{i}") for i in range(3)] == ["10.210.0.2", "10.210.0.3", "10.210.0.4"]
    store.release("blue", "10.210.0.3")
    assert store.claim("blue", "h2", "x") == "10.210.0.3"
    assert store.claim("blue", "h2", "y", ip="10.210.0.100") == "10.210.0.100"
    with pytest.raises(Conflict, match=r"10.210.0.100 .* already taken by y on host h2"):
        store.claim("blue", "h1", "z", ip="10.210.0.100")
    with pytest.raises(NotFound):
        store.claim("nope", "h1", "z")
    assert store.claims("blue")["10.210.0.2"]["host"] == "h1"


def test_subnet_exhaustion(store):
    store.create_network(net(subnet="10.220.0.0/30"))
    assert store.claim("blue", "h", "a") == "10.220.0.2"
    with pytest.raises(Conflict, match="no free addresses"):
        store.claim("blue", "h", "b")


def test_concurrent_claims_from_many_clients_are_distinct(opener):
    opener().create_network(net())
    got, errors = [], []

    def worker(i):
        client = opener()
        try:
            for j in range(5):
                got.append(client.claim("blue", f"h{i}", f"s{i}-{j}"))
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert len(got) == 20 and len(set(got)) == 20


def test_publish_needs_a_claim_and_release_forgets_both(store):
    store.create_network(net())
    ep = {"network": "blue", "ip": "10.210.0.9", "mac": "02:42:0a:d2:00:09", "host": "h1", "vtep": "10.99.0.1",
          "sandbox": "s"}
    with pytest.raises(Conflict, match="not claimed"):
        store.publish(ep)
    store.claim("blue", "h1", "s", ip="10.210.0.9")
    store.publish(ep)
    assert [e["mac"] for e in store.endpoints("blue")] == ["02:42:0a:d2:00:09"]
    assert len(store.endpoints()) == 1
    store.release("blue", "10.210.0.9")
    assert store.endpoints("blue") == [] and store.claims("blue") == {}


def test_dual_stack_and_ipv6_only_networks(store):
    store.create_network(net(subnet6="fd00:210::/64", gateway6="fd00:210::1"))
    with pytest.raises(Conflict, match=r"fd00:210::/80 overlaps overlay network 'blue' \(fd00:210::/64\)"):
        store.create_network(net("red", "10.211.0.0/24", 43, subnet6="fd00:210::/80", gateway6="fd00:210::1"))
    store.create_network(dict(net("v6", vni=44), subnet=None, gateway=None, subnet6="fd00:211::/64",
                              gateway6="fd00:211::1"))  # IPv6-only: no IPv4 subnet to overlap
    # a dual-stack endpoint's two addresses are claimed together, lowest free of each family
    assert store.claim_addresses("blue", "h1", "a", {4: None, 6: None}) == {4: "10.210.0.2", 6: "fd00:210::2"}
    with pytest.raises(Conflict, match=r"fd00:210::2 .* already taken by a on host h1"):
        store.claim_addresses("blue", "h2", "b", {4: None, 6: "fd00:210::2"})
    assert sorted(store.claims("blue")) == ["10.210.0.2", "fd00:210::2"]  # nothing of the refused one
    ep = {"network": "blue", "ip": "10.210.0.3", "ip6": "fd00:210::3", "mac": "m", "host": "h2", "vtep": "v",
          "sandbox": "b"}
    store.claim("blue", "h2", "b", ip="10.210.0.3")
    with pytest.raises(Conflict, match="not claimed"):
        store.publish(ep)  # its IPv6 address is not claimed
    assert store.claim("blue", "h2", "b", ip="fd00:210::3") == "fd00:210::3"
    store.publish(ep)
    assert [(e["ip"], e["ip6"]) for e in store.endpoints("blue")] == [("10.210.0.3", "fd00:210::3")]
    store.release("blue", "10.210.0.3", "fd00:210::3")
    assert store.endpoints("blue") == [] and sorted(store.claims("blue")) == ["10.210.0.2", "fd00:210::2"]
    assert store.delete_network("blue", ["10.210.0.2", "fd00:210::2"]) is True
    assert store.claim("v6", "h1", "c") == "fd00:211::2"  # the network's only family
    with pytest.raises(Conflict, match="would share its MAC with fd00:211::2"):
        store.claim("v6", "h1", "d", ip="fd00:211::9:0:0:2")


def test_delete_network_refused_while_others_claim(store):
    store.create_network(net())
    mine = store.claim("blue", "h1", "a")
    store.claim("blue", "h2", "b")
    with pytest.raises(Conflict, match="still has 1 endpoint"):
        store.delete_network("blue", [mine])
    store.release("blue", "10.210.0.3")
    assert store.delete_network("blue", [mine]) is True
    assert store.network("blue") is None and store.claims("blue") == {}
    assert store.delete_network("blue") is False
    store.create_network(net(vni=42))  # name and VNI are free again


def test_hosts_live_under_a_lease(store):
    lease = store.register("h1", "10.99.0.1", ttl=1)
    assert store.hosts()["h1"]["address"] == "10.99.0.1"
    for _ in range(3):
        time.sleep(0.4)
        assert store.keepalive(lease)
    assert "h1" in store.hosts()
    deadline = time.monotonic() + 6
    while "h1" in store.hosts() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "h1" not in store.hosts()
    assert not store.keepalive(lease)
    lease = store.register("h2", "10.99.0.2", ttl=30)
    store.unregister(lease)
    assert "h2" not in store.hosts()


def test_snapshot_then_watch_sees_every_change(opener):
    store, other = opener(), opener()
    store.create_network(net())
    state, rev = store.snapshot()
    assert list(state["networks"]) == ["blue"]
    watch = store.watch(rev + 1)
    try:
        ip = other.claim("blue", "h2", "b")
        other.publish({"network": "blue", "ip": ip, "mac": "m", "host": "h2", "vtep": "v", "sandbox": "b"})
        other.release("blue", ip)
        seen = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and len([e for e in seen if "/endpoints/" in e.key]) < 2:
            seen += watch.next(0.5)
        kinds = [(e.type, e.key.split("/")[-3]) for e in seen if "/endpoints/" in e.key or "/ipam/" in e.key]
        assert kinds[0] == ("put", "ipam") and ("put", "endpoints") in kinds and ("delete", "endpoints") in kinds
    finally:
        watch.cancel()


def test_expiry_is_a_delete_event(store):
    _, rev = store.snapshot()
    store.register("h9", "10.99.0.9", ttl=1)
    watch = store.watch(rev + 1)
    try:
        seen = []
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and not any(e.type == "delete" for e in seen):
            seen += watch.next(0.5)
        assert [e.type for e in seen if e.key.endswith("/hosts/h9")] == ["put", "delete"]
    finally:
        watch.cancel()


def test_prefixes_keep_stores_apart(etcd):
    one, two = open_store(f"{etcd.url}/nva{uuid.uuid4().hex[:6]}"), open_store(f"{etcd.url}/nvb{uuid.uuid4().hex[:6]}")
    try:
        one.create_network(net())
        assert two.networks() == []
        two.create_network(net())  # same name and VNI in another prefix
    finally:
        one.close()
        two.close()


def test_unreachable_etcd_is_one_clear_line():
    store = open_store(f"etcd://127.0.0.1:{free_port()}")
    with pytest.raises(ClusterUnavailable, match=r"cannot reach etcd at 127.0.0.1:\d+ \(connection refused\)"):
        store.networks()
    with pytest.raises(ClusterUnavailable):
        store.claim("blue", "h", "s")

