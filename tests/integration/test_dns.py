"""Name resolution inside networks, end to end: nsnet's DNS server in the
host namespace, resolv.conf in sandboxes, an upstream DNS server of the
test's own in the outside namespace (never a real resolver)."""

import json
import os
import shutil
import subprocess
import time

import pytest

from .helpers import in_ns, wait_until
from .outside import OUTSIDE_IP

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
        # the server reloads within 100 ms of a commit (at most one reload per 20 ms)
        assert wait_until(lambda: resolve(host.prefix + "db1", "database") is not None, timeout=1, interval=0.01)
        yield host
    finally:
        upstream.kill()
        upstream.wait()
        shutil.rmtree(etc, ignore_errors=True)


def test_names_resolve_within_networks_only(dns_lab):
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
        assert "nameserver 192.168.1.1" in f.read()


def test_reverse_and_forwarded_lookups(dns_lab):
    host = dns_lab
    web1 = host.prefix + "web1"
    r = in_ns(web1, "getent", "hosts", "192.168.1.3")
    assert r.returncode == 0 and "ns" in r.stdout.split()[1:]
    assert resolve(web1, "example.test") == "10.77.0.99"  # forwarded to the upstream


def test_updates_apply_quickly_and_server_comes_back(dns_lab):
    host = dns_lab
    e = host.engine
    web1 = host.prefix + "web1"
    e.sandbox_create("late", networks=["devops"])
    t0 = time.monotonic()
    assert wait_until(lambda: resolve(web1, "late") == "192.168.1.4", timeout=2, interval=0.01)
    assert time.monotonic() - t0 < 1.0
    e.network_disconnect("devops", "late")
    assert wait_until(lambda: resolve(web1, "late") is None, timeout=2, interval=0.01)
    pid = e.dns_pid()
    os.kill(pid, 9)
    assert wait_until(lambda: e.dns_pid() is None)
    e.sandbox_create("later", networks=["devops"])  # the next command brings it back
    assert e.dns_pid() not in (None, pid)
    assert resolve(web1, "later") == "192.168.1.4"


def test_no_dns_and_internal_networks(dns_lab):
    host = dns_lab
    e = host.engine
    e.network_create("quiet", subnet="10.60.0.0/24", dns=False)
    e.network_create("int", subnet="10.61.0.0/24", internal=True)
    e.sandbox_create("q", networks=["quiet"])
    e.sandbox_create("i1", networks=["int"])
    e.sandbox_create("i2", networks=["int"])
    assert not os.path.exists(f"/etc/netns/{host.prefix}q/resolv.conf")
    # internal still resolves its own (once the server has picked up the new network)
    assert wait_until(lambda: resolve(host.prefix + "i1", "i2") == "10.61.0.3", timeout=1, interval=0.01)
    assert resolve(host.prefix + "i1", "example.test") is None  # but does not go upstream


def test_server_stops_with_the_last_network(dns_lab):
    host = dns_lab
    e = host.engine
    pid = e.dns_pid()
    assert pid
    for name in ("web1", "db1", "ns"):
        e.sandbox_rm(name)
    e.network_rm("devops")
    assert e.dns_pid() == pid
    e.network_rm("db")
    assert e.dns_pid() is None and not os.path.exists(f"/proc/{pid}/cmdline")
    assert not os.path.exists(f"/etc/netns/{host.prefix}web1")


def test_status_cli(dns_lab):
    r = dns_lab.cli("--json", "dns", "status")
    data = json.loads(r.stdout)
    assert data["pid"] and data["upstreams"] == [OUTSIDE_IP]
    assert data["networks"]["db"]["names"] == ["database", "db1", "ns"]
    r = dns_lab.cli("network", "connect", "devops", "db1", "--alias", "bad_alias")
    assert r.returncode == 2 and "not a valid DNS name" in r.stderr


def test_attaches_cost_the_server_nothing_until_a_query(dns_lab):
    """Attaches only change records: the engine says so (SIGUSR1) and the server
    reloads when the next query comes, not once per change during a burst."""
    host = dns_lab
    e = host.engine
    web1 = host.prefix + "web1"
    log = os.path.join(e.settings.state_dir, "dns", "server.log")

    def reloads():
        with open(log) as f:
            return f.read().count("reloaded:")

    assert resolve(web1, "ns") == "192.168.1.3"
    before = reloads()
    for i in range(10):
        e.sandbox_create(f"burst{i}", networks=["devops"])
    time.sleep(0.3)  # more than the reload gap (20-80 ms) a SIGHUP would have waited
    assert reloads() == before
    assert resolve(web1, "burst9") == "192.168.1.13"  # the query itself brings the records up to date
    assert reloads() == before + 1
