"""Kernel verbs about the host namespace beyond links: nftables, sysctls,
helper processes started inside it, /etc/netns files, port probes."""

import contextlib
import errno
import os
import socket

from . import nsfs
from .failure import fail as _fail
from .libc import setns


class HostOps:
    # -- nftables and sockets of the host namespace -------------------------
    def _host_nft(self):
        if self._nft is None:
            from .nft import Nft

            self._nft = Nft(self.host_netns)
        return self._nft

    def nft(self, batch) -> dict | None:
        return self._host_nft().run(batch)

    def spawn_in_host(self, argv: list[str], log_path: str):
        """Start a long-running helper process (the DNS server) in the host
        namespace, in its own session, output appended to log_path."""
        import subprocess  # not at the top: most calls start no helper (~2 ms to import)

        fd = nsfs.open_fd(self.host_netns) if self.host_netns else None

        def enter_host():  # in the child, before exec
            if fd is not None:
                setns(fd)

        try:
            with open(log_path, "ab") as out:
                return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                        start_new_session=True, preexec_fn=enter_host,
                                        pass_fds=(fd,) if fd is not None else ())
        finally:
            if fd is not None:
                os.close(fd)

    @staticmethod
    def netns_file(netns: str, name: str, content: str | None, owner_mark: str) -> None:
        """/etc/netns/NETNS/NAME, which `ip netns exec` and `nsnet exec` mount over
        /etc/NAME. Written atomically; removed with content=None. A file that
        does not start with owner_mark is the user's and is left alone."""
        directory = f"/etc/netns/{netns}"
        path = os.path.join(directory, name)
        if content is not None and _new_dir(directory):
            # A directory just made holds nothing anyone reads yet: write in place
            # (3 file-system calls instead of 6; they dominated a DNS attach).
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            try:
                os.write(fd, content.encode())
            finally:
                os.close(fd)
            return
        current = None
        with contextlib.suppress(FileNotFoundError), open(path) as f:
            current = f.read()
        if current == content or (current is not None and not current.startswith(owner_mark)):
            return
        if content is None:
            os.unlink(path)
            with contextlib.suppress(OSError):
                os.rmdir(directory)
            return
        os.makedirs(directory, exist_ok=True)
        with open(path + ".tmp", "w") as f:
            f.write(content)
        os.replace(path + ".tmp", path)

    def port_in_use(self, host_ip: str, proto: str, port: int) -> bool:
        """Is a socket in the host namespace bound to this port? Found by trying
        to bind it there (SO_REUSEADDR: a TIME_WAIT leftover does not count),
        with a socket made there beforehand (Nft.probe_socket)."""
        sock = self._host_nft().probe_socket(socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
        try:
            sock.bind((host_ip or "0.0.0.0", port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
        finally:
            sock.close()
        return False

    # -- sysctl ------------------------------------------------------------
    def sysctl_get(self, ns: str | None, key: str) -> str:
        with nsfs.inside(self._target(ns)):
            with open("/proc/sys/" + key.replace(".", "/")) as f:
                return f.read().strip()

    def sysctl_set(self, ns: str | None, key: str, value: str) -> None:
        """/proc/sys/net is per network namespace: write it from inside."""
        try:
            with nsfs.inside(self._target(ns)):
                with open("/proc/sys/" + key.replace(".", "/"), "w") as f:
                    f.write(str(value))
        except OSError as exc:
            raise _fail(f"setting sysctl {key}", exc)


def _new_dir(path: str) -> bool:
    """Make directory `path` (its parent too); False if it was already there."""
    try:
        os.mkdir(path, 0o755)
        return True
    except FileExistsError:
        return False
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return _new_dir(path)
