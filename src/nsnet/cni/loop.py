"""The accept loop both warm servers share (the CNI plugin's, cni/server.py,
and the command line's, cli/server.py): serve connections one at a time until
idle for `linger` seconds, until the socket is no longer the one in the state
directory (removed, or the directory gone), or until SIGTERM sets `stopping`;
then unlink the socket, serve what is queued, and finish."""

import os
import socket
import struct
import time

TICK = 1.0  # seconds between looks at the socket and the idle time


def inode(path: str):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


class AcceptLoop:
    def __init__(self, sock_path: str, listener: socket.socket):
        self.sock_path, self.listener = sock_path, listener
        self.sock_id = inode(sock_path)
        self.stopping = False

    def serve_one(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def between(self) -> None:
        """After each connection served (the CNI server reaps its children here)."""

    def finish(self) -> None:
        """Once the queue is served and the listener closed."""

    def run(self, linger: float) -> None:
        self.listener.settimeout(TICK)
        last = time.monotonic()
        while not self.stopping:
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                if time.monotonic() - last >= linger or inode(self.sock_path) != self.sock_id:
                    break
                continue
            except InterruptedError:
                continue
            self.serve_one(conn)
            self.between()
            last = time.monotonic()
        self.stop()

    def stop(self) -> None:
        """Nobody new finds the socket; what is queued is served; then finish()."""
        if inode(self.sock_path) == self.sock_id:
            try:
                os.unlink(self.sock_path)
            except OSError:
                pass
        self.listener.setblocking(False)
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                break
            conn.setblocking(True)
            self.serve_one(conn)
        self.listener.close()
        self.finish()


def reap_children(*_) -> None:
    """Collect every child that ended (a SIGCHLD handler, or between calls)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def peer_uid(conn: socket.socket) -> int:
    """The uid of the process at the other end of a unix socket (SO_PEERCRED)."""
    return struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[1]
