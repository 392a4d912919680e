"""Bad input and failures: one clear line, nothing changed (local store, kernel,
cluster store)."""

import json

import pytest

from nsnet import Engine
from nsnet.errors import Conflict, InvalidInput, KernelError
from nsnet.state.cluster import ClusterUnavailable

from . import overlay_fixtures
from .etcd_server import free_port

etcd, etcd_url, lab = overlay_fixtures.etcd, overlay_fixtures.etcd_url, overlay_fixtures.lab


def state(host) -> tuple:
    """Everything a refused call must leave as it was."""
    links = sorted(link["ifname"] for link in host.engine.kernel.links(None))
    cluster, _ = host.engine.cluster.snapshot()
    flat = {kind: {str(k): v for k, v in rows.items()} for kind, rows in cluster.items()}
    return host.engine.store.snapshot(), links, json.dumps(flat, sort_keys=True)


def refused(host, result, code: int, text: str) -> None:
    assert result.returncode == code, result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert text in result.stderr, result.stderr


def test_bad_overlay_input_changes_nothing(lab):
    a, b = lab.add_host(), lab.add_host()
    b.engine.overlay_create("blue", subnet="10.210.0.0/24", vni=42)  # exists only on B so far
    a.engine.network_create("lan", subnet="10.230.0.0/24", dns=False)
    before = state(a)
    refused(a, a.cli("network", "create", "x", "--driver", "overlay", "--subnet", "10.240.0.0/24", "--vni", "0"),
            2, "VNI 0 is out of range (1..16777215)")
    refused(a, a.cli("network", "create", "x", "--driver", "overlay", "--subnet", "10.240.0.0/24", "--vni",
                     "16777216"), 2, "out of range")
    refused(a, a.cli("network", "create", "x", "--driver", "overlay", "--subnet", "10.240.0.0/24", "--vni", "42"),
            4, "VNI 42 is taken by network 'blue'")
    refused(a, a.cli("network", "create", "x", "--driver", "overlay", "--subnet", "10.210.0.128/25"),
            4, "subnet 10.210.0.128/25 overlaps overlay network 'blue' (10.210.0.0/24)")
    refused(a, a.cli("network", "create", "x", "--driver", "overlay", "--subnet", "10.230.0.0/16"),
            4, "subnet 10.230.0.0/16 overlaps network 'lan'")
    refused(a, a.cli("network", "create", "x", "--driver", "overlay", "--subnet", "10.99.0.0/16"),
            4, "overlaps route 10.99.0.0/24 (dev ul0)")
    refused(a, a.cli("network", "create", "blue", "--driver", "overlay", "--subnet", "10.241.0.0/24"),
            4, "network 'blue' already exists in the cluster store")
    refused(a, a.cli("network", "create", "x", "--driver", "overlay", "--subnet", "10.241.0.0/24", "--mtu", "1451"),
            2, "mtu 1451 does not fit the underlay: at most 1450")
    refused(a, a.cli("network", "create", "x", "--subnet", "10.241.0.0/24", "--vni", "5"), 2,
            "--vni is only for --driver overlay")
    assert state(a) == before


def test_no_advertise_address_changes_nothing(lab):
    a = lab.add_host(agent=False)
    before = state(a)
    with pytest.raises(Conflict, match=r"no advertise address for overlay networks: run `nsnet agent"):
        a.engine.overlay_create("blue", subnet="10.210.0.0/24")
    refused(a, a.cli("network", "create", "blue", "--driver", "overlay", "--subnet", "10.210.0.0/24"), 4,
            "this host has no advertise address")
    assert state(a) == before
    b = lab.add_host()
    b.engine.overlay_create("blue", subnet="10.210.0.0/24")
    a.engine.sandbox_create("a1")
    with pytest.raises(Conflict, match="no advertise address"):
        a.engine.network_connect("blue", "a1")
    assert a.engine.cluster.claims("blue") == {} and a.engine.store.network("blue") is None


