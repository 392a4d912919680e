"""Link deletions that do not wait for the kernel's release of the device: a
veth's ack comes 12-20 ms after both ends have left their namespaces (an RCU
barrier, the device's last references; #16), so the request goes out on a
thread of its own and link_del returns once the link is gone from view
(docs/design.md). A process's exit waits for the threads."""

import socket
import threading

from . import nsfs
from .failure import GONE
from .netlink import messages
from .netlink.nlsocket import NetlinkSocket, RequestError


class Deletion:
    """One link's deletion on its own thread; `error` once `done` is set."""

    def __init__(self, netns: str | None, ifname: str):
        self.netns, self.ifname = netns, ifname
        self.done = threading.Event()
        self.error: BaseException | None = None
        self.missing = False  # there was no such link
        self.thread = threading.Thread(target=self._run, name=f"nsnet-del-{ifname}")

    def _run(self) -> None:
        try:
            with nsfs.inside(self.netns):  # a socket opened inside stays bound to the namespace
                sock = NetlinkSocket(socket.NETLINK_ROUTE)
            try:
                sock.request(*messages.dellink(self.ifname))
            finally:
                sock.close()
        except RequestError as exc:
            self.missing = exc.code in GONE
            if not self.missing:
                self.error = exc
        except OSError as exc:
            self.error = exc
        finally:
            self.done.set()


class LinkReaper:
    """Deletions in flight, at most `limit` at once (the oldest is waited for first)."""

    def __init__(self, limit: int = 16):
        self.limit = limit
        self._running: list[Deletion] = []

    def start(self, netns: str | None, ifname: str) -> Deletion:
        self._running = [d for d in self._running if not d.done.is_set()]
        while len(self._running) >= self.limit:
            self._running.pop(0).thread.join()
        job = Deletion(netns, ifname)
        job.thread.start()
        self._running.append(job)
        return job

    def wait(self) -> None:
        """Every deletion acked (a process that ends calls it first)."""
        for job in self._running:
            job.thread.join()
        self._running.clear()

    def in_flight(self) -> int:
        return sum(not d.done.is_set() for d in self._running)
