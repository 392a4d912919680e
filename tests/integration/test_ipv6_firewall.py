"""The firewall over IPv6, with real packets: outbound NAT66 (and routed
subnets without it), isolation and internal networks, published ports on IPv6
host addresses and on both families, from outside, from the host and from
other sandboxes."""

import json

import pytest

from .helpers import in_ns, sh, wait_until
from .outside import HOST_IP, OUTSIDE_IP
from .traffic import roundtrip, served

HOST_IP6, OUTSIDE_IP6 = "fd00:77::1", "fd00:77::2"


@pytest.fixture
def outside6(host, outside):
    """The outside namespace, wired over IPv6 too (fd00:77::1 <-> fd00:77::2)."""
    sh("ip", "-n", host.name, "-6", "addr", "add", f"{HOST_IP6}/64", "dev", "ntlan", "nodad")
    sh("ip", "-n", outside.name, "-6", "addr", "add", f"{OUTSIDE_IP6}/64", "dev", "eth0", "nodad")
    return outside


def ping6(ns, ip) -> bool:
    return wait_until(lambda: in_ns(ns, "ping", "-6", "-n", "-q", "-c", "1", "-W", "1", ip).returncode == 0,
                      timeout=3, interval=0.05)


def no_ping6(ns, ip) -> bool:
    return in_ns(ns, "ping", "-6", "-n", "-q", "-c", "2", "-W", "1", ip).returncode != 0


def test_outbound_nat66_and_routed_without_it(host, outside6):
    e = host.engine
    e.network_create("nat", subnet=["10.1.0.0/24", "fd00:1::/64"])
    e.network_create("routed", subnet="fd00:2::/64", masquerade=False)
    e.sandbox_create("a", networks=["nat"])
    e.sandbox_create("b", networks=["routed"])
    assert sh("ip", "netns", "exec", host.name, "sysctl", "-n", "net.ipv6.conf.all.forwarding").stdout.strip() == "1"
    # the outside server sees the host's outside address, not the sandbox's ...
    assert served(outside6.name, host.prefix + "a", OUTSIDE_IP6, 5555, 5555) == f"PING {HOST_IP6}"
    assert served(outside6.name, host.prefix + "a", OUTSIDE_IP, 5555, 5555) == f"PING {HOST_IP}"
    # ... unless the network is routed: then the outside needs a route back
    sh("ip", "-n", outside6.name, "-6", "route", "add", "fd00:2::/64", "via", HOST_IP6)
    assert served(outside6.name, host.prefix + "b", OUTSIDE_IP6, 5556, 5556) == "PING fd00:2::2"


def test_isolation_and_internal_networks_hold_for_ipv6(host, outside6):
    e = host.engine
    e.network_create("devops", subnet=["192.168.1.0/24", "fd00:11::/64"])
    e.network_create("db", subnet=["192.168.2.0/24", "fd00:12::/64"])
    e.network_create("int", subnet="fd00:13::/64", internal=True)
    e.sandbox_create("web1", networks=["devops"])
    e.sandbox_create("db1", networks=["db"])
    e.sandbox_create("ns", networks=["devops", "db"])
    e.sandbox_create("i1", networks=["int"])
    e.sandbox_create("i2", networks=["int"])
    web1, db1, ns, i1 = (host.prefix + x for x in ("web1", "db1", "ns", "i1"))
    assert ping6(ns, "fd00:11::2") and ping6(ns, "fd00:12::2")  # on both: reaches both
    assert ping6(host.name, "fd00:11::2") and ping6(host.name, "fd00:13::2")  # the host reaches all
    assert ping6(i1, "fd00:13::3")  # an internal network reaches itself ...
    assert no_ping6(web1, "fd00:12::2") and no_ping6(db1, "fd00:11::2")  # blocked both ways
    assert no_ping6(i1, OUTSIDE_IP6) and no_ping6(i1, "fd00:11::2")  # ... and nothing else
    assert no_ping6(web1, "fd00:13::2")


