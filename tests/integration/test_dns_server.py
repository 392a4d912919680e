"""The DNS server on real sockets, in throwaway network namespaces.

    ndca-*  eth0 192.168.1.2 ---- a0 192.168.1.1  \
    ndcb-*  eth0 192.168.2.9 ---- b0 192.168.2.1   ndsrv-*  (runs python -m nsnet.dns)
    ndup-*  eth0 10.77.0.2   ---- u0 10.77.0.1    /
            (a tiny dnslib upstream)

Queries are sent in-process from sockets created inside the client namespaces.
"""

import json
import os
import shutil
import socket
import threading
import time

import pytest
from dnslib import RCODE, DNSRecord

from . import dns_server_env as env
from .dns_server_env import BASE, Client, addrs, ip, ns_socket

topo, dns = env.topo, env.dns  # the fixtures, bound here for pytest

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces)"),
    pytest.mark.skipif(shutil.which("ip") is None, reason="needs iproute2"),
]


def test_answers_depend_on_the_network_asking(topo, dns):
    dns()
    ca, cb = topo["ca"], topo["cb"]
    assert addrs(ca.query("192.168.1.1", "web1")) == ["192.168.1.2"]
    assert addrs(ca.query("192.168.1.1", "DB.devops.")) == ["192.168.1.3"]
    assert addrs(cb.query("192.168.2.1", "ns")) == ["192.168.2.9"]
    # Sandboxes of the other network do not exist here (and are not forwarded:
    # the upstream would have answered 203.0.113.7).
    assert ca.query("192.168.1.1", "ns").header.rcode == RCODE.NXDOMAIN
    assert cb.query("192.168.2.1", "web1").header.rcode == RCODE.NXDOMAIN
    empty = ca.query("192.168.1.1", "web1", "AAAA")
    assert empty.header.rcode == RCODE.NOERROR and empty.rr == []
    ptr = ca.query("192.168.1.1", "2.1.168.192.in-addr.arpa", "PTR")
    assert [str(rr.rdata) for rr in ptr.rr] == ["web1.devops."]
    assert addrs(ca.query_tcp("192.168.1.1", "web1.devops")) == ["192.168.1.2"]


def test_forwarding_relays_upstream_answers_and_servfails_without_one(topo, dns):
    server = dns()
    ca = topo["ca"]
    reply = ca.query("192.168.1.1", "www.example.com")
    assert reply.header.rcode == RCODE.NOERROR and addrs(reply) == ["203.0.113.7"]
    assert ca.query("192.168.1.1", "nx.example.com").header.rcode == RCODE.NXDOMAIN
    assert addrs(ca.query_tcp("192.168.1.1", "tcp.example.com")) == ["203.0.113.7"]
    # Nobody at 10.77.0.3: after 0.3 s, on to the real one; then none answering at all.
    server.write({**BASE, "upstreams": ["10.77.0.3", "10.77.0.2"]})
    server.hup()
    time.sleep(0.2)
    t = time.monotonic()
    assert addrs(ca.query("192.168.1.1", "two.example.com", timeout=2)) == ["203.0.113.7"]
    assert 0.25 < time.monotonic() - t < 1.0
    server.write({**BASE, "upstreams": ["10.77.0.3"]})
    server.hup()
    time.sleep(0.2)
    reply = ca.query("192.168.1.1", "www.example.com", timeout=2)
    assert reply is not None and reply.header.rcode == RCODE.SERVFAIL


def test_internal_network_does_not_forward(topo, dns):
    cfg = json.loads(json.dumps(BASE))
    cfg["networks"]["devops"]["forward"] = False
    dns(cfg)
    reply = topo["ca"].query("192.168.1.1", "www.example.com")
    assert reply.header.rcode == RCODE.NXDOMAIN and reply.rr == []


@pytest.mark.parametrize("signal_it", [True, False], ids=["sighup", "mtime-poll"])
def test_reload_adds_a_name_within_100ms_while_queries_keep_flowing(topo, dns, signal_it):
    server = dns()
    ca, cb = topo["ca"], topo["cb"]
    results, stop = [], threading.Event()
    loop_client = Client(topo["ca"].ns)

    def hammer():  # bounded: at most 20 s or 50,000 queries
        end = time.monotonic() + 20
        for _ in range(50_000):
            if stop.is_set() or time.monotonic() > end:
                break
            results.append(loop_client.query("192.168.1.1", "web1", timeout=0.5))

    t = threading.Thread(target=hammer)
    t.start()
    try:
        time.sleep(0.2)
        before = server.sockets()
        cfg = json.loads(json.dumps(BASE))
        cfg["networks"]["devops"]["records"]["newbox"] = ["192.168.1.50"]
        cfg["networks"]["db"]["records"]["newbox"] = ["192.168.2.50"]
        t0 = time.monotonic()
        server.write(cfg)
        if signal_it:
            server.hup()
        seen = None
        while time.monotonic() - t0 < 2:
            r = ca.query("192.168.1.1", "newbox", timeout=0.5)
            if r is not None and addrs(r) == ["192.168.1.50"]:
                seen = time.monotonic() - t0
                break
        time.sleep(0.2)
    finally:
        stop.set()
        t.join(timeout=30)
        loop_client.close()
    assert seen is not None and seen <= 0.1, f"new name visible after {seen} s"
    assert before <= server.sockets()  # no listening socket was closed and reopened
    assert addrs(ca.query("192.168.1.1", "newbox")) == ["192.168.1.50"]
    assert addrs(cb.query("192.168.2.1", "newbox")) == ["192.168.2.50"]
    assert len(results) > 50
    lost = sum(r is None or addrs(r) != ["192.168.1.2"] for r in results)
    assert lost == 0, f"{lost} of {len(results)} queries failed during the reload"


