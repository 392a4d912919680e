"""Name resolution inside networks, end to end: nsnet's DNS server answers each
sandbox on 127.0.0.11 in the sandbox's own namespace, with the names of the
networks that sandbox is on; an upstream DNS server of the test's own in the
outside namespace (never a real resolver) answers the rest."""

import json
import os
import shutil
import subprocess
import time

import pytest
from dnslib import RCODE

from nsnet.dns.server import STALE_MAX

from .dns_server_env import Client, addrs
from .helpers import Host, in_ns, ping, wait_until
from .outside import HOST_IP, OUTSIDE_IP
from .traffic import roundtrip

UPSTREAM = r"""
import socket, sys
from dnslib import A, QTYPE, RR, DNSRecord
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 53)); s.settimeout(60)
print("ready", flush=True)
while True:
    data, peer = s.recvfrom(4096)
    q = DNSRecord.parse(data); r = q.reply()
    if str(q.q.qname).rstrip(".") == "example.test":
        r.add_answer(RR(q.q.qname, QTYPE.A, rdata=A("10.77.0.99"), ttl=60))
    s.sendto(r.pack(), peer)
"""

LOOKUP = r"""
import socket, sys
try:
    print(socket.getaddrinfo(sys.argv[1], None, socket.AF_INET)[0][4][0])
except socket.gaierror:
    print("NXDOMAIN"); sys.exit(2)
"""


def resolve(ns, name):
    r = in_ns(ns, "getent", "hosts", name)
    return r.stdout.split()[0] if r.returncode == 0 else None


def ask(ns, server, name, timeout=0.5):
    """One query from inside `ns` to server:53; the reply, or None (no answer)."""
    c = Client(ns)
    try:
        return c.query(server, name, timeout=timeout)
    finally:
        c.close()


@pytest.fixture
def dns_lab(host, outside):
    etc = f"/etc/netns/{host.name}"
    os.makedirs(etc, exist_ok=True)
    with open(f"{etc}/resolv.conf", "w") as f:
        f.write(f"nameserver {OUTSIDE_IP}\n")  # the host namespace's upstream
    upstream = subprocess.Popen(["ip", "netns", "exec", outside.name, os.environ.get("PYTHON", "python3"), "-c",
                                 UPSTREAM], stdout=subprocess.PIPE, text=True,
                                env=dict(os.environ, PYTHONPATH=os.pathsep.join(__import__("sys").path)))
    try:
        assert upstream.stdout.readline().strip() == "ready"
        e = host.engine
        e.network_create("devops", subnet="192.168.1.0/24")
        e.network_create("db", subnet="192.168.2.0/24")
        e.sandbox_create("web1", networks=["devops"])
        e.sandbox_create("db1", networks=["db"])
        e.sandbox_create("ns", networks=["devops"])
        e.network_connect("db", "ns", aliases=["database"])
        # Nobody waits for the server to start: the first query waits in the sandbox's socket.
        assert resolve(host.prefix + "db1", "database") == "192.168.2.3"
        yield host
    finally:
        upstream.kill()
        upstream.wait()
        shutil.rmtree(etc, ignore_errors=True)


def test_names_resolve_within_the_askers_networks_only(dns_lab):
    host = dns_lab
    web1, ns, db1 = (host.prefix + x for x in ("web1", "ns", "db1"))
    assert resolve(web1, "ns") == "192.168.1.3"
    assert resolve(web1, "db1") is None  # another network: NXDOMAIN
    assert resolve(db1, "web1") is None
    assert resolve(db1, "ns") == "192.168.2.3"  # found under its address on the shared network
    assert resolve(db1, "database") == "192.168.2.3"  # alias
    assert resolve(ns, "db1") == "192.168.2.2"  # multi-homed: sees both networks
    assert resolve(ns, "web1") == "192.168.1.2"
    r = host.cli("exec", "web1", "--", "python3", "-c", LOOKUP, "ns")
    assert r.stdout.strip() == "192.168.1.3"  # getaddrinfo via nsnet exec
    with open(f"/etc/netns/{web1}/resolv.conf") as f:
        assert "nameserver 127.0.0.11\n" in f.read()
    # One file for every sandbox: /etc/netns/NETNS is a link to it.
    assert os.readlink(f"/etc/netns/{web1}") == os.readlink(f"/etc/netns/{db1}")


