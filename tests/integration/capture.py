"""A packet capture for tests: a raw socket (AF_PACKET, every protocol) made
inside a namespace sees the frames of all its interfaces. It runs in a thread,
bounded in frames and seconds, and hands back parsed IPv4 headers and the raw
bytes (to look for a marker the test sent)."""

import socket
import struct
import threading
import time

from nsnet.kernel import nsfs

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800


class Frame:
    def __init__(self, data: bytes):
        self.data = data
        self.ethertype = struct.unpack("!H", data[12:14])[0] if len(data) >= 14 else 0
        self.proto = self.src = self.dst = self.sport = self.dport = None
        if self.ethertype == ETH_P_IP and len(data) >= 34:
            ip = data[14:]
            ihl = (ip[0] & 0x0F) * 4
            self.proto = ip[9]
            self.src, self.dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
            if self.proto in (socket.IPPROTO_TCP, socket.IPPROTO_UDP) and len(ip) >= ihl + 4:
                self.sport, self.dport = struct.unpack("!HH", ip[ihl : ihl + 4])

    @property
    def ports(self) -> set:
        return {self.sport, self.dport} - {None}

    def __repr__(self) -> str:
        return f"Frame(0x{self.ethertype:04x} {self.proto} {self.src}:{self.sport} > {self.dst}:{self.dport})"


class Capture:
    def __init__(self, netns: str, max_frames: int = 50000, max_seconds: float = 120.0):
        self.netns, self.max_frames, self.max_seconds = netns, max_frames, max_seconds
        self.frames: list[Frame] = []
        self._stop = threading.Event()
        with nsfs.inside(netns):
            self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self._sock.settimeout(0.1)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "Capture":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def _run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        while not self._stop.is_set() and len(self.frames) < self.max_frames and time.monotonic() < deadline:
            try:
                data = self._sock.recv(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            self.frames.append(Frame(data))

    def ipv4(self) -> list[Frame]:
        return [f for f in self.frames if f.ethertype == ETH_P_IP]

    def containing(self, marker: bytes) -> list[Frame]:
        return [f for f in self.frames if marker in f.data]
