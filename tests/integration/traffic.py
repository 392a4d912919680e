"""Real TCP and UDP round trips between namespaces (servers are one-shot and
time-bounded)."""

import subprocess
import time

SERVER = r"""
import socket, sys
proto, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, kind)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port)); s.settimeout(10)
print("ready", flush=True)
if proto == "tcp":
    s.listen(1); c, peer = s.accept(); data = c.recv(100); c.sendall(data.upper() + b" " + peer[0].encode()); c.close()
else:
    data, peer = s.recvfrom(100); s.sendto(data.upper() + b" " + peer[0].encode(), peer)
"""

CLIENT = r"""
import socket, sys
proto, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
payload = sys.argv[4].encode() if len(sys.argv) > 4 else b"ping"
kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, kind); s.settimeout(3)
if proto == "tcp":
    s.connect((addr, port)); s.sendall(payload); print(s.recv(100).decode())
else:
    s.sendto(payload, (addr, port)); print(s.recvfrom(100)[0].decode())
"""


def roundtrip(server_ns, client_ns, addr, port=5555, proto="tcp", bind="0.0.0.0",
              server_port=None, tries=5, payload: str = "ping") -> str | None:
    """Start a one-shot server in server_ns (on server_port, default: port),
    connect from client_ns to addr:port (IPv6 if addr is; an IPv6 server binds
    '::' unless told) and send `payload`. Returns the reply ('PING <client
    address as the server saw it>', the payload upper-cased) or None. The first
    packet after a change may be lost, or a busy machine slow to start the two:
    up to `tries` round trips (a new server each) until one is answered. For
    what must not get through, tries=1 (a slow answer can only make that pass,
    never fail)."""
    if ":" in addr and bind == "0.0.0.0":
        bind = "::"
    for _ in range(tries):
        reply = _roundtrip_once(server_ns, client_ns, addr, port, proto, bind, server_port, payload)
        if reply is not None:
            return reply
    return None


def _roundtrip_once(server_ns, client_ns, addr, port, proto, bind, server_port, payload) -> str | None:
    srv = subprocess.Popen(["ip", "netns", "exec", server_ns, "python3", "-c", SERVER, proto, bind,
                            str(server_port or port)],
                           stdout=subprocess.PIPE, text=True)
    try:
        assert srv.stdout.readline().strip() == "ready"
        try:
            cli = subprocess.run(["ip", "netns", "exec", client_ns, "python3", "-c", CLIENT, proto, addr,
                                  str(port), payload], capture_output=True, text=True, timeout=30)
        except subprocess.TimeoutExpired:
            return None
        return cli.stdout.strip() if cli.returncode == 0 else None
    finally:
        srv.kill()
        srv.wait(timeout=5)
        time.sleep(0)


def served(server_ns, client_ns, addr, host_port, port, tries=5) -> str | None:
    """A TCP round trip through a published port (the first packet after a change is retried, bounded)."""
    for _ in range(tries):
        reply = roundtrip(server_ns, client_ns, addr, port=host_port, server_port=port)
        if reply is not None:
            return reply
    return None