def test_unreachable_etcd_changes_nothing(lab):
    a = lab.add_host(agent=False)
    a.engine.overlay_host_set(a.address)  # what the agent would record
    dead = f"etcd://127.0.0.1:{free_port()}"
    eng = Engine(host_netns=a.name, state_dir=a.state_dir, cluster_store=dead)
    try:
        before = eng.store.snapshot(), sorted(link["ifname"] for link in eng.kernel.links(None))
        with pytest.raises(ClusterUnavailable, match=r"cannot reach etcd at 127\.0\.0\.1:\d+ \(connection refused\)"):
            eng.overlay_create("blue", subnet="10.210.0.0/24")
        eng.sandbox_create("s1")
        with pytest.raises(ClusterUnavailable, match="not on this host and the cluster store cannot be asked"):
            eng.network_connect("blue", "s1")
        eng.sandbox_rm("s1")
        assert (eng.store.snapshot(), sorted(link["ifname"] for link in eng.kernel.links(None))) == before
    finally:
        eng.close()
    result = a.cli("--store", dead, "network", "create", "blue", "--driver", "overlay", "--subnet", "10.210.0.0/24")
    refused(a, result, 8, "cannot reach etcd at 127.0.0.1")
    assert "Traceback" not in result.stderr


def test_failed_connect_gives_the_address_back(lab, monkeypatch):
    a = lab.add_host()
    a.engine.overlay_create("blue", subnet="10.210.0.0/24")
    a.engine.sandbox_create("s1")
    before = state(a)
    monkeypatch.setenv("NSNET_FAIL_STEP", "addr_add")
    with pytest.raises(KernelError, match="injected"):
        a.engine.network_connect("blue", "s1")
    monkeypatch.delenv("NSNET_FAIL_STEP")
    assert state(a) == before
    assert a.engine.network_connect("blue", "s1")["ip"] == "10.210.0.2"


def test_dry_run_writes_nothing(lab):
    a = lab.add_host()
    before = state(a)
    out = a.engine.overlay_create("blue", subnet="10.210.0.0/24", vni=42, dry_run=True)["commands"]
    assert any(line.startswith("etcdctl") and "put /nvt" in line and "/networks/blue" in line for line in out)
    assert f"ip -n {a.name} link add nsvx-42 mtu 1450 type vxlan id 42 local 10.99.0.1 dstport 4789 nolearning proxy" \
        in out
    assert state(a) == before
    a.engine.overlay_create("blue", subnet="10.210.0.0/24", vni=42)
    a.engine.sandbox_create("s1")
    before = state(a)
    out = a.engine.network_connect("blue", "s1", dry_run=True)["commands"]
    assert any("peer name eth0 mtu 1450 address 02:42:0a:d2:00:02 netns" in line for line in out), out
    assert any("/endpoints/blue/10.210.0.2" in line for line in out)
    assert state(a) == before


def test_remove_refused_while_other_hosts_are_attached(lab):
    a, b = lab.add_host(), lab.add_host()
    a.engine.overlay_create("blue", subnet="10.210.0.0/24")
    a.sandbox("a1", "blue")
    b.sandbox("b1", "blue")
    before = state(a)
    with pytest.raises(Conflict, match=f"has 1 endpoint\\(s\\) on other hosts \\({b.name}\\)"):
        a.engine.network_rm("blue", force=True)
    assert state(a) == before
    a.engine.sandbox_create("a2")
    with pytest.raises(InvalidInput, match="--alias is not supported"):
        a.engine.network_connect("blue", "a2", aliases=["x"])
    b.engine.network_disconnect("blue", "b1")
    assert a.engine.network_rm("blue", force=True)["errors"] == []
    assert a.engine.cluster.network("blue") is None and a.engine.cluster.claims("blue") == {}
    assert not any(link["ifname"] in ("nsbr-blue", "nsvx-4096") for link in a.engine.kernel.links(None))
    # B's agent drops its now orphaned copy of the network
    from .test_overlay_agent import wait_for

    assert wait_for(lambda: b.engine.store.network("blue") is None, 10), b.agent_log()
    assert not any(link["ifname"] == "nsvx-4096" for link in b.engine.kernel.links(None))