def test_listen_addresses_come_and_go_with_the_config(topo, dns):
    cfg = json.loads(json.dumps(BASE))
    cfg["networks"]["late"] = {"listen": ["192.168.3.1"], "records": {"x": ["192.168.3.2"]}}
    server = dns(cfg)  # 192.168.3.1 exists nowhere yet: binding must not fail
    srv, cc = topo["srv"], topo["cc"]
    ip("-n", srv, "addr", "add", "192.168.3.1/24", "dev", "c0")
    ip("-n", topo["cc"].ns, "addr", "add", "192.168.3.2/24", "dev", "eth0")
    ip("-n", srv, "link", "set", "c0", "up")
    ip("-n", topo["cc"].ns, "link", "set", "eth0", "up")
    try:
        reply = None
        for _ in range(40):  # a fresh veth takes a moment to carry traffic (DAD, carrier)
            reply = cc.query("192.168.3.1", "x", timeout=0.25)
            if reply is not None:
                break
        assert reply is not None and addrs(reply) == ["192.168.3.2"]
        # Dropping the network closes its two sockets and no other; the others carry on.
        before = server.sockets()
        server.write(BASE)
        server.hup()
        time.sleep(0.2)
        after = server.sockets()
        assert after < before and len(before - after) == 2
        assert cc.query("192.168.3.1", "x", timeout=0.3) is None
        assert addrs(topo["ca"].query("192.168.1.1", "web1")) == ["192.168.1.2"]
    finally:
        ip("-n", srv, "addr", "flush", "dev", "c0")
        ip("-n", topo["cc"].ns, "addr", "flush", "dev", "eth0")


def test_an_address_taken_by_someone_else_is_retried(topo, dns):
    squatter = ns_socket(topo["srv"])
    squatter.bind(("192.168.1.1", 53))
    try:
        dns()  # cannot bind 192.168.1.1 yet: must serve the other networks anyway
        assert addrs(topo["cb"].query("192.168.2.1", "ns")) == ["192.168.2.9"]
        assert topo["ca"].query("192.168.1.1", "web1", timeout=0.2) is None
    finally:
        squatter.close()
    reply, t = None, time.monotonic()
    while reply is None and time.monotonic() - t < 3:  # retried about every second
        reply = topo["ca"].query("192.168.1.1", "web1", timeout=0.2)
    assert reply is not None and addrs(reply) == ["192.168.1.2"]


def test_garbage_does_not_kill_the_server(topo, dns):
    server = dns()
    with ns_socket(topo["ca"].ns) as s:
        s.settimeout(1)
        s.sendto(b"\x12\x34\x01\x00\x00\x01" + b"\xff" * 40, ("192.168.1.1", 53))
        reply = DNSRecord.parse(s.recvfrom(4096)[0])
        assert reply.header.id == 0x1234 and reply.header.rcode == RCODE.FORMERR
        for junk in (b"", b"\x00", os.urandom(11), os.urandom(5000),
                     DNSRecord.question("web1").reply().pack(), *(os.urandom(60) for _ in range(200))):
            s.sendto(junk, ("192.168.1.1", 53))
    with ns_socket(topo["ca"].ns, socket.SOCK_STREAM) as t:  # absurd TCP length prefix
        t.settimeout(2)
        t.connect(("192.168.1.1", 53))
        t.sendall(b"\xff\xff" + os.urandom(100))
        assert t.recv(10) == b""  # closed by the server
    reply = topo["ca"].query("192.168.1.1", "web1")
    assert addrs(reply) == ["192.168.1.2"]
    assert server.proc.poll() is None


def test_bad_config_on_reload_keeps_the_old_one(topo, dns):
    server = dns()
    server.path.write_text("{ broken")
    server.hup()
    time.sleep(0.15)
    assert server.proc.poll() is None
    assert addrs(topo["ca"].query("192.168.1.1", "web1")) == ["192.168.1.2"]


def test_pidfile_and_clean_exit_on_sigterm(topo, dns):
    server = dns()
    assert int(server.pidfile.read_text()) == server.proc.pid  # ip netns exec execs python
    t = time.monotonic()
    assert server.stop() == 0
    assert time.monotonic() - t < 1
    assert not server.pidfile.exists()
    assert topo["ca"].query("192.168.1.1", "web1", timeout=0.3) is None


def test_qtype_any_and_unknown_types(topo, dns):
    dns()
    ca = topo["ca"]
    assert addrs(ca.query("192.168.1.1", "web1", "ANY")) == ["192.168.1.2"]
    mx = ca.query("192.168.1.1", "web1", "MX")
    assert mx.header.rcode == RCODE.NOERROR and mx.rr == []
    assert ca.query("192.168.1.1", "devops", "AXFR").header.rcode == RCODE.NOTIMP