def test_the_address_a_query_is_sent_to_does_not_widen_what_a_sandbox_sees(dns_lab):
    """A sandbox on devops asking at the db network's gateway must not learn db's
    names: answers go by who asks, and the gateways serve no DNS at all."""
    host = dns_lab
    web1 = host.prefix + "web1"
    reply = ask(web1, "127.0.0.11", "db1")
    assert reply is not None and reply.header.rcode == RCODE.NXDOMAIN
    for gateway in ("192.168.2.1", "192.168.1.1"):
        assert ask(web1, gateway, "db1", timeout=0.3) is None
    assert addrs(ask(web1, "127.0.0.11", "ns")) == ["192.168.1.3"]


def test_peers_outside_the_host_cannot_use_the_server(dns_lab, outside):
    host = dns_lab
    subprocess.run(["ip", "-n", outside.name, "route", "add", "192.168.0.0/16", "via", HOST_IP], check=True)
    # routed to the sandboxes' subnets: the gateways answer (the sandboxes themselves publish
    # nothing, so the host does not route to them: test_firewall)
    assert ping(outside.name, "192.168.1.1") and not ping(outside.name, "192.168.1.2")
    for server in (HOST_IP, "192.168.1.1", "192.168.2.1"):  # (its own 127.0.0.11 is its upstream's)
        assert ask(outside.name, server, "web1", timeout=0.3) is None, server
    assert addrs(ask(host.prefix + "web1", "127.0.0.11", "ns")) == ["192.168.1.3"]


def test_host_port_53_can_be_published(dns_lab, outside):
    host = dns_lab
    r = host.cli("sandbox", "create", "resolver", "--network", "devops", "-p", "53:53/udp", "-p", "53:53/tcp")
    assert r.returncode == 0, r.stderr
    srv = host.prefix + "resolver"
    # A server of the sandbox's own on 0.0.0.0:53/udp (SO_REUSEADDR) sits beside the resolver;
    # on TCP it takes the sandbox's address (127.0.0.11:53/tcp is the resolver's).
    assert roundtrip(srv, outside.name, HOST_IP, 53, "udp") == f"PING {OUTSIDE_IP}"
    ip = host.engine.sandbox_inspect("resolver")["endpoints"][0]["ip"]
    assert roundtrip(srv, outside.name, HOST_IP, 53, "tcp", bind=ip) == f"PING {OUTSIDE_IP}"
    assert addrs(ask(srv, "127.0.0.11", "web1")) == ["192.168.1.2"]  # its own resolver still answers it


def test_reverse_and_forwarded_lookups(dns_lab):
    host = dns_lab
    web1 = host.prefix + "web1"
    r = in_ns(web1, "getent", "hosts", "192.168.1.3")
    assert r.returncode == 0 and "ns" in r.stdout.split()[1:]
    assert resolve(web1, "example.test") == "10.77.0.99"  # forwarded to the upstream
    assert in_ns(web1, "getent", "hosts", "192.168.2.2").returncode != 0  # db1's address: not its network


def test_names_follow_changes_at_once(dns_lab):
    host = dns_lab
    e = host.engine
    web1 = host.prefix + "web1"
    e.sandbox_create("late", networks=["devops"])
    assert resolve(web1, "late") == "192.168.1.4"
    assert resolve(host.prefix + "late", "web1") == "192.168.1.2"  # the new sandbox asks at once too
    e.network_disconnect("devops", "late")
    assert resolve(web1, "late") is None
    assert not os.path.exists(f"/etc/netns/{host.prefix}late")
    assert ask(host.prefix + "late", "127.0.0.11", "web1", timeout=0.3) is None  # its resolver went
    r = host.cli("network", "connect", "db", "late")  # (another process: one Engine's index cache is #14's)
    assert r.returncode == 0, r.stderr
    assert resolve(host.prefix + "late", "db1") == "192.168.2.2"
    e.sandbox_rm("late")
    e.sandbox_create("late", networks=["devops"])  # the same name, a new namespace
    assert resolve(host.prefix + "late", "ns") == "192.168.1.3"


def test_no_dns_and_internal_networks(dns_lab):
    host = dns_lab
    e = host.engine
    e.network_create("quiet", subnet="10.60.0.0/24", dns=False)
    e.network_create("int", subnet="10.61.0.0/24", internal=True)
    e.sandbox_create("q", networks=["quiet"])
    e.sandbox_create("i1", networks=["int"])
    e.sandbox_create("i2", networks=["int"])
    assert not os.path.exists(f"/etc/netns/{host.prefix}q")
    assert ask(host.prefix + "q", "127.0.0.11", "web1", timeout=0.3) is None
    assert resolve(host.prefix + "i1", "i2") == "10.61.0.3"  # internal still resolves its own
    assert resolve(host.prefix + "i1", "example.test") is None  # but does not go upstream


