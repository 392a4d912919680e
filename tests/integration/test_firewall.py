"""Firewall: outbound NAT, internal networks, published ports, isolation,
ownership. Real packets between a throwaway host, its sandboxes and an
'outside' namespace."""

import json
import subprocess

import pytest

from .helpers import blocked, ping, sh
from .outside import HOST_IP, OUTSIDE_IP
from .traffic import roundtrip


def nft_tables(ns):
    return sh("ip", "netns", "exec", ns, "nft", "list", "tables").stdout.split("\n")


def test_outbound_nat_masquerades(host, outside):
    host.engine.network_create("n", subnet="10.1.0.0/24")
    host.engine.sandbox_create("s", networks=["n"])
    assert sh("ip", "netns", "exec", host.name, "sysctl", "-n", "net.ipv4.ip_forward").stdout.strip() == "1"
    # the outside server sees the host's outside address, not the sandbox's
    assert roundtrip(outside.name, host.prefix + "s", OUTSIDE_IP) == f"PING {HOST_IP}"
    assert roundtrip(outside.name, host.prefix + "s", OUTSIDE_IP, proto="udp") == f"PING {HOST_IP}"


def test_no_masquerade_keeps_sandbox_address(host, outside):
    host.engine.network_create("n", subnet="10.2.0.0/24", masquerade=False)
    host.engine.sandbox_create("s", networks=["n"])
    sh("ip", "-n", outside.name, "route", "add", "10.2.0.0/24", "via", HOST_IP)
    assert roundtrip(outside.name, host.prefix + "s", OUTSIDE_IP) == "PING 10.2.0.2"


def test_internal_network_reaches_only_itself(host, outside, bridge_nf):
    """"No traffic beyond the network": not the outside, not other networks, not
    the host's services (on any of its addresses, the gateway's included), not
    other networks' published ports through DNAT. The host still reaches it."""
    r = host.cli("network", "create", "int", "--internal", "--subnet", "10.3.0.0/24")
    assert r.returncode == 0, r.stderr
    host.engine.network_create("other", subnet="10.4.0.0/24")
    host.engine.sandbox_create("a", networks=["int"])
    host.engine.sandbox_create("b", networks=["int"])
    host.engine.sandbox_create("c", networks=["other"], publish=["8080:80"])
    a, c = host.prefix + "a", host.prefix + "c"
    assert ping(a, "10.3.0.3")  # same network
    assert blocked(a, OUTSIDE_IP)  # not the outside
    assert blocked(a, "10.4.0.2")  # not other networks
    assert blocked(c, "10.3.0.2")
    assert serve(c, outside.name, HOST_IP, 8080, 80) == f"PING {OUTSIDE_IP}"  # the port works ...
    for addr in (HOST_IP, "10.3.0.1", "10.4.0.1"):  # ... but not from the internal network
        assert serve(c, a, addr, 8080, 80) is None, addr
    for addr in (HOST_IP, "10.3.0.1"):  # nor the host's own services
        assert roundtrip(host.name, a, addr, port=7070) is None, addr
    assert blocked(a, HOST_IP) and blocked(a, "10.3.0.1")
    assert ping(host.name, "10.3.0.2")  # the host reaches it (the replies come back)
    assert roundtrip(a, host.name, "10.3.0.2", port=7071) == "PING 10.3.0.1"
    r = host.cli("network", "connect", "int", "c", "-p", "8080:80")
    assert r.returncode == 2 and "internal" in r.stderr


