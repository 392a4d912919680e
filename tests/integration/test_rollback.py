"""A failure half-way through a plan rolls back what was applied. The debug
hook NSNET_FAIL_STEP makes the named step fail; nothing may be left behind."""

import pytest

from .helpers import wait_until
from .snapshot import full_snapshot

STEP_KINDS = ["netns_add", "veth_add", "addr_add", "route_add"]


@pytest.mark.parametrize("kind", STEP_KINDS)
def test_sandbox_create_with_network_rolls_back(host, kind):
    host.engine.network_create("n", subnet="10.90.0.0/24")
    host.engine.sandbox_create("other", networks=["n"])
    before = full_snapshot(host)
    env = dict(host.env, NSNET_FAIL_STEP=kind)
    import subprocess

    from .helpers import NSNET

    r = subprocess.run([NSNET, "sandbox", "create", "s", "--network", "n"], env=env, capture_output=True,
                       text=True)
    assert r.returncode != 0 and f"injected failure at step '{kind}'" in r.stderr
    assert wait_until(lambda: full_snapshot(host) == before), "rollback left something behind"


@pytest.mark.parametrize("kind", ["bridge_add", "addr_add"])
def test_network_create_rolls_back(host, kind, monkeypatch):
    before = full_snapshot(host)
    monkeypatch.setenv("NSNET_FAIL_STEP", kind)
    with pytest.raises(Exception, match="injected"):
        host.engine.network_create("n", subnet="10.91.0.0/24")
    assert full_snapshot(host) == before


def test_link_add_rolls_back(host, monkeypatch):
    host.engine.sandbox_create("a")
    host.engine.sandbox_create("b")
    before = full_snapshot(host)
    monkeypatch.setenv("NSNET_FAIL_STEP", "addr_add")
    with pytest.raises(Exception, match="injected"):
        host.engine.link_add("a", "b", subnet="10.92.0.0/24")
    assert full_snapshot(host) == before