class TestPublishedPorts:
    @pytest.fixture
    def lab(self, host, outside6):
        e = host.engine
        e.network_create("web", subnet=["10.10.0.0/24", "fd00:10::/64"])
        e.network_create("other", subnet=["10.11.0.0/24", "fd00:20::/64"])
        r = host.cli("sandbox", "create", "srv", "--network", "web", "-p", "8080:80", "-p", "[::]:8081:81",
                     "-p", f"[{HOST_IP6}]:8082:82", "-p", "0.0.0.0:8083:83")
        assert r.returncode == 0, r.stderr
        e.sandbox_create("far", networks=["other"])
        return host, outside6

    def test_from_outside_on_both_families_with_the_real_client_address(self, lab):
        host, outside = lab
        srv = host.prefix + "srv"
        assert served(srv, outside.name, HOST_IP6, 8080, 80) == f"PING {OUTSIDE_IP6}"
        assert served(srv, outside.name, HOST_IP, 8080, 80) == f"PING {OUTSIDE_IP}"
        assert served(srv, outside.name, HOST_IP6, 8081, 81) == f"PING {OUTSIDE_IP6}"
        assert served(srv, outside.name, HOST_IP6, 8082, 82) == f"PING {OUTSIDE_IP6}"
        # one family only: [::]:8081 is not on IPv4, 0.0.0.0:8083 not on IPv6
        assert roundtrip(srv, outside.name, HOST_IP, port=8081, server_port=81) is None
        assert roundtrip(srv, outside.name, HOST_IP6, port=8083, server_port=83) is None
        assert served(srv, outside.name, HOST_IP, 8083, 83) == f"PING {OUTSIDE_IP}"
        rows = json.loads(host.cli("--json", "port", "srv").stdout)
        assert {(r["host_ip"], r["host_port"], r["sandbox_ip"]) for r in rows} == {
            ("", 8080, "10.10.0.2"), ("", 8080, "fd00:10::2"), ("::", 8081, "fd00:10::2"),
            (HOST_IP6, 8082, "fd00:10::2"), ("0.0.0.0", 8083, "10.10.0.2")}
        listing = host.cli("port", "srv").stdout
        assert f"{HOST_IP6} " in listing and ":: " in listing

    def test_from_the_host_and_from_another_network(self, lab):
        host, _ = lab
        srv = host.prefix + "srv"
        assert served(srv, host.name, HOST_IP6, 8080, 80) is not None
        assert served(srv, host.prefix + "far", HOST_IP6, 8080, 80) == "PING fd00:10::1"  # hairpin: masqueraded
        # ::1 is never DNATed (the kernel routes it on lo only): refused at once, not lost
        r = in_ns(host.name, "python3", "-c", "import socket; s = socket.socket(socket.AF_INET6); s.settimeout(2)\n"
                  "try: s.connect(('::1', 8080))\nexcept ConnectionRefusedError: print('refused')")
        assert r.stdout.strip() == "refused"
        r = host.cli("publish", "srv", "[::1]:9999:80")
        assert r.returncode == 2 and "cannot be forwarded" in r.stderr

    def test_unpublish_by_family_and_elements_as_libnftables_makes_them(self, lab):
        host, _ = lab
        table = sh("ip", "netns", "exec", host.name, "nft", "list", "table", "inet", "nsnet").stdout
        assert "tcp . 8080 comment \"sandbox srv (web)\" : fd00:10::2" in table
        assert f"{HOST_IP6} . tcp . 8082 comment" in table
        assert host.cli("firewall", "reload").returncode == 0  # all of it through libnftables
        assert sh("ip", "netns", "exec", host.name, "nft", "list", "table", "inet", "nsnet").stdout == table
        assert host.cli("unpublish", "srv", "[::]:8081:81").returncode == 0
        assert host.cli("unpublish", "srv", "8080:80").returncode == 0  # both families' rows
        left = {(r["host_ip"], r["host_port"]) for r in json.loads(host.cli("--json", "port", "srv").stdout)}
        assert left == {(HOST_IP6, 8082), ("0.0.0.0", 8083)}
        table = sh("ip", "netns", "exec", host.name, "nft", "list", "table", "inet", "nsnet").stdout
        assert "8080" not in table and "8081" not in table



def test_a_sandbox_reaches_its_own_and_its_neighbours_ipv6_port(host, outside6, bridge_nf):
    """Hairpin over IPv6, with bridge netfilter on and off: the DNAT'ed packet
    goes back out of the port it came in on (hairpin mode) and is masqueraded
    to the gateway (the IPv6 twin of the per-network rule), so the reply comes
    back through the host."""
    e = host.engine
    e.network_create("web", subnet=["10.12.0.0/24", "fd00:30::/64"])
    assert host.cli("sandbox", "create", "srv", "--network", "web", "-p", "8090:80").returncode == 0
    e.sandbox_create("next", networks=["web"])
    srv, nxt = host.prefix + "srv", host.prefix + "next"
    assert served(srv, srv, HOST_IP6, 8090, 80) == "PING fd00:30::1"  # its own port, through the host
    assert served(srv, nxt, HOST_IP6, 8090, 80) == "PING fd00:30::1"  # a neighbour on the same bridge