def test_a_peer_routing_a_subnet_via_the_host_reaches_only_published_ports(host, outside, bridge_nf):
    """Docker 28's rule: a LAN peer with `ip route add SUBNET via HOST` reaches a
    sandbox's published ports at its own address, and nothing else; a network
    made with --allow-direct-routing lets it reach every port."""
    e = host.engine
    e.network_create("n", subnet="10.25.0.0/24")
    r = host.cli("network", "create", "open", "--subnet", "10.26.0.0/24", "--allow-direct-routing")
    assert r.returncode == 0, r.stderr
    e.sandbox_create("s", networks=["n"], publish=["8080:80", "5353:53/udp"])
    e.sandbox_create("t", networks=["open"])
    sh("ip", "-n", outside.name, "route", "add", "10.25.0.0/24", "via", HOST_IP)
    sh("ip", "-n", outside.name, "route", "add", "10.26.0.0/24", "via", HOST_IP)
    s, t = host.prefix + "s", host.prefix + "t"
    assert serve(s, outside.name, "10.25.0.2", 80, 80) == f"PING {OUTSIDE_IP}"  # published: reached directly
    assert serve(s, outside.name, "10.25.0.2", 53, 53, "udp") == f"PING {OUTSIDE_IP}"
    assert serve(s, outside.name, HOST_IP, 8080, 80) == f"PING {OUTSIDE_IP}"  # and through the host
    assert serve(s, outside.name, "10.25.0.2", 81, 81) is None  # unpublished: dropped
    assert serve(s, outside.name, "10.25.0.2", 8080, 8080) is None  # the host port is not the sandbox's
    assert not ping(outside.name, "10.25.0.2")
    assert serve(t, outside.name, "10.26.0.2", 81, 81) == f"PING {OUTSIDE_IP}"  # opted out: every port
    assert ping(outside.name, "10.26.0.2")
    assert ping(s, OUTSIDE_IP) and ping(t, OUTSIDE_IP)  # their own connections out are answered
    e.port_unpublish("s", ["8080:80"])
    assert serve(s, outside.name, "10.25.0.2", 80, 80) is None  # unpublished again
    assert json.loads(host.cli("--json", "network", "inspect", "open").stdout)["options"]["direct_routing"] is True


def test_isolation_between_networks(host):
    e = host.engine
    e.network_create("devops", subnet="192.168.1.0/24")
    e.network_create("db", subnet="192.168.2.0/24")
    e.sandbox_create("web1", networks=["devops"])
    e.sandbox_create("db1", networks=["db"])
    e.sandbox_create("ns", networks=["devops", "db"])
    web1, db1, ns = (host.prefix + x for x in ("web1", "db1", "ns"))
    assert blocked(web1, "192.168.2.2") and blocked(db1, "192.168.1.2")  # blocked both ways
    assert ping(ns, "192.168.1.2") and ping(ns, "192.168.2.2")  # on both: reaches both
    assert ping(host.name, "192.168.1.2") and ping(host.name, "192.168.2.2")  # the host reaches all
    assert ping(web1, "192.168.1.3")


