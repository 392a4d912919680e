import pytest

from nsnet.engine.executor import Executor
from nsnet.errors import KernelError
from nsnet.steps import AddAddress, AddRoute, CreateBridge, CreateNetns, CreateVeth, Plan

from .fakes import FakeKernel


def test_failure_rolls_back_applied_steps_in_reverse():
    k = FakeKernel(fail_on="route_add")
    plan = Plan([CreateNetns("s"), CreateVeth(None, "nsv1", "s", "eth0", master="br"),
                 AddAddress("s", "eth0", "10.0.0.2/24"), AddRoute("s", "0.0.0.0/0", via="10.0.0.1")])
    with pytest.raises(KernelError, match="route_add"):
        Executor(k).apply(plan)
    assert k.verbs() == ["netns_create", "veth_add", "addr_add", "addr_del", "link_del", "netns_delete"]


def test_injected_failure(monkeypatch):
    monkeypatch.setenv("NSNET_FAIL_STEP", "addr_add")
    k = FakeKernel()
    with pytest.raises(KernelError, match="injected"):
        Executor(k).apply(Plan([CreateBridge("br0"), AddAddress(None, "br0", "10.0.0.1/24")]))
    assert k.verbs() == ["bridge_add", "link_del"]


def test_explain_golden():
    plan = Plan([CreateNetns("red"), CreateBridge("v-net-0", 1400),
                 CreateVeth(None, "nsv1", "red", "eth0", master="v-net-0"),
                 AddAddress("red", "eth0", "192.168.15.1/24"), AddRoute("red", "0.0.0.0/0", via="192.168.15.5"),
                 AddRoute("red", "10.0.0.0/8", via="192.168.15.9")])
    assert plan.explain() == [
        "ip netns add red",
        "ip -n red link set lo up",
        "ip link add v-net-0 mtu 1400 address 02:22:62:f5:8b:28 type bridge",
        "ip link set v-net-0 addrgenmode none",
        "ip link set v-net-0 up",
        "ip link add nsv1 type veth peer name eth0 netns red",
        "ip link set nsv1 master v-net-0 up",
        "ip link set nsv1 addrgenmode none",
        "ip -n red link set eth0 addrgenmode none",
        "ip -n red link set eth0 up",
        "ip -n red addr add 192.168.15.1/24 dev eth0",
        "ip -n red route add default via 192.168.15.5 proto static",
        "ip -n red route add 10.0.0.0/8 via 192.168.15.9 proto static",
    ]


def test_explain_aims_host_commands_at_the_namespace_that_plays_the_host():
    """Pasted into a shell on the real host, no command may change the real
    host when a namespace plays it (issue #15, item 7)."""
    from nsnet.steps import Nft, SetSysctl
    from nsnet.steps.base import aimed_at
    from nsnet.steps.cluster import ClaimAddress
    from nsnet.steps.overlay import AddFdb

    class Cluster:
        def describe(self, verb, *parts, value=None):
            return f"etcdctl {verb} /{'/'.join(map(str, parts))} '{value}'"

    plan = Plan([CreateNetns("lab-red"), CreateBridge("br0"), CreateVeth(None, "nsv1", "lab-red", "eth0", master="br0"),
                 AddAddress(None, "br0", "10.0.0.1/24"), SetSysctl("net.ipv4.ip_forward", "1"),
                 Nft({"nftables": [{"add": {"table": {"family": "inet", "name": "nsnet"}}}]}),
                 AddFdb("vx", "02:42:0a:00:00:02", "10.99.0.2"), ClaimAddress(Cluster(), "n", "10.0.0.2", "h")])
    lines = plan.explain("lab")
    assert lines[:5] == ["ip netns add lab-red", "ip -n lab-red link set lo up",
                         "ip -n lab link add br0 address 02:5e:d1:1a:62:48 type bridge",
                         "ip -n lab link set br0 addrgenmode none", "ip -n lab link set br0 up"]
    assert "ip -n lab link add nsv1 type veth peer name eth0 netns lab-red" in lines
    assert "ip -n lab-red link set eth0 up" in lines
    assert lines[-4:] == ["ip netns exec lab sysctl -w net.ipv4.ip_forward=1",
                          "ip netns exec lab nft 'add table inet nsnet'",
                          "bridge -n lab fdb replace 02:42:0a:00:00:02 dev vx dst 10.99.0.2 self permanent",
                          "etcdctl put /ipam/n/10.0.0.2 'h'"]
    for line in lines[:-1]:  # every kernel command names a namespace
        assert line.startswith(("ip -n ", "ip netns ", "bridge -n ")), line
    assert [aimed_at("lab", x) for x in ("# a comment", "tc -n s qdisc show", "tc qdisc show")] == [
        "# a comment", "tc -n s qdisc show", "tc -n lab qdisc show"]
    assert plan.explain() == [line for step in plan.steps for line in step.explain()]


def test_steps_declare_what_they_touch():
    from nsnet.steps import DeleteRoute, Nft, SetHairpin, SetSysctl
    from nsnet.steps.cluster import ReleaseEndpoint
    from nsnet.steps.overlay import CreateVxlan

    assert CreateNetns("red").touches() == ({"red"}, set())
    assert CreateVeth(None, "nsv1", "red", "eth0", master="br").touches() == (
        {"red"}, {(None, "nsv1"), ("red", "eth0"), (None, "br")})
    assert CreateVeth("red", "veth-blue", "blue", "veth-red").touches() == (
        {"red", "blue"}, {("red", "veth-blue"), ("blue", "veth-red")})
    assert AddAddress(None, "br", "10.0.0.1/24").touches() == (set(), {(None, "br")})
    assert AddRoute("red", "0.0.0.0/0", via="10.0.0.1").touches() == ({"red"}, set())
    assert DeleteRoute("red", "10.1.0.0/16", dev="eth1").touches() == ({"red"}, {("red", "eth1")})
    assert SetHairpin(None, "nsv1").touches() == (set(), {(None, "nsv1")})
    assert SetSysctl("net.ipv4.conf.nsbr-x.route_localnet", "1").touches() == (set(), {(None, "nsbr-x")})
    assert CreateVxlan("nsvx-7", 7, "10.0.0.1", master="br").touches() == (set(), {(None, "nsvx-7"), (None, "br")})
    for host_wide in (SetSysctl("net.ipv4.ip_forward", "1"), Nft({"nftables": []}),
                      ReleaseEndpoint(None, "blue", "10.0.0.2")):
        assert host_wide.touches() == (set(), set())
