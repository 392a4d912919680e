import pytest

from .cni_env import Cni
from .helpers import Host, set_bridge_nf, wait_until
from .outside import Outside


@pytest.fixture
def host():
    """A throwaway host with an engine; asserts that nothing nsnet made leaked."""
    h = Host()
    try:
        yield h
    finally:
        h.destroy()


@pytest.fixture(params=[True, False], ids=["br_netfilter", "no_br_netfilter"])
def bridge_nf(request, host):
    """Tests of published ports run with bridge netfilter on (as on Docker and
    Kubernetes hosts: DNAT'ed packets may be bridged, not routed) and off; set
    in the test's own host namespace only."""
    set_bridge_nf(host.name, request.param)
    return request.param


@pytest.fixture
def clean_host():
    """Like `host`, but the test must leave no sandbox namespace and no link behind
    by itself (checked before the fixture's own cleanup)."""
    h = Host()
    try:
        yield h
        assert h.sandbox_namespaces() == [], "sandbox namespaces leaked"
        assert h.engine.store.snapshot()["sandboxes"] == [], "sandboxes left in the store"
        assert wait_until(lambda: h.host_links() == ["lo"], timeout=10), f"links leaked: {h.host_links()}"
    finally:
        h.destroy()


@pytest.fixture
def outside(host):
    """An outside namespace wired to the host (10.77.0.1 <-> 10.77.0.2)."""
    o = Outside(host)
    try:
        yield o
    finally:
        o.destroy()


@pytest.fixture
def cni(host):
    """The CNI plugin as a runtime calls it, for the host's state dir (cni_env.Cni)."""
    c = Cni(host)
    try:
        yield c
    finally:
        c.destroy()