class TestPublishedPorts:
    @pytest.fixture
    def lab(self, host, outside, bridge_nf):
        e = host.engine
        e.network_create("web", subnet="10.10.0.0/24")
        e.network_create("other", subnet="10.11.0.0/24")
        r = host.cli("sandbox", "create", "srv", "--network", "web", "-p", "8080:80", "-p", "5353:53/udp",
                     "-p", "127.0.0.1:9090:90", "-p", "7000-7002:7100-7102")
        assert r.returncode == 0, r.stderr
        e.sandbox_create("peer", networks=["web"])
        e.sandbox_create("far", networks=["other"])
        return host, outside

    def test_from_outside_with_real_client_address(self, lab):
        host, outside = lab
        srv = host.prefix + "srv"
        assert serve(srv, outside.name, HOST_IP, 8080, 80) == f"PING {OUTSIDE_IP}"
        assert serve(srv, outside.name, HOST_IP, 5353, 53, "udp") == f"PING {OUTSIDE_IP}"
        assert serve(srv, outside.name, HOST_IP, 7001, 7101) == f"PING {OUTSIDE_IP}"

    def test_from_the_host_itself(self, lab):
        host, _ = lab
        srv = host.prefix + "srv"
        assert serve(srv, host.name, "127.0.0.1", 8080, 80) is not None
        assert serve(srv, host.name, HOST_IP, 8080, 80) is not None
        assert serve(srv, host.name, "10.10.0.1", 8080, 80) is not None
        assert serve(srv, host.name, "127.0.0.1", 9090, 90) is not None

    def test_hairpin_from_sandboxes(self, lab):
        host, _ = lab
        srv = host.prefix + "srv"
        # a sandbox reaches its own published port (with br_netfilter the DNAT'ed
        # packet is bridged back out of the port it came in on: hairpin mode), and
        # its reply comes back through the host (the gateway is the source)
        assert serve(srv, srv, HOST_IP, 8080, 80) == "PING 10.10.0.1"
        assert serve(srv, srv, "10.10.0.1", 8080, 80) == "PING 10.10.0.1"
        assert serve(srv, srv, HOST_IP, 5353, 53, "udp") == "PING 10.10.0.1"
        assert serve(srv, host.prefix + "peer", HOST_IP, 8080, 80) == "PING 10.10.0.1"  # same network
        assert serve(srv, host.prefix + "peer", "10.10.0.1", 8080, 80) == "PING 10.10.0.1"
        assert serve(srv, host.prefix + "far", HOST_IP, 8080, 80) is not None  # another network
        assert serve(srv, host.prefix + "far", "10.11.0.1", 8080, 80) is not None

    def test_loopback_port_is_not_reachable_from_outside(self, lab):
        """moby#45610: a LAN peer routing 127.0.0.1 to the host must not reach it."""
        host, outside = lab
        sh("ip", "netns", "exec", outside.name, "sysctl", "-qw", "net.ipv4.conf.all.route_localnet=1")
        sh("ip", "netns", "exec", outside.name, "sysctl", "-qw", "net.ipv4.conf.eth0.route_localnet=1")
        # the outside's own 127/8 must not swallow the packet: take it off its lo
        sh("ip", "-n", outside.name, "addr", "del", "127.0.0.1/8", "dev", "lo")
        sh("ip", "-n", outside.name, "route", "add", "127.0.0.1/32", "via", HOST_IP, "dev", "eth0")
        assert serve(host.prefix + "srv", outside.name, "127.0.0.1", 9090, 90, tries=1) is None
        assert serve(host.prefix + "srv", outside.name, HOST_IP, 9090, 90, tries=1) is None  # only on 127.0.0.1

    def test_port_listing_and_unpublish(self, lab):
        host, _ = lab
        ports = json.loads(host.cli("--json", "port", "srv").stdout)
        assert len(ports) == 6 and {p["host_port"] for p in ports} == {8080, 5353, 9090, 7000, 7001, 7002}
        assert "8080" in host.cli("sandbox", "inspect", "srv").stdout
        assert host.cli("network", "disconnect", "web", "srv").returncode == 0
        elements = sh("ip", "netns", "exec", host.name, "nft", "-j", "list", "map", "inet", "nsnet",
                      "pub_any_addr").stdout
        assert "8080" not in elements and "srv" not in elements
        assert json.loads(host.cli("--json", "port").stdout) == []

    def test_conflicts_are_refused(self, lab):
        host, _ = lab
        r = host.cli("network", "connect", "web", "far", "-p", "8080:81")
        assert r.returncode == 4 and "already published by sandbox 'srv'" in r.stderr
        listener = subprocess.Popen(["ip", "netns", "exec", host.name, "python3", "-c",
                                     "import socket,time;s=socket.socket();s.bind(('0.0.0.0',6060));"
                                     "s.listen();print('ok',flush=True);time.sleep(30)"], stdout=subprocess.PIPE,
                                    text=True)
        try:
            assert listener.stdout.readline().strip() == "ok"
            r = host.cli("network", "connect", "web", "far", "-p", "6060:80")
            assert r.returncode == 4 and "in use by a socket" in r.stderr
        finally:
            listener.kill()
            listener.wait()
        for spec, text in (("70000:80", "out of range"), ("80:80/sctp", "not tcp or udp"), ("1-3:1-2", "differ"),
                           ("10.9.9.9:80:80", "not an address of the host"), ("abc", "expected")):
            r = host.cli("network", "connect", "web", "far", "-p", spec)
            assert r.returncode == 2 and text in r.stderr, (spec, r.stderr)


def serve(server_ns, client_ns, addr, host_port, sandbox_port, proto="tcp", tries=5):
    return roundtrip(server_ns, client_ns, addr, port=host_port, proto=proto, server_port=sandbox_port, tries=tries)


