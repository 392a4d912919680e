"""Fixtures of test_dns_server.py: the namespaces, the server under test, a
client that queries from inside a namespace.

    ndca-*  (sandbox "a", on network devops)  \
    ndcb-*  (sandbox "b", on network db)        ndsrv-*  (runs python -m nsnet.dns)
    ndcc-*  (sandbox "c", in no config yet)   /   u0 10.77.0.1
    ndup-*  eth0 10.77.0.2 ---------------------'   (a tiny dnslib upstream)

The server answers each sandbox on 127.0.0.11:53 inside the sandbox's own
namespace (it enters it to make the sockets); queries are sent in-process
from sockets created inside the client namespaces.
"""

import ctypes
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from dnslib import DNSRecord

import nsnet.dns

SRC = str(Path(nsnet.dns.__file__).resolve().parents[2])
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)

UPSTREAM = r'''
import socket, sys, time
from dnslib import A, QTYPE, RCODE, RR, DNSRecord
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
s.settimeout(0.5)
end = time.monotonic() + float(sys.argv[2])   # never outlive the test run
while time.monotonic() < end:
    try:
        data, peer = s.recvfrom(4096)
    except socket.timeout:
        continue
    q = DNSRecord.parse(data)
    r = q.reply(aa=0)
    if str(q.q.qname).lower().startswith("nx."):
        r.header.rcode = RCODE.NXDOMAIN
    elif q.q.qtype == QTYPE.A:
        r.add_answer(RR(q.q.qname, QTYPE.A, ttl=30, rdata=A("203.0.113.7")))
    s.sendto(r.pack(), peer)
'''


def ip(*args):
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


def ns_socket(ns, kind=socket.SOCK_DGRAM):
    """A socket that lives in namespace `ns`: created by a thread that entered it."""
    out = {}

    def enter():
        with open(f"/run/netns/{ns}") as f:
            if _libc.setns(f.fileno(), CLONE_NEWNET) != 0:
                out["err"] = OSError(ctypes.get_errno(), f"setns {ns}")
                return
        out["sock"] = socket.socket(socket.AF_INET, kind)

    t = threading.Thread(target=enter)
    t.start()
    t.join()
    if "err" in out:
        raise out["err"]
    return out["sock"]


class Client:
    """Queries from inside one client namespace."""

    def __init__(self, ns):
        self.ns = ns
        self.sock = ns_socket(ns)

    def query(self, server, name, qtype="A", timeout=1.0):
        """The parsed reply, or None on timeout."""
        q = DNSRecord.question(name, qtype)
        self.sock.settimeout(timeout)
        self.sock.sendto(q.pack(), (server, 53))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                data, _ = self.sock.recvfrom(65535)
            except (TimeoutError, ConnectionRefusedError):
                return None
            reply = DNSRecord.parse(data)
            if reply.header.id == q.header.id:  # skip late replies to earlier queries
                return reply
        return None

    def query_tcp(self, server, name, qtype="A"):
        with ns_socket(self.ns, socket.SOCK_STREAM) as s:
            s.settimeout(2)
            s.connect((server, 53))
            wire = DNSRecord.question(name, qtype).pack()
            s.sendall(len(wire).to_bytes(2, "big") + wire)
            buf = b""
            while len(buf) < 2 or len(buf) < 2 + int.from_bytes(buf[:2], "big"):
                chunk = s.recv(65535)
                assert chunk, "server closed the TCP connection"
                buf += chunk
            return DNSRecord.parse(buf[2:])

    def close(self):
        self.sock.close()


def addrs(reply):
    return sorted(str(rr.rdata) for rr in reply.rr)


