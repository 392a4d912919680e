"""A Linux bridge takes at most 1023 ports (#21): the 1024th sandbox on a
network is refused in one line, through the API and through the CNI plugin,
with nothing changed; a bridge filled by ports nsnet did not make gives the
kernel's "Exchange full" as the same advice. The 1023 sandboxes are made
through the API (one netns and one veth each: ~5-20 s on this machine)."""

import pytest

from nsnet.errors import Conflict, KernelError
from nsnet.names import BRIDGE_MAX_PORTS

from .cni_env import container_namespaces, single
from .helpers import in_ns, sh, wait_until


def bridge_ports(host) -> list[str]:
    return in_ns(host.name, "ip", "-o", "link", "show", "master", "nsbr-full").stdout.splitlines()


@pytest.fixture
def containers(host):
    """The runtime's namespaces for the first and the 1024th container."""
    with container_namespaces(host, 2) as paths:
        yield paths


def test_the_1024th_sandbox_on_a_bridge(host, cni, containers):
    eng = host.engine
    conf = cni.conf(name="full", subnet="10.90.0.0/20", dnsServer=False, masquerade=False)
    code, out = cni.call("ADD", single(conf), container="first", netns=containers[0])
    assert code == 0, out  # the plugin made the network (and its first attachment)
    assert eng.network_get("full")["bridge"] == "nsbr-full"
    for i in range(BRIDGE_MAX_PORTS - 1):
        eng.sandbox_create(f"s{i}", networks=["full"])
    assert len(bridge_ports(host)) == BRIDGE_MAX_PORTS

    before, links = eng.store.snapshot(), host.host_links()
    with pytest.raises(Conflict, match=r"network 'full' is full: 1023 sandboxes are attached.*another network"):
        eng.sandbox_create("one-more", networks=["full"])
    code, err = cni.call("ADD", single(conf), container="last", netns=containers[1])
    assert code == 1 and err["code"] == 104 and "network 'full' is full" in err["msg"], err
    assert eng.store.snapshot() == before and host.host_links() == links  # nothing changed

    # A port nsnet did not make: the kernel's own refusal, with the same advice, rolled back.
    eng.sandbox_rm("s0")  # its veth goes with its namespace, soon after
    assert wait_until(lambda: len(bridge_ports(host)) < BRIDGE_MAX_PORTS, timeout=10)
    sh("ip", "-n", host.name, "link", "add", "foreign", "type", "veth", "peer", "name", "foreign1")
    sh("ip", "-n", host.name, "link", "set", "foreign", "master", "nsbr-full")
    before, links = eng.store.snapshot(), host.host_links()
    with pytest.raises(KernelError, match="bridge nsbr-full is full: a Linux bridge takes at most 1023 ports"):
        eng.sandbox_create("one-more", networks=["full"])
    assert eng.store.snapshot() == before and host.host_links() == links
    assert eng.netns_name("one-more") not in host.sandbox_namespaces()