def test_ownership_and_reload(host, outside, bridge_nf):
    """Other tables, routes and sysctls are identical after a full cycle; the
    table can be rebuilt from the store after `nft flush ruleset`."""
    sh("ip", "netns", "exec", host.name, "nft", "add table inet usertable; "
       "add chain inet usertable c { type filter hook forward priority 10; }; add rule inet usertable c accept")

    def world():
        rules = sh("ip", "netns", "exec", host.name, "nft", "list", "ruleset").stdout
        routes = sh("ip", "-n", host.name, "route").stdout
        sysctl = sh("ip", "netns", "exec", host.name, "sysctl", "net.ipv4.ip_forward").stdout
        return rules, routes, sysctl

    before = world()
    e = host.engine
    e.network_create("n", subnet="10.20.0.0/24")
    e.sandbox_create("s", networks=["n"], publish=["8080:80"])
    rules = sh("ip", "netns", "exec", host.name, "nft", "list", "table", "inet", "nsnet").stdout
    assert 'comment "sandbox s (n)"' in rules and 'comment "nsnet network n: outbound NAT"' in rules
    assert "table inet usertable" in sh("ip", "netns", "exec", host.name, "nft", "list", "tables").stdout
    # reload after a flush
    sh("ip", "netns", "exec", host.name, "nft", "flush", "ruleset")
    assert serve(host.prefix + "s", outside.name, HOST_IP, 8080, 80, tries=1) is None
    r = host.cli("firewall", "reload")
    assert r.returncode == 0, r.stderr
    assert serve(host.prefix + "s", outside.name, HOST_IP, 8080, 80) == f"PING {OUTSIDE_IP}"
    sh("ip", "netns", "exec", host.name, "nft", "add table inet usertable; "
       "add chain inet usertable c { type filter hook forward priority 10; }; add rule inet usertable c accept")
    e.sandbox_rm("s")
    e.network_rm("n")
    assert world() == before


def test_dry_run_shows_nft_commands(host):
    r = host.cli("network", "create", "n", "--subnet", "10.30.0.0/24", "--dry-run")
    assert "nft 'add table inet nsnet'" in r.stdout and "sysctl -w net.ipv4.ip_forward=1" in r.stdout
    assert "nsnet" not in sh("ip", "netns", "exec", host.name, "nft", "list", "tables").stdout


def test_publish_rebuilds_a_flushed_table(host, outside, bridge_nf):
    """Ports are added as map elements only; if someone flushed the ruleset,
    the publish rebuilds nsnet's whole table instead of failing."""
    e = host.engine
    e.network_create("n", subnet="10.21.0.0/24")
    e.sandbox_create("s", networks=["n"], publish=["8080:80"])
    sh("ip", "netns", "exec", host.name, "nft", "flush", "ruleset")
    e.port_publish("s", ["8081:81"])
    assert serve(host.prefix + "s", outside.name, HOST_IP, 8080, 80) == f"PING {OUTSIDE_IP}"
    assert serve(host.prefix + "s", outside.name, HOST_IP, 8081, 81) == f"PING {OUTSIDE_IP}"


def test_port_elements_sent_over_nfnetlink_match_libnftables(host):
    """Published ports go as nfnetlink element batches (kernel/netlink/nftables.py), not
    through libnftables; the kernel holds exactly what libnftables makes of the
    same ports (a `firewall reload` rebuilds them through libnftables)."""
    e = host.engine
    e.network_create("n", subnet=["10.22.0.0/24", "fd00:22::/64"])
    e.sandbox_create("s", networks=["n"], publish=["0.0.0.0:8080:80", "127.0.0.1:5353:53/udp",
                                                   "0.0.0.0:7000-7001:7100-7101", "[::]:8443:443/udp"])
    e.port_publish("s", ["9000:90"])  # on both families
    e.port_unpublish("s", ["0.0.0.0:7001:7101"])
    assert e.kernel._nft._wire is not None  # the element batches took the fast path

    def maps():
        listing = json.loads(sh("ip", "netns", "exec", host.name, "nft", "-j", "list", "table", "inet", "nsnet").stdout)
        return {m["map"]["name"]: sorted(json.dumps(el, sort_keys=True) for el in m["map"].get("elem", []))
                for m in listing["nftables"] if "map" in m}

    fast = maps()
    assert len(fast["pub_any_addr"]) == 3 and len(fast["pub_ip_port"]) == 1
    assert len(fast["pub_any6_addr"]) == 2 and "fd00:22::2" in fast["pub_any6_addr"][0]
    assert '"comment": "sandbox s (n)"' in fast["pub_any_port"][0]
    e.firewall_reload()
    assert maps() == fast


