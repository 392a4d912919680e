"""A partition and an impairment on an overlay network across two simulated
hosts: the rules live in the sandbox's own namespace, so the VXLAN path
between the hosts needs nothing of its own."""

from . import overlay_fixtures
from .faults_support import pings_answered, reachable, unreachable
from .overlay_env import wait_ping

etcd, etcd_url, lab = overlay_fixtures.etcd, overlay_fixtures.etcd_url, overlay_fixtures.lab


def test_partition_and_loss_across_hosts(lab):
    a, b = lab.add_host(), lab.add_host()
    a.engine.overlay_create("blue", subnet="10.211.0.0/24")
    ip_a1, ip_a2 = a.sandbox("a1", "blue"), a.sandbox("a2", "blue")
    ip_b1 = b.sandbox("b1", "blue")
    assert wait_ping(a.netns("a1"), ip_b1, timeout=5) is not None
    a.engine.partition([["a1"]])  # from host A: a1 is cut off from its neighbour and from b1 on host B
    assert unreachable(a.netns("a1"), ip_b1) and unreachable(b.netns("b1"), ip_a1)
    assert unreachable(a.netns("a2"), ip_a1)
    assert reachable(b.netns("b1"), ip_a2)
    a.engine.heal()
    assert reachable(b.netns("b1"), ip_a1)
    b.engine.impair("b1", loss=100, to=[])  # --to nobody: everyone
    assert pings_answered(b.netns("b1"), ip_a1, 10) == 0
    b.engine.impair("b1", clear=True)
    assert reachable(b.netns("b1"), ip_a1)
    assert a.engine.drift() == [] and b.engine.drift() == []
