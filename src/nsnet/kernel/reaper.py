"""Link deletions that do not wait for the kernel's release of the device.

Deleting a veth takes the kernel ~2-4 ms to take both ends out of their
namespaces (their names, the bridge port, the routes) and then 12-20 ms more
before it acks: after the RTNL lock is dropped it waits for an RCU barrier
and for the device's last references (measured here, #16). Nothing anyone
can see changes in that wait. So every Engine's Kernel has a reaper
(engine/context.py): the request
goes out on a thread of its own, and link_del returns as soon as the link has
left its namespace; the thread ends with the kernel's ack. A long-lived
process (the CNI server, a test's Engine) goes on 12-20 ms sooner per
deletion; a one-shot command's exit waits for the thread, as it waited for
the ack before.
"""

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