def test_an_element_batch_is_one_transaction(host):
    """A failing element batch over nfnetlink changes nothing, and says why."""
    from nsnet.errors import KernelError
    from nsnet.firewall import ruleset

    e = host.engine
    e.network_create("n", subnet="10.23.0.0/24")
    e.sandbox_create("s", networks=["n"], publish=["8080:80"])
    port = {"sandbox": "s", "network": "n", "sandbox_ip": "10.23.0.9", "host_ip": "", "proto": "tcp",
            "sandbox_port": 80}
    new = ruleset.port_batches([dict(port, host_port=8081)])[0]
    clash = ruleset.port_batches([dict(port, host_port=8080)])[0]  # 8080 leads elsewhere already
    with pytest.raises(KernelError, match="File exists"):
        e.kernel.nft({"nftables": new["nftables"] + clash["nftables"]})
    elements = sh("ip", "netns", "exec", host.name, "nft", "list", "map", "inet", "nsnet", "pub_any_addr").stdout
    assert "8080" in elements and "8081" not in elements


def test_one_port_of_a_sandbox_on_two_networks(host, outside, bridge_nf):
    """`podman run --network a,b -p 8080:80`: the port forwards to the first
    network's address, and to the second's once the first is gone."""
    e = host.engine
    e.network_create("a", subnet="10.13.0.0/24")
    e.network_create("b", subnet="10.14.0.0/24")
    e.sandbox_create("s", networks=["a"], publish=["8080:80"])
    e.network_connect("b", "s", publish=["8080:80"])
    srv = host.prefix + "s"
    assert serve(srv, outside.name, HOST_IP, 8080, 80) == f"PING {OUTSIDE_IP}"
    assert e.drift() == []
    e.network_disconnect("a", "s")
    addrs = sh("ip", "netns", "exec", host.name, "nft", "list", "map", "inet", "nsnet", "pub_any_addr").stdout
    assert "10.14.0.2" in addrs and "10.13.0.2" not in addrs
    assert serve(srv, outside.name, HOST_IP, 8080, 80) == f"PING {OUTSIDE_IP}"
    e.network_disconnect("b", "s")
    assert e.port_ls() == [] and "8080" not in sh("ip", "netns", "exec", host.name, "nft", "list", "map",
                                                    "inet", "nsnet", "pub_any_addr").stdout


def test_hairpin_mode_of_a_publishing_port_is_drift_and_is_repaired(host):
    e = host.engine
    e.network_create("n", subnet="10.24.0.0/24")
    e.sandbox_create("quiet", networks=["n"])
    e.sandbox_create("s", networks=["n"], publish=["8080:80"])
    port = e.endpoint_get("n", "s")["host_ifname"]

    def hairpin(ifname):
        return "hairpin on" in sh("ip", "-d", "-n", host.name, "link", "show", ifname).stdout

    assert hairpin(port) and not hairpin(e.endpoint_get("n", "quiet")["host_ifname"])  # only where it is needed
    assert f"ip -n {host.name} link set {port} type bridge_slave hairpin on" in e.explain()
    assert e.drift() == []
    sh("ip", "-n", host.name, "link", "set", port, "type", "bridge_slave", "hairpin", "off")
    assert [d.step.kind for d in e.drift()] == ["bridge_port_hairpin"]
    assert e.repair()["errors"] == [] and hairpin(port) and e.drift() == []


def test_a_host_namespace_with_lo_down_gets_it_up(host, bridge_nf):
    """A --host-netns made with a bare `ip netns add` has lo down: nsnet brings
    it up with the first network, so ports published on 127.0.0.1 work."""
    sh("ip", "-n", host.name, "link", "set", "lo", "down")
    e = host.engine
    e.network_create("n", subnet="10.27.0.0/24")
    e.sandbox_create("s", networks=["n"], publish=["127.0.0.1:9090:90"])
    assert "<LOOPBACK,UP" in sh("ip", "-n", host.name, "-br", "link", "show", "lo").stdout
    assert serve(host.prefix + "s", host.name, "127.0.0.1", 9090, 90) is not None
    sh("ip", "-n", host.name, "link", "set", "lo", "down")  # behind nsnet's back: drift, repaired
    assert [d.step.kind for d in e.drift()] == ["link_up"]
    assert e.repair()["errors"] == [] and e.drift() == []
