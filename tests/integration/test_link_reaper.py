"""A Kernel with a LinkReaper (the CNI server's): link deletions return once
the link has left its namespace, the kernel's ack comes on a thread behind."""

import pytest

from nsnet.errors import KernelError
from nsnet.kernel.reaper import LinkReaper
from nsnet.kernel.rtnl import Kernel

from .helpers import links, sh


@pytest.fixture
def reaped(host):
    """(engine, kernel with a reaper) on the same host namespace."""
    reaper = LinkReaper(limit=4)
    kernel = Kernel(host.name, host.engine.settings.owner_mark, reaper)
    yield host.engine, kernel
    reaper.wait()
    kernel.close()


def test_a_reaped_veth_is_gone_from_both_namespaces_when_link_del_returns(host, reaped):
    eng, kernel = reaped
    eng.network_create("n", subnet="10.36.0.0/24")
    sandboxes = [f"r{i}" for i in range(6)]  # more than the limit: the oldest deletions are waited for
    ends = {}
    for name in sandboxes:
        eng.sandbox_create(name, networks=["n"])
        ends[name] = eng.sandbox_inspect(name, live=False)["endpoints"][0]["host_ifname"]
    for name in sandboxes:
        assert kernel.link_del(None, ends[name]) is True
        assert ends[name] not in links(host.name)
        assert "eth0" not in links(host.prefix + name)
    assert kernel.reaper.in_flight() <= kernel.reaper.limit
    kernel.reaper.wait()
    assert kernel.reaper.in_flight() == 0
    bridge_ports = sh("ip", "-n", host.name, "-o", "link", "show", "master", "nsbr-n").stdout
    assert bridge_ports.strip() == ""


def test_a_reaped_deletion_of_what_is_gone_says_so_and_errors_still_surface(host, reaped):
    _, kernel = reaped
    assert kernel.link_del(None, "nsvnothere") is False
    with pytest.raises(KernelError, match="deleting lo"):  # the kernel refuses; the thread's error is raised
        kernel.link_del(None, "lo")
    assert "lo" in links(host.name)
    with pytest.raises(KernelError):
        Kernel(host.name + "-gone", None, LinkReaper()).link_del(None, "x0")


def test_an_engines_disconnect_returns_with_the_link_gone_and_reconnects_at_once(host):
    """Every Engine's kernel reaps: a disconnect returns once the veth has left
    both namespaces, and the same interface can be made again right away."""
    eng = host.engine
    assert isinstance(eng.kernel.reaper, LinkReaper)
    eng.network_create("n", subnet="10.37.0.0/24")
    eng.sandbox_create("a", networks=["n"])
    for _ in range(5):
        end = eng.sandbox_inspect("a", live=False)["endpoints"][0]["host_ifname"]
        eng.network_disconnect("n", "a")
        assert end not in links(host.name)
        assert "eth0" not in links(host.prefix + "a")
        eng.network_connect("n", "a")
        assert "eth0" in links(host.prefix + "a")
    eng.kernel.reaper.wait()
    assert eng.drift() == []
