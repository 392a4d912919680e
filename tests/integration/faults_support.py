"""Traffic for the faults tests: a TCP connection kept open across a
partition, one-way UDP delivery, counted pings. Every wait is bounded."""

import subprocess
import time

from .helpers import in_ns

ECHO_SERVER = r"""
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(1); s.settimeout(30)
print("ready", flush=True)
c, _ = s.accept(); c.settimeout(60)
while True:
    data = c.recv(100)
    if not data:
        break
    c.sendall(data.upper())
"""

CHAT_CLIENT = r"""
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
print("connected", flush=True)
for line in sys.stdin:
    word, wait = line.split()
    s.sendall(word.encode()); s.settimeout(float(wait)); got = b""
    try:
        while word.upper().encode() not in got:
            got += s.recv(100)
        print("got", flush=True)
    except socket.timeout:
        print("timeout", flush=True)
"""


class Chat:
    """One TCP connection from client_ns to addr, kept open: say() sends a word
    and says whether the echo came back within `wait` seconds."""

    def __init__(self, server_ns: str, client_ns: str, addr: str, port: int = 5700):
        self.server = subprocess.Popen(["ip", "netns", "exec", server_ns, "python3", "-c", ECHO_SERVER, str(port)],
                                       stdout=subprocess.PIPE, text=True)
        assert self.server.stdout.readline().strip() == "ready"
        self.client = subprocess.Popen(["ip", "netns", "exec", client_ns, "python3", "-c", CHAT_CLIENT, addr,
                                        str(port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.client.stdout.readline().strip() == "connected"

    def say(self, word: str, wait: float) -> bool:
        self.client.stdin.write(f"{word} {wait}\n")
        self.client.stdin.flush()
        return self.client.stdout.readline().strip() == "got"

    def close(self) -> None:
        for proc in (self.client, self.server):
            proc.kill()
            proc.wait(timeout=5)


UDP_RECEIVER = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", int(sys.argv[1]))); s.settimeout(2)
print("ready", flush=True)
try:
    print(s.recvfrom(100)[0].decode(), flush=True)
except socket.timeout:
    print("nothing", flush=True)
"""

UDP_SENDER = r"""
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(10):
    s.sendto(b"hello", (sys.argv[1], int(sys.argv[2]))); time.sleep(0.1)
"""


def udp_arrives(receiver_ns: str, sender_ns: str, addr: str, port: int = 5800) -> bool:
    """Do datagrams from sender_ns to addr (receiver_ns's) arrive (within 2 s)?"""
    rcv = subprocess.Popen(["ip", "netns", "exec", receiver_ns, "python3", "-c", UDP_RECEIVER, str(port)],
                           stdout=subprocess.PIPE, text=True)
    try:
        assert rcv.stdout.readline().strip() == "ready"
        snd = subprocess.Popen(["ip", "netns", "exec", sender_ns, "python3", "-c", UDP_SENDER, addr, str(port)])
        got = rcv.stdout.readline().strip()
        snd.kill()
        snd.wait(timeout=5)
        return got == "hello"
    finally:
        rcv.kill()
        rcv.wait(timeout=5)


def pings_answered(ns: str, ip: str, count: int) -> int:
    """How many of `count` quick pings (flood-free, 5 ms apart) are answered."""
    out = in_ns(ns, "ping", "-n", "-q", "-i", "0.005", "-W", "1", "-c", str(count), ip, timeout=60).stdout
    for line in out.splitlines():
        if "received" in line:
            return int(line.split(",")[1].split()[0])
    return 0


def reachable(ns: str, ip: str, timeout: float = 3.0) -> bool:
    """Does `ip` answer a ping from `ns` within `timeout` (retried: the first
    packet after a change may wait for ARP)?"""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if in_ns(ns, "ping", "-n", "-q", "-c", "1", "-W", "0.3", ip).returncode == 0:
            return True
    return False


def unreachable(ns: str, ip: str) -> bool:
    """No answer to three pings (0.3 s each)."""
    return in_ns(ns, "ping", "-n", "-q", "-c", "3", "-i", "0.2", "-W", "0.3", ip).returncode != 0
