"""Fixtures of the overlay and cluster-store tests (bound to names in each test
module: `etcd = overlay_fixtures.etcd`)."""

import uuid

import pytest

from .etcd_server import EtcdServer
from .overlay_env import Lab


@pytest.fixture(scope="session")
def etcd():
    """One etcd for the session (127.0.0.1, random ports, temp data dir); tests
    keep apart by key prefix."""
    server = EtcdServer()
    server.start()
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture
def own_etcd():
    """An etcd of the test's own (for tests that stop and restart it)."""
    server = EtcdServer()
    server.start()
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture
def etcd_url(etcd) -> str:
    return f"{etcd.url}/nvt{uuid.uuid4().hex[:8]}"


@pytest.fixture
def lab(etcd_url):
    """Underlay + hosts (added by the test) on a fresh etcd prefix; checks that
    every namespace is gone afterwards."""
    lab = Lab(etcd_url)
    try:
        yield lab
    finally:
        lab.destroy()
    assert lab.leftovers() == [], f"namespaces leaked: {lab.leftovers()}"
