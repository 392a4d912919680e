"""Kernel verbs about the host namespace beyond links: nftables, sysctls,
helper processes, /etc/netns files, port probes, the DNS server's sockets in
sandboxes."""

import contextlib
import errno
import fcntl
import os
import socket

from ..errors import KernelError
from . import listen, nsfs
from .failure import fail as _fail


class HostOps:
    # -- nftables and sockets of the host namespace -------------------------
    def _host_nft(self):
        if self._nft is None:
            from .nft import Nft

            self._nft = Nft(self.host_netns)
        return self._nft

    def nft(self, batch) -> dict | None:
        return self._host_nft().run(batch)

    @staticmethod
    def spawn_helper(argv: list[str], log_path: str, fds: tuple[int, ...] = ()) -> int | None:
        """Start a long-running helper (the DNS server) in a session of its own,
        stdin from /dev/null, output appended to log_path, `fds` as its fds 3, 4, ...
        (only those: every other fd of ours is close-on-exec). Returns its pid;
        nobody waits for it to start. posix_spawn (a vfork) costs ~1 ms where a
        fork of this process with a pre-exec hook cost ~3-6 ms."""
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 16) for fd in fds]  # dup2 sources above the targets
        try:
            actions = [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
                       (os.POSIX_SPAWN_OPEN, 1, log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600),
                       (os.POSIX_SPAWN_DUP2, 1, 2)]
            actions += [(os.POSIX_SPAWN_DUP2, fd, 3 + i) for i, fd in enumerate(high)]
            try:
                return os.posix_spawn(argv[0], argv, os.environ, file_actions=actions, setsid=True)
            except OSError as exc:
                raise _fail(f"starting {os.path.basename(argv[0])}", exc)
        finally:
            for fd in high:
                os.close(fd)

    @staticmethod
    def fork_helper(args: list[str], log_path: str, fds: tuple[int, int]) -> int | None:
        """The DNS server (`python -m nsnet.dns ARGS`, fds as spawn_helper's)
        forked by the warm forker (dns/forker.py, which holds the protocol): its
        pid, 0 if the forker has it and did not say the pid; None if no forker
        took it (spawn_helper starts it then; a forker is started for the next)."""
        from ..dns import forker

        log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            return forker.start(args, (*fds, log))
        finally:
            os.close(log)

    @staticmethod
    def helper_running(lock_path: str) -> bool:
        """Does a live process hold the flock on lock_path (a helper holds its own
        lock for life; the kernel lets it go when the process dies, even by -9)?"""
        try:
            fd = os.open(lock_path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # drops our probe's lock, if we got it
        return False

    def resolver_sockets(self, netns: str, ip: str, port: int) -> list | None:
        """A UDP socket (and a listening TCP one, if the port is free for it) on
        ip:port inside sandbox namespace `netns`, for the DNS server (kernel/listen.py);
        None when something there holds the port without sharing it."""
        try:
            with nsfs.inside(netns):
                return listen.bind_pair(ip, port)
        except FileNotFoundError:
            raise KernelError(f"network namespace '{netns}' does not exist", errno.ENOENT)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return None
            raise _fail(f"listening on {ip} port {port} in '{netns}'", exc)

    def netns_etc(self, netns: str, shared: str, files: dict, owner_mark: str, present: bool = True) -> None:
        """/etc/netns/NETNS, which `ip netns exec` and `nsnet exec` mount over /etc,
        as a symbolic link to `shared`: one directory (holding `files`) that every
        sandbox shares. One symlink() per sandbox, one unlink() to remove it: a
        directory and a file cost ~5x to write and ~50x to remove. A directory
        already there is the user's: `files` go inside it, marked as ours.
        present=False removes what this put there."""
        path = f"/etc/netns/{netns}"
        if not present:
            if os.path.islink(path):
                if os.readlink(path) == shared:
                    os.unlink(path)
            elif os.path.isdir(path):
                for name in files:
                    self.netns_file(netns, name, None, owner_mark)
            return
        self._shared_files(shared, files)
        try:
            os.symlink(shared, path)
            return
        except FileNotFoundError:
            os.makedirs("/etc/netns", exist_ok=True)
            os.symlink(shared, path)
            return
        except FileExistsError:
            pass
        if os.path.islink(path):
            if os.readlink(path) != shared and any(_marked(os.path.join(path, n), owner_mark) for n in files):
                os.symlink(shared, path + ".nsnet-new")  # a link of ours to another state dir
                os.replace(path + ".nsnet-new", path)
            return
        if sorted(os.listdir(path)) == sorted(files) and all(
                _marked(os.path.join(path, name), owner_mark) for name in files):
            for name in files:  # what an older nsnet wrote per sandbox: becomes the link
                os.unlink(os.path.join(path, name))
            os.rmdir(path)
            os.symlink(shared, path)
            return
        for name, content in files.items():
            self.netns_file(netns, name, content, owner_mark)

    @staticmethod
    def netns_etc_present(netns: str, shared: str, files: dict, owner_mark: str) -> bool:
        """Is /etc/netns/NETNS what netns_etc() makes: the link to `shared`, or
        in a directory of the user's, our `files` as they should be?"""
        path = f"/etc/netns/{netns}"
        if os.path.islink(path):
            return os.readlink(path) == shared
        for name, content in files.items():
            try:
                with open(os.path.join(path, name)) as f:
                    if f.read() != content:
                        return False
            except OSError:
                return False
        return True

    def _shared_files(self, shared: str, files: dict) -> None:
        """The shared directory's files, checked once per Kernel (and per content)."""
        key = (shared, tuple(sorted(files.items())))
        if key in self._etc_ready:
            return
        os.makedirs(shared, exist_ok=True)
        for name, content in files.items():
            path = os.path.join(shared, name)
            current = None
            with contextlib.suppress(FileNotFoundError), open(path) as f:
                current = f.read()
            if current != content:
                # Written beside the directory, then renamed in: `ip netns exec`
                # mounts every file of the directory, a temporary one too.
                tmp = f"{shared}.{name}.tmp"
                with open(tmp, "w") as f:
                    f.write(content)
                os.replace(tmp, path)
        self._etc_ready.add(key)

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

    @staticmethod
    def netns_etc_names() -> list[str]:
        """The namespaces /etc/netns has an entry for (a directory or a link)."""
        return nsfs.list_names("/etc/netns")

    def port_in_use(self, host_ip: str, proto: str, port: int, version: int = 4) -> bool:
        """Is a socket in the host namespace bound to this port (of IPv`version`;
        host_ip '' is every address)? Found by trying to bind it there
        (SO_REUSEADDR: a TIME_WAIT leftover does not count), with a socket made
        there beforehand (Nft.probe_socket)."""
        family = socket.AF_INET6 if version == 6 else socket.AF_INET
        sock = self._host_nft().probe_socket(socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM, family)
        try:
            sock.bind((host_ip or ("::" if version == 6 else "0.0.0.0"), port))
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


def _marked(path: str, mark: str) -> bool:
    try:
        with open(path) as f:
            return f.read(len(mark)) == mark
    except OSError:
        return False
