"""Address allocation across hosts: etcd transactions, never the same address twice."""

import subprocess

from . import overlay_fixtures
from .helpers import NSNET
from .overlay_env import wait_ping

etcd, etcd_url, lab = overlay_fixtures.etcd, overlay_fixtures.etcd_url, overlay_fixtures.lab


def test_twenty_concurrent_connects_across_two_hosts_get_distinct_addresses(lab):
    a, b = lab.add_host(), lab.add_host()
    a.engine.overlay_create("blue", subnet="10.210.0.0/24")
    names = {a: [f"a{i}" for i in range(10)], b: [f"b{i}" for i in range(10)]}
    for host, sandboxes in names.items():
        for name in sandboxes:
            host.engine.sandbox_create(name)
    procs = [subprocess.Popen([NSNET, "network", "connect", "blue", name], env=host.env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for host, sandboxes in names.items() for name in sandboxes]
    try:
        results = [p.communicate(timeout=120) + (p.returncode,) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)
    assert all(code == 0 for _, _, code in results), [err for _, err, code in results if code]
    ips = {name: host.engine.store.endpoint("blue", name)["ip"] for host, sandboxes in names.items()
           for name in sandboxes}
    assert len(set(ips.values())) == 20
    claims = a.engine.cluster.claims("blue")
    assert sorted(claims) == sorted(ips.values())
    assert {claims[ip]["sandbox"] for ip in claims} == set(ips)
    assert len(a.engine.cluster.endpoints("blue")) == 20
    for src, dst in (("a0", "b9"), ("a9", "b0"), ("a5", "b5")):
        assert wait_ping(a.netns(src), ips[dst], timeout=15) is not None
