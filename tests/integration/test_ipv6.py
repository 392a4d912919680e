"""IPv6 with real packets: dual-stack and IPv6-only bridge networks (ping -6 and
TCP between sandboxes and to the gateway, addresses usable at once), direct
links and static routes through a routing sandbox, names (AAAA, ip6.arpa)."""

import json
import os
import socket
import subprocess
import time

from dnslib import QTYPE, RCODE, DNSRecord

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


def ask(host, sandbox, server, name, qtype="A", timeout=5.0):
    """One query from inside the sandbox to server:53 (an IPv4 or IPv6 address);
    the reply, or None. Sent again while unanswered (nobody waits for the
    server to start: the first query waits in the socket, or is refused
    while the sockets are being made)."""
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    sock = host.engine.kernel.socket_in(host.engine.netns_name(sandbox), family, socket.SOCK_DGRAM)
    try:
        sock.settimeout(0.5)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            q = DNSRecord.question(name, qtype)
            try:
                sock.sendto(q.pack(), (server, 53))
                reply = DNSRecord.parse(sock.recvfrom(65535)[0])
            except (TimeoutError, ConnectionRefusedError):
                continue
            if reply.header.id == q.header.id:
                return reply
        return None
    finally:
        sock.close()


def answers(reply) -> list[str]:
    return sorted(str(rr.rdata) for rr in reply.rr)


def test_names_of_both_families_scoped_and_asked_over_both(host):
    e = host.engine
    e.network_create("ds", subnet=["10.63.0.0/24", "fd00:63::/64"])
    e.network_create("other", subnet=["10.64.0.0/24", "fd00:64::/64"])
    e.network_create("six", subnet="fd00:65::/64")
    e.sandbox_create("a", networks=["ds"])
    e.sandbox_create("b", networks=["ds"])
    e.sandbox_create("c", networks=["other"])
    e.sandbox_create("d", networks=["six"])
    e.sandbox_create("f", networks=["six"])
    for server in ("127.0.0.11", "::1"):  # the resolver over both families
        reply = ask(host, "a", server, "b", "AAAA")
        assert reply is not None and answers(reply) == ["fd00:63::3"], (server, reply)
    assert answers(ask(host, "a", "::1", "b", "A")) == ["10.63.0.3"]
    reply = ask(host, "a", "::1", "3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.6.0.0.0.0.d.f.ip6.arpa", "PTR")
    assert answers(reply) == ["b."]
    reply = ask(host, "c", "::1", "b", "AAAA")  # another network's name does not exist for c
    assert reply.header.rcode == RCODE.NXDOMAIN and reply.rr == []
    assert reply.q.qtype == QTYPE.AAAA
    # The C library through resolv.conf, in an IPv6-only sandbox too.
    assert in_ns(host.prefix + "a", "getent", "ahostsv6", "b").stdout.split()[0] == "fd00:63::3"
    assert in_ns(host.prefix + "d", "getent", "hosts", "f").stdout.split()[0] == "fd00:65::3"
    assert in_ns(host.prefix + "d", "getent", "hosts", "fd00:65::3").stdout.split()[1] == "f"
    assert answers(ask(host, "d", "::1", "f", "AAAA")) == ["fd00:65::3"]
    # A sandbox that gains an IPv6 address gets a resolver on ::1 too.
    e.network_create("four", subnet="10.66.0.0/24")
    e.sandbox_create("g", networks=["four"])
    assert answers(ask(host, "g", "127.0.0.11", "g")) == ["10.66.0.2"]
    e.network_connect("ds", "g")
    reply = ask(host, "g", "::1", "a", "AAAA")
    assert reply is not None and answers(reply) == ["fd00:63::2"]


def test_cni_attaches_dual_stack_containers(host):
    """Through libcni: a dual-stack config, results with an address and a default
    route of each family, CHECK against both, ping -6 and TCP between containers."""
    from .cni_env import Cni

    cni = Cni(host)
    names = [f"{host.name}c{i}" for i in range(2)]
    try:
        for n in names:
            sh("ip", "netns", "add", n)
            sh("ip", "-n", n, "link", "set", "lo", "up")
        c0, c1 = (f"/run/netns/{n}" for n in names)
        conf = cni.conf(subnet=["10.89.0.0/24", "fd00:89::/64"])
        code, res = cni.libcni("add", conf, c0, "ctr0", cap={"ips": ["fd00:89::50"]})
        assert code == 0, res
        assert res["ips"] == [{"address": "10.89.0.2/24", "gateway": "10.89.0.1", "interface": 1},
                              {"address": "fd00:89::50/64", "gateway": "fd00:89::1", "interface": 1}]
        assert res["routes"] == [{"dst": "0.0.0.0/0", "gw": "10.89.0.1"}, {"dst": "::/0", "gw": "fd00:89::1"}]
        assert res["dns"] == {"nameservers": ["127.0.0.11", "::1"]}
        code, res1 = cni.libcni("add", conf, c1, "ctr1")
        assert code == 0 and res1["ips"][1]["address"] == "fd00:89::2/64", res1
        assert ping6(names[1], "fd00:89::50") and ping6(names[0], "fd00:89::1")
        assert roundtrip(names[0], names[1], "fd00:89::50") == "PING fd00:89::2"
        assert cni.libcni("check", conf, c0, "ctr0") == (0, {})
        sh("ip", "-n", names[0], "-6", "addr", "del", "fd00:89::50/64", "dev", "eth0")  # drift: CHECK notices
        code, err = cni.libcni("check", conf, c0, "ctr0")
        assert code == 1 and err["code"] == 999, err
        for container, path in (("ctr0", c0), ("ctr1", c1)):
            assert cni.libcni("del", conf, path, container) == (0, {})
        assert host.engine.endpoint_rows() == []
    finally:
        for n in names:
            subprocess.run(["ip", "netns", "del", n], capture_output=True)
        cni.destroy()


def test_a_dual_stack_topology_up_checked_over_both_families_and_down(host):
    path = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "dual-stack.yaml")
    r = host.cli("up", path)
    assert r.returncode == 0, r.stderr
    assert host.cli("up", path).stdout.strip().endswith("0 changes")
    r = host.cli("--json", "check", path)
    report = json.loads(r.stdout)
    assert r.returncode == 0 and report["ok"], report["expectations"]
    assert report["partial"] == {}
    assert report["matrix"]["web"] == {"app": True, "store": False, "edge": False}
    # IPv6 broken for one sandbox: the pairs to it answer over IPv4 only, and its `reach` fails.
    sh("ip", "-n", host.engine.netns_name("app"), "-6", "addr", "del", "fd00:60::10/64", "dev", "eth0")
    r = host.cli("check", path)
    assert r.returncode == 1
    assert "over one family only" in r.stdout
    report = json.loads(host.cli("--json", "check", path).stdout)
    assert report["partial"]["web"] == {"app": [4]}
    assert any(e["text"] == "web <-> app" and e["ok"] is False and "IPv4 only" in e["detail"]
               for e in report["expectations"])
    r = host.cli("up", path)  # the drift is repaired
    assert r.returncode == 0 and "~ repair sandbox app" in r.stdout, r.stdout
    assert host.cli("check", path).returncode == 0
    assert host.cli("down", path).returncode == 0
    assert host.sandbox_namespaces() == []
