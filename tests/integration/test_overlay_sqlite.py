"""The same overlay on the embedded cluster store: two hosts of one machine
sharing a SQLite file (no etcd)."""

import pytest

from .helpers import ping
from .overlay_env import Lab, wait_ping


@pytest.fixture
def sqlite_lab(tmp_path):
    lab = Lab(f"sqlite://{tmp_path}/cluster.db")
    try:
        yield lab
    finally:
        lab.destroy()
    assert lab.leftovers() == []


def test_overlay_on_the_sqlite_store(sqlite_lab):
    a, b = sqlite_lab.add_host(), sqlite_lab.add_host()
    a.engine.overlay_create("blue", subnet="10.210.0.0/24")
    ip_a, ip_b = a.sandbox("a1", "blue"), b.sandbox("b1", "blue")
    assert wait_ping(a.netns("a1"), ip_b, timeout=15) is not None, b.agent_log()
    assert ping(b.netns("b1"), ip_a)
    b.engine.network_disconnect("blue", "b1")
    a.engine.network_rm("blue", force=True)
    assert a.engine.cluster.networks() == []
