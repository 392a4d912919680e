"""IPv6 with real packets: dual-stack and IPv6-only bridge networks (ping -6 and
TCP between sandboxes and to the gateway, addresses usable at once), direct
links and static routes through a routing sandbox."""

import json

from .helpers import in_ns, sh, wait_until
from .traffic import roundtrip


def ping6(ns, ip, tries=5) -> bool:
    """ping -6, the first packet after a change retried a bounded number of times."""
    return wait_until(lambda: in_ns(ns, "ping", "-6", "-n", "-q", "-c", "1", "-W", "1", ip).returncode == 0,
                      timeout=tries, interval=0.05)


def addrs6(ns, ifname) -> str:
    return in_ns(ns, "ip", "-6", "-o", "addr", "show", "dev", ifname).stdout


def test_dual_stack_bridge_end_to_end(clean_host):
    h = clean_host
    r = h.cli("network", "create", "ds", "--subnet", "10.61.0.0/24", "--subnet", "fd00:61::/64")
    assert r.returncode == 0, r.stderr
    assert "10.61.0.0/24 gateway 10.61.0.1, fd00:61::/64 gateway fd00:61::1 on nsbr-ds" in r.stdout
    for name in ("a", "b"):
        assert h.cli("sandbox", "create", name, "--network", "ds").returncode == 0
    a, b = h.prefix + "a", h.prefix + "b"
    eps = {e["sandbox"]: e for e in json.loads(h.cli("--json", "network", "inspect", "ds").stdout)["endpoints"]}
    assert (eps["a"]["ip"], eps["a"]["ip6"], eps["b"]["ip6"]) == ("10.61.0.2", "fd00:61::2", "fd00:61::3")
    # Usable at once: no duplicate address detection, and no link-local address on the sandbox's end.
    assert "fd00:61::2/64" in addrs6(a, "eth0") and "tentative" not in addrs6(a, "eth0")
    assert "fe80" not in addrs6(a, "eth0")
    bridge = sh("ip", "-n", h.name, "-6", "-o", "addr", "show", "dev", "nsbr-ds").stdout
    assert "fd00:61::1/64" in bridge and "fe80::1/64" in bridge and "tentative" not in bridge
    assert "default via fd00:61::1 dev eth0" in in_ns(a, "ip", "-6", "route").stdout
    assert ping6(a, "fd00:61::3") and ping6(a, "fd00:61::1") and ping6(h.name, "fd00:61::2")
    assert roundtrip(b, a, "fd00:61::3") == "PING fd00:61::2"
    assert roundtrip(b, a, "10.61.0.3") == "PING 10.61.0.2"  # IPv4 still there
    assert h.cli("network", "disconnect", "ds", "a").returncode == 0
    assert h.cli("network", "rm", "ds", "--force").returncode == 0
    assert h.cli("sandbox", "rm", "a", "b").returncode == 0


def test_ipv6_only_network(host):
    e = host.engine
    net = e.network_create("six", subnet="fd00:62::/64")
    assert net["subnet"] is None and net["gateway6"] == "fd00:62::1"
    e.sandbox_create("a", networks=["six"])
    e.sandbox_create("b", networks=[("six", "fd00:62::b")])
    a, b = host.prefix + "a", host.prefix + "b"
    assert "inet " not in in_ns(a, "ip", "-o", "addr", "show", "dev", "eth0").stdout
    assert ping6(a, "fd00:62::b") and ping6(b, "fd00:62::1")
    assert roundtrip(a, b, "fd00:62::2") == "PING fd00:62::b"
    assert e.drift() == []


def test_a_routing_sandbox_between_two_ipv6_links(host):
    """red -- router -- blue, each link an IPv6 /64: the router forwards, and
    solicits blue's address for what it forwards from red (from its link-local
    address: red's address is not on that link)."""
    e = host.engine
    for name in ("red", "router", "blue"):
        e.sandbox_create(name)
    e.link_add("red", "router", subnet="fd00:71::/64")
    e.link_add("router", "blue", subnet=["fd00:72::/64", "10.72.0.0/30"])
    e.route_add("red", "fd00:72::/64", "fd00:71::2")
    e.route_add("blue", "default", "fd00:72::1")
    router = host.prefix + "router"
    assert in_ns(router, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1").returncode == 0
    assert "fe80::1/64" in addrs6(router, "veth-blue") and "tentative" not in addrs6(router, "veth-blue")
    assert ping6(host.prefix + "red", "fd00:72::2")
    assert roundtrip(host.prefix + "blue", host.prefix + "red", "fd00:72::2") == "PING fd00:71::1"
    assert "::/0" in {r["dest"] for r in e.route_ls("blue")}
    assert e.drift() == []
    e.link_rm("router", "blue")
    assert e.route_ls("blue") == [] and [r["dest"] for r in e.route_ls("red")] == ["fd00:72::/64"]
