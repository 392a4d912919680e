"""Engine IPAM with the store's hints: always the lowest free address, also
after frees, rollbacks, static addresses and other processes' commits."""

import pytest

from nsnet import Engine
from nsnet.errors import KernelError


def _ip(engine, sandbox):
    return engine.store.endpoint("net", sandbox)["ip"]


@pytest.fixture
def net(engine):
    engine.network_create("net", subnet="10.9.0.0/24")
    return engine


def test_sequential_then_reuse_of_a_freed_address(net):
    for i in range(4):
        net.sandbox_create(f"s{i}", networks=["net"])
    assert [_ip(net, f"s{i}") for i in range(4)] == [f"10.9.0.{i + 2}" for i in range(4)]
    net.network_disconnect("net", "s1")
    net.sandbox_create("again", networks=["net"])
    assert _ip(net, "again") == "10.9.0.3"
    net.sandbox_create("next", networks=["net"])
    assert _ip(net, "next") == "10.9.0.6"


def test_static_address_at_the_hint_is_skipped(net):
    net.sandbox_create("a", networks=["net"])
    net.sandbox_create("b", networks=[("net", "10.9.0.3")])
    net.sandbox_create("c", networks=["net"])
    assert _ip(net, "c") == "10.9.0.4"


def test_rolled_back_address_is_given_again(net, monkeypatch):
    net.sandbox_create("a", networks=["net"])
    monkeypatch.setenv("NSNET_FAIL_STEP", "addr_add")
    with pytest.raises(KernelError):
        net.sandbox_create("b", networks=["net"])
    monkeypatch.delenv("NSNET_FAIL_STEP")
    net.sandbox_create("c", networks=["net"])
    assert _ip(net, "c") == "10.9.0.3"


def test_another_engine_freeing_an_address_is_seen(net):
    net.sandbox_create("a", networks=["net"])
    net.sandbox_create("b", networks=["net"])
    other = Engine(state_dir=net.settings.state_dir, kernel=net.kernel)
    other.network_disconnect("net", "a")
    other.close()
    net.sandbox_create("c", networks=["net"])
    assert _ip(net, "c") == "10.9.0.2"
