"""The warm CNI server of one state directory (`python -m nsnet.cni.server
STATE LOCK_FD LISTENER_FD`, started by cni/client.py; paths and protocol
there). It imports the engine once and answers calls one at a time, each
with an Engine of its own (fresh netlink sockets: a runtime's namespaces come
and go between calls) over one store connection kept open (a store closed
after every call paid a WAL checkpoint with an fsync and a backup copy: the
backup is refreshed as a long-lived engine's is, at most every
BACKUP_EVERY seconds, and when the server stops).

It stops after NSNET_CNI_LINGER seconds without a call, or at once when its
socket is no longer in the state directory (removed, or the directory gone):
it unlinks its socket, answers what is queued, then exits. SIGTERM stops it
the same way."""

import os
import signal
import socket
import sys

from ..state.store import Store
from . import client, plugin
from .loop import AcceptLoop, reap_children


class KeptStore(Store):
    """The server's store: the engines of single calls share it and do not close it."""

    def close(self) -> None:
        pass

    def close_for_good(self) -> None:
        Store.close(self)


class Server(AcceptLoop):
    def __init__(self, state_dir: str, listener: socket.socket):
        self.state_dir = state_dir
        self.paths = client.Paths(state_dir)
        super().__init__(self.paths.sock, listener)
        self.store = KeptStore(state_dir)
        self.netns = client.netns_id()
        self.settings = _settings(os.environ)

    def engine(self, req):
        """A call's Engine. Its Kernel reaps (engine/context.py): a DEL answers once
        the veth has left the namespaces, ~15 ms before the kernel has released it;
        the interpreter's exit waits for deletions still in flight."""
        from ..engine import Engine

        return Engine(state_dir=self.state_dir, netns_prefix="", store=self.store)

    def answer(self, data: bytes) -> bytes:
        try:
            netns, command, env, raw = client.parse_request(data)
        except (ValueError, UnicodeDecodeError):
            return client.OTHER + b"\0"
        same_dir = os.path.normpath(client.state_dir_of(raw)) == os.path.normpath(self.state_dir)
        if netns != self.netns or _settings(env) != self.settings or not same_dir:
            return client.OTHER + b"\0"  # the caller makes the call itself
        code, out = plugin.call(command, env, raw, self.engine)
        return f"{code}\0".encode() + out.encode()

    def serve_one(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.settimeout(5.0)  # the request follows the connect at once
                data = conn.recv(1 << 20)
                if data:
                    conn.send(self.answer(data))
            except OSError:
                pass  # the caller went away: it makes the call itself, or gave up

    def between(self) -> None:
        reap_children()  # a DNS server a call started, which stopped itself

    def finish(self) -> None:
        self.store.close_for_good()


def _settings(env) -> dict:
    """What the engine reads from NSNET_* (how long a server lingers is not for a call to differ on)."""
    return {k: v for k, v in env.items() if k.startswith("NSNET_") and k != "NSNET_CNI_LINGER"}


def main(argv: list[str]) -> None:
    state_dir, lock_fd, listener_fd = argv[0], int(argv[1]), int(argv[2])
    os.chdir("/")  # not the runtime's working directory: it may be a mount to be removed
    os.set_inheritable(lock_fd, False)  # held for life; a DNS server this one starts must not hold it
    listener = socket.socket(fileno=listener_fd)
    listener.set_inheritable(False)
    for key in [k for k in os.environ if k.startswith("CNI_")]:
        del os.environ[key]
    server = Server(state_dir, listener)
    signal.signal(signal.SIGTERM, lambda *_: setattr(server, "stopping", True))
    server.run(client.linger())


if __name__ == "__main__":
    main(sys.argv[1:])
