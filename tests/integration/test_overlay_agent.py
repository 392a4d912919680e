"""The agent: resync after its own crash and after an etcd restart, hosts that
go away, clean exits."""

import signal
import time
import uuid

import pytest

from nsnet.drivers.overlay import endpoint_mac
from nsnet.state.cluster import ClusterUnavailable

from . import overlay_fixtures
from .helpers import blocked, ping
from .overlay_env import Lab, wait_ping

etcd, etcd_url, lab, own_etcd = (overlay_fixtures.etcd, overlay_fixtures.etcd_url, overlay_fixtures.lab,
                                 overlay_fixtures.own_etcd)


def wait_for(predicate, timeout=15.0) -> bool:
    """Until another host's agent has done something: a generous bound (a busy
    machine), left as soon as it is done."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def two_hosts(lab, ttl=3):
    a, b = lab.add_host(ttl=ttl), lab.add_host(ttl=ttl)
    vni = a.engine.overlay_create("blue", subnet="10.210.0.0/24")["options"]["vni"]
    ip_a, ip_b = a.sandbox("a1", "blue"), b.sandbox("b1", "blue")
    assert wait_ping(a.netns("a1"), ip_b, timeout=15) is not None
    return a, b, ip_a, ip_b, f"nsvx-{vni}"


def test_agent_killed_and_restarted_resyncs(lab):
    a, b, ip_a, ip_b, vx = two_hosts(lab)
    b.stop_agent(signal.SIGKILL)
    # while B's agent is dead: a new endpoint on A, and a1 leaves
    ip_a2 = a.sandbox("a2", "blue")
    a.engine.network_disconnect("blue", "a1")
    assert blocked(b.netns("b1"), ip_a2)  # nobody told B's kernel yet
    assert endpoint_mac(ip_a) in b.fdb(vx)  # nor removed the old entry
    b.start_agent()
    assert wait_ping(b.netns("b1"), ip_a2, timeout=15) is not None, b.agent_log()
    assert wait_for(lambda: endpoint_mac(ip_a) not in b.fdb(vx) and ip_a not in b.neigh(vx), 10)
    assert ping(a.netns("a2"), ip_b)


def test_a_host_whose_agent_stops_for_good_expires(lab):
    a, b, ip_a, _, vx = two_hosts(lab, ttl=2)
    assert a.stop_agent(signal.SIGTERM) == 0
    assert "stopped" in a.agent_log()
    assert wait_for(lambda: a.name not in b.engine.overlay_hosts(), 15)
    assert wait_for(lambda: endpoint_mac(ip_a) not in b.fdb(vx) and ip_a not in b.neigh(vx), 10), b.agent_log()
    assert blocked(b.netns("b1"), ip_a)
    # its endpoints stay in the store (their addresses stay taken) and come back with the host
    assert ip_a in b.engine.cluster.claims("blue")
    a.start_agent(ttl=2)
    assert wait_ping(b.netns("b1"), ip_a, timeout=15) is not None, b.agent_log()


@pytest.fixture
def own_lab(own_etcd):
    lab = Lab(f"{own_etcd.url}/nvr{uuid.uuid4().hex[:6]}")
    try:
        yield lab, own_etcd
    finally:
        lab.destroy()
    assert lab.leftovers() == []


def test_etcd_restart(own_lab):
    lab, server = own_lab
    a, b, ip_a, ip_b, _ = two_hosts(lab)
    before = {h.name: h.engine.store.snapshot() for h in (a, b)}
    links = sorted(link["ifname"] for link in a.engine.kernel.links(None))
    server.stop()
    # the data plane does not need etcd: traffic keeps flowing
    assert ping(a.netns("a1"), ip_b) and ping(b.netns("b1"), ip_a)
    assert wait_for(lambda: "cannot reach etcd" in a.agent_log() and "retrying in" in b.agent_log(), 15)
    # changes are refused with one clear line, and nothing is half-written
    a.engine.sandbox_create("a2")
    with pytest.raises(ClusterUnavailable, match=r"cannot reach etcd at 127\.0\.0\.1"):
        a.engine.network_connect("blue", "a2")
    assert a.engine.store.endpoints(sandbox="a2") == []
    assert b.engine.store.snapshot() == before[b.name]
    assert sorted(link["ifname"] for link in a.engine.kernel.links(None)) == links
    server.start()
    assert wait_for(lambda: a.agent_log().count("registered;") >= 2 and b.agent_log().count("registered;") >= 2,
                    15), a.agent_log()
    ip_a2 = a.engine.network_connect("blue", "a2")["ip"]
    assert wait_ping(b.netns("b1"), ip_a2, timeout=15) is not None, b.agent_log()
    assert ping(a.netns("a2"), ip_b)
    # the registrations survived the restart: nobody's entries were dropped
    assert ping(b.netns("b1"), ip_a)


def test_agent_with_etcd_down_retries_and_stops_cleanly(own_lab):
    lab, server = own_lab
    server.stop()
    a = lab.add_host(agent=False)
    a.start_agent(wait=False)
    assert wait_for(lambda: a.agent_log().count("retrying in") >= 2, 15), a.agent_log()
    lines = [line for line in a.agent_log().splitlines() if "retrying in" in line]
    assert "cannot reach etcd at 127.0.0.1" in lines[0] and "retrying in 0.2 s" in lines[0]
    assert "retrying in 0.4 s" in lines[1]
    started = time.monotonic()
    assert a.stop_agent(signal.SIGTERM) == 0
    assert time.monotonic() - started < 6
    server.start()


def test_agent_refuses_an_address_that_is_not_the_hosts(lab):
    a = lab.add_host(agent=False)
    result = a.cli("agent", "--advertise-address", "10.99.0.77", timeout=30)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert f"advertise address 10.99.0.77 is not an address of namespace {a.name}" in result.stderr
