import json

from .helpers import blocked, in_ns, ping


def test_static_routes_through_a_router_sandbox(host):
    """a --10.0.1.0/24-- r --10.0.2.0/24-- b: a reaches b once routes are added."""
    e = host.engine
    for name in ("a", "r", "b"):
        e.sandbox_create(name)
    e.link_add("a", "r", ip_a="10.0.1.1/24", ip_b="10.0.1.2/24")
    e.link_add("r", "b", ip_a="10.0.2.1/24", ip_b="10.0.2.2/24")
    in_ns(host.prefix + "r", "sysctl", "-qw", "net.ipv4.ip_forward=1", check=True)
    a = host.prefix + "a"
    assert blocked(a, "10.0.2.2")
    assert host.cli("route", "add", "a", "10.0.2.0/24", "via", "10.0.1.2").returncode == 0
    assert host.cli("route", "add", "b", "default", "via", "10.0.2.1").returncode == 0
    assert ping(a, "10.0.2.2")
    data = json.loads(host.cli("--json", "sandbox", "inspect", "a").stdout)
    assert data["routes"] == [{"dest": "10.0.2.0/24", "via": "10.0.1.2", "dev": None}]
    assert any(r["dest"] == "10.0.2.0/24" and r["via"] == "10.0.1.2" for r in data["kernel"]["routes"])
    assert host.cli("route", "rm", "a", "10.0.2.0/24").returncode == 0
    assert blocked(a, "10.0.2.2")
    assert "10.0.2.0/24" not in in_ns(a, "ip", "route").stdout


def test_route_via_unknown_gateway_is_refused(host):
    host.engine.sandbox_create("a")
    r = host.cli("route", "add", "a", "10.0.2.0/24", "via", "10.0.1.2")
    assert r.returncode == 2 and "not on any network" in r.stderr