def test_a_users_own_etc_netns_directory_is_kept(dns_lab):
    host = dns_lab
    own = f"/etc/netns/{host.prefix}mine"
    os.makedirs(own)
    with open(f"{own}/hosts", "w") as f:
        f.write("10.9.9.9 mine-only\n")
    host.engine.sandbox_create("mine", networks=["devops"])
    assert sorted(os.listdir(own)) == ["hosts", "resolv.conf"]
    assert resolve(host.prefix + "mine", "web1") == "192.168.1.2"
    assert resolve(host.prefix + "mine", "mine-only") == "10.9.9.9"
    host.engine.sandbox_rm("mine")
    assert os.listdir(own) == ["hosts"]


def test_status_cli(dns_lab):
    r = dns_lab.cli("--json", "dns", "status")
    data = json.loads(r.stdout)
    assert data["pid"] and data["upstreams"] == [OUTSIDE_IP] and data["listen"] == ["127.0.0.11"]
    assert data["networks"]["db"]["names"] == ["database", "db1", "ns"]
    assert data["networks"]["db"]["sandboxes"] == ["db1", "ns"] and data["problems"] == []
    r = dns_lab.cli("network", "connect", "devops", "db1", "--alias", "bad_alias")
    assert r.returncode == 2 and "not a valid DNS name" in r.stderr


def test_attaches_cost_the_server_nothing_until_a_query(dns_lab):
    """Attaches only change records: the server reloads when the next query
    comes, not once per change during a burst."""
    host = dns_lab
    e = host.engine
    web1 = host.prefix + "web1"
    log = os.path.join(e.settings.state_dir, "dns", "server.log")

    def reloads():
        with open(log) as f:
            return f.read().count("reloaded:")

    assert resolve(web1, "ns") == "192.168.1.3"
    for attempt in range(3):  # a burst slowed by a busy machine towards STALE_MAX is tried again
        before = reloads()
        t0 = time.monotonic()
        for i in range(10):
            e.sandbox_create(f"burst{attempt}-{i}", networks=["devops"])
        time.sleep(0.3)  # more than the reload gap (20-80 ms) a network change would have waited
        after, took = reloads(), time.monotonic() - t0
        if took < 0.8 * STALE_MAX:
            break
    assert after == before
    assert resolve(web1, f"burst{attempt}-9") == f"192.168.1.{13 + 10 * attempt}"  # the query brings them up to date
    assert wait_until(lambda: reloads() == before + 1, timeout=2)


def test_both_families_resolve_and_an_ipv6_only_sandbox_asks_too(host):
    e = host.engine
    e.network_create("dual", subnet=["10.62.0.0/24", "fd00:62::/64"])
    e.network_create("six", subnet="fd00:63::/64")
    e.sandbox_create("a", networks=["dual"])
    e.sandbox_create("b", networks=["dual", "six"])
    e.sandbox_create("c", networks=["six"])
    a, c = host.prefix + "a", host.prefix + "c"
    # The first answer after the sandboxes are made waits for the server (started
    # after the commit): asked again, bounded, on a busy machine.
    assert wait_until(lambda: (lambda r: r is not None and addrs(r) == ["10.62.0.3"])(ask(a, "127.0.0.11", "b")),
                      timeout=10)
    c6 = Client(a)
    try:
        assert addrs(c6.query("127.0.0.11", "b", "AAAA")) == ["fd00:62::3"]
        ptr = c6.query("127.0.0.11", "3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.2.6.0.0.0.0.d.f.ip6.arpa", "PTR")
        assert [str(rr.rdata) for rr in ptr.rr] == ["b."]
    finally:
        c6.close()
    r = in_ns(c, "getent", "ahostsv6", "b")  # an IPv6-only sandbox has a resolver too
    assert r.returncode == 0 and "fd00:63::2" in r.stdout, r.stdout + r.stderr
    assert in_ns(c, "getent", "ahosts", "a").returncode != 0  # a is not on its network


def test_a_destroyed_test_host_leaves_no_etc_netns_entries():
    """The suite's own teardown (Host.destroy) unlinks the sandboxes' links."""
    h = Host("e")
    try:
        h.engine.network_create("n", subnet="10.63.0.0/24")
        h.engine.sandbox_create("a", networks=["n"])
        assert os.path.islink(f"/etc/netns/{h.prefix}a")
    finally:
        h.destroy()
    assert [e for e in os.listdir("/etc/netns") if e.startswith(h.prefix) or e == h.name] == []
