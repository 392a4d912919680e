"""Connectivity and leak checks.  Traffic only ever goes between namespaces
the bench made: a ping from one sandbox to the gateway and to another
sandbox, and one TCP connection to a published port."""

import glob
import json
import os
import socket
import subprocess
import threading
import time

from . import nslib

GREETING = b"nsnet-bench\n"


def ping(netns: str, ip: str, tries: int = 3) -> bool:
    """One echo from inside `netns` (nsenter: enters the net namespace only)."""
    cmd = ["nsenter", f"--net={nslib.netns_path(netns)}", "ping", "-c1", "-W2", "-q", ip]
    return any(subprocess.run(cmd, check=False, capture_output=True, timeout=10).returncode == 0
               for _ in range(tries))


def tcp_check(server_ns: str, listen_port: int, client_ns: str, ip: str, port: int,
              timeout: float = 3.0) -> bool:
    """Listen on 0.0.0.0:listen_port inside server_ns, connect from client_ns to
    ip:port (e.g. the gateway and a published host port), expect the greeting."""
    lsock = nslib.run_in_netns(nslib.netns_path(server_ns),
                               lambda: socket.create_server(("0.0.0.0", listen_port)))
    lsock.settimeout(timeout)

    def serve():
        try:
            conn, _ = lsock.accept()
            with conn:
                conn.sendall(GREETING)
        except OSError:
            pass

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    try:
        csock = nslib.run_in_netns(nslib.netns_path(client_ns),
                                   lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
        with csock:
            csock.settimeout(timeout)
            csock.connect((ip, port))
            data = b""
            while len(data) < len(GREETING):
                chunk = csock.recv(64)
                if not chunk:
                    break
                data += chunk
        return data == GREETING
    except OSError:
        return False
    finally:
        server.join(timeout + 1)
        lsock.close()


def verify_endpoints(endpoints: dict, gateway: str | None, container_port: int) -> dict:
    """Ping gateway and last sandbox from the first; TCP to the last one's
    published port through the gateway address when ports are published."""
    if not endpoints:
        return {"ok": False, "why": "no endpoints"}
    first, last = endpoints[min(endpoints)], endpoints[max(endpoints)]
    out = {}
    if gateway:
        out["ping_gw"] = ping(first.netns, gateway)
    if last.ip and last is not first:
        out["ping_peer"] = ping(first.netns, last.ip)
    if last.host_port and gateway:
        out["tcp_port"] = tcp_check(last.netns, container_port, first.netns, gateway,
                                    last.host_port)
    out["ok"] = bool(out) and all(out.values())
    return out


def host_links() -> list[str]:
    """Link names in the calling thread's namespace (the bench host)."""
    res = subprocess.run(["ip", "-j", "link", "show"], check=False, capture_output=True,
                         text=True)
    return [link["ifname"] for link in json.loads(res.stdout or "[]")]


def processes_in(netns_path) -> list[str]:
    """Other processes living in the namespace at `netns_path` (e.g. a DNS
    server a tool forgot to stop); this process is skipped."""
    target = f"net:[{os.stat(netns_path).st_ino}]"
    found = []
    for link in glob.glob("/proc/[0-9]*/ns/net"):
        pid = link.split("/")[2]
        try:
            if int(pid) != os.getpid() and os.readlink(link) == target:
                with open(f"/proc/{pid}/comm") as f:
                    found.append(f"proc:{pid}:{f.read().strip()}")
        except OSError:
            pass
    return found


def leftovers(host, expected: set[str], wait_s: float = 5.0) -> list[str]:
    """Links other than `expected` in the host namespace, sandboxes still
    named and processes still in the host namespace, after teardown.  Links
    of deleted namespaces vanish asynchronously, so poll a little before
    calling anything a leak."""
    deadline = time.monotonic() + wait_s
    while True:
        left = [f"link:{n}" for n in host_links() if n not in expected]
        left += [f"netns:{n}" for n in nslib.list_netns(host.sandbox_prefix)]
        left += processes_in(host.path)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)