@pytest.fixture(scope="module")
def topo(tmp_path_factory):
    tag = secrets.token_hex(3)
    names = {k: f"nd{k}-{tag}" for k in ("srv", "ca", "cb", "cc", "up")}
    procs = []
    try:
        for ns in names.values():
            ip("netns", "add", ns)
            ip("-n", ns, "link", "set", "lo", "up")
        # The upstream's veth is created inside ndsrv-* and its peer moved straight into
        # ndup-*: nothing ever appears in the machine's own namespace. The sandboxes
        # need no link at all: their resolver is on their own loopback.
        ip("-n", names["srv"], "link", "add", "u0", "type", "veth", "peer", "name", "eth0", "netns", names["up"])
        ip("-n", names["srv"], "addr", "add", "10.77.0.1/24", "dev", "u0")
        ip("-n", names["up"], "addr", "add", "10.77.0.2/24", "dev", "eth0")
        ip("-n", names["srv"], "link", "set", "u0", "up")
        ip("-n", names["up"], "link", "set", "eth0", "up")
        script = tmp_path_factory.mktemp("up") / "upstream.py"
        script.write_text(UPSTREAM)
        procs.append(subprocess.Popen(
            ["ip", "netns", "exec", names["up"], sys.executable, str(script), "10.77.0.2", "600"]))
        clients = {k: Client(names[k]) for k in ("ca", "cb", "cc")}
        names.update(clients)
        yield names
    finally:
        for p in procs:
            p.kill()
            p.wait(timeout=5)
        for k in ("ca", "cb", "cc"):
            if k in names and isinstance(names[k], Client):
                names[k].close()
        for k in ("srv", "ca", "cb", "cc", "up"):
            subprocess.run(["ip", "netns", "del", f"nd{k}-{tag}"], check=False,
                           capture_output=True, timeout=10)
        left = subprocess.run(["ip", "netns", "list"], check=True, capture_output=True,
                              text=True).stdout
        assert tag not in left, f"namespaces leaked: {left}"


def base(topo) -> dict:
    return {
        "upstreams": ["10.77.0.2:53"],
        "upstream_timeout": 0.3,
        "networks": {
            "devops": {"domain": "devops", "records": {"web1": ["192.168.1.2"], "db": ["192.168.1.3"]}},
            "db": {"records": {"ns": ["192.168.2.9"]}},
        },
        "sandboxes": {
            "a": {"netns": topo["ca"].ns, "networks": ["devops"]},
            "b": {"netns": topo["cb"].ns, "networks": ["db"]},
        },
    }


RESOLVER = "127.0.0.11"


class Dns:
    """One server process in ndsrv-*, with its config file."""

    def __init__(self, topo, tmp_path, cfg):
        self.path = tmp_path / "dns.json"
        self.pidfile = tmp_path / "dns.pid"
        self.log = tmp_path / "dns.log"
        self.write(cfg)
        env = dict(os.environ, PYTHONPATH=SRC)
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", topo["srv"], sys.executable, "-m", "nsnet.dns",
                 "--config", str(self.path), "--pidfile", str(self.pidfile)],
                env=env, stderr=log)
        deadline = time.monotonic() + 10
        while not self.pidfile.exists():  # the pidfile appears once the sockets are bound
            assert self.proc.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.01)

    def write(self, cfg):
        """Write the config the way the engine does: a new file renamed over the old one."""
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(cfg))
        os.rename(tmp, self.path)

    def sockets(self):
        """Inodes of the server's open sockets: a reload must keep the ones it still needs."""
        links = set()
        for fd in Path(f"/proc/{self.proc.pid}/fd").iterdir():
            try:
                links.add(os.readlink(fd))
            except FileNotFoundError:  # closed meanwhile
                pass
        return {link for link in links if link.startswith("socket:")}

    def hup(self):
        self.proc.send_signal(signal.SIGHUP)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.proc.wait(timeout=5)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=5)


@pytest.fixture
def dns(topo, tmp_path):
    servers = []

    def start(cfg=None):
        servers.append(Dns(topo, tmp_path, cfg or base(topo)))
        return servers[-1]

    yield start
    for s in servers:
        s.stop()
