"""Name resolution inside networks: one nsnet DNS server process per host
(python -m nsnet.dns, like aardvark-dns), listening on each DNS-enabled
bridge's gateway address. The server reads the state store itself and
reloads when a commit moves SQLite's data_version (SIGHUP makes it prompt),
keeping its sockets: no query in flight is dropped. An attach costs the
engine one signal, not a config rewrite. Sandboxes get
/etc/netns/NETNS/resolv.conf pointing at their first network's gateway."""

import contextlib
import os
import signal
import sys
import time

from ..dns.build import build_config, dns_name, dns_networks
from ..errors import InvalidInput, KernelError
from .context import Service

RESOLV_HEADER = "# written by nsnet: the network's DNS server (see `nsnet dns status`)\n"


def check_alias(alias: str) -> str:
    name = dns_name(alias)
    if name is None:
        raise InvalidInput(f"alias '{alias}' is not a valid DNS name (letters, digits, '-', dots between labels)")
    return name


def _alive(pid: int) -> bool:
    """Running (not a zombie); reaps it if this process happens to be its parent."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _signature(dns_nets: dict) -> str:
    """What the server was last told about the networks it serves."""
    return repr(sorted(dns_nets.items()))


def _pidfd_alive(fd: int) -> bool:
    """Is the process behind this pidfd still running (an exited child of ours is not)?"""
    try:
        if os.waitid(os.P_PIDFD, fd, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
            return False
    except ChildProcessError:
        pass  # not our child: its own parent reaps it
    try:
        signal.pidfd_send_signal(fd, 0)
        return True
    except ProcessLookupError:
        return False


class Dns(Service):
    def __init__(self, ctx):
        super().__init__(ctx)
        self._pidfd: int | None = None  # the running server's, kept between changes
        self._networks_told: str | None = None  # _signature() of what the server was last told

    def _paths(self) -> tuple[str, str, str]:
        folder = os.path.join(self.ctx.settings.state_dir, "dns")
        return folder, os.path.join(folder, "server.pid"), os.path.join(folder, "server.log")

    def _dns_networks(self) -> dict:
        return {n["name"]: n for n in dns_networks(self.store)}

    def config(self) -> dict:
        """What the server serves (it builds the same from the store itself)."""
        return build_config(self.store, self.ctx.settings.host_netns)

    def touch(self, ex, sandbox: str | None = None, netns: str | None = None) -> None:
        """After the commit: rewrite `sandbox`'s resolv.conf and tell the server
        (start or stop it); with no sandbox, tell it only if the networks it
        serves changed."""
        touched = ex.after_commit("dns", self._after_commit, {})
        if sandbox is not None:
            touched[sandbox] = netns

    def _after_commit(self, touched: dict) -> None:
        server = self._server_fd()
        if touched:
            self.sync(touched, server)
        elif server is not None:
            # No sandbox's names changed: the server needs a word only if the networks it serves did.
            dns_nets = self._dns_networks()
            if _signature(dns_nets) != self._networks_told:
                self.sync({}, server, dns_nets)

    def sync(self, touched: dict | None = None, server: int | None = None, dns_nets=None) -> None:
        """Start, signal or stop the server, and write the resolv.conf of
        `touched` sandboxes (None: all of them). `server`: its pidfd, if known."""
        if touched is None:
            touched = {sb["name"]: sb["netns"] for sb in self.store.sandboxes()}
        if dns_nets is None:
            dns_nets = self._dns_networks()
        for sandbox, netns in touched.items():
            resolver = self._resolver_of(sandbox, dns_nets) if self.store.sandbox(sandbox) else None
            self._write_resolv_conf(netns, resolver)
        server = server if server is not None else self._server_fd()
        if not dns_nets:
            self._stop()
        elif server is None:
            self._start()
            self._networks_told = _signature(dns_nets)
        else:
            # Networks changed (listen addresses, options): SIGHUP, reloaded at
            # once. Only sandboxes changed: SIGUSR1, reloaded at the next query,
            # so a burst of attaches costs the server no work meanwhile.
            networks = _signature(dns_nets)
            signal.pidfd_send_signal(server, signal.SIGUSR1 if networks == self._networks_told else signal.SIGHUP)
            self._networks_told = networks

    def _server_fd(self) -> int | None:
        """A pidfd of the running server, kept between changes: signalling it
        needs no pidfile read per change, and a pidfd never names a reused pid."""
        if self._pidfd is not None and _pidfd_alive(self._pidfd):
            return self._pidfd
        self.close()
        pid = self.pid()
        if pid is None:
            return None
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            return None
        if self.pid() != pid:  # it exited (and the pid was reused) before the pidfd was taken
            os.close(fd)
            return None
        self._pidfd = fd
        return fd

    def close(self) -> None:
        """Let go of the server's pidfd (the server keeps running)."""
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None

    def pid(self) -> int | None:
        """The running server's pid (checked against its command line: no pid reuse)."""
        _, pidfile, _ = self._paths()
        try:
            with open(pidfile) as f:
                pid = int(f.read().strip())
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().split(b"\0")
        except (OSError, ValueError):
            return None
        ours = self.ctx.settings.state_dir.encode() in cmdline and b"nsnet.dns" in cmdline
        return pid if ours else None

    def _start(self) -> None:
        folder, pidfile, log = self._paths()
        os.makedirs(folder, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(pidfile)
        settings = self.ctx.settings
        argv = [sys.executable, "-m", "nsnet.dns", "--state-dir", settings.state_dir, "--pidfile", pidfile]
        if settings.host_netns:
            argv += ["--host-netns", settings.host_netns]
        proc = self.kernel.spawn_in_host(argv, log)
        if proc is None:  # a fake kernel in unit tests starts nothing
            return
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if self.pid() is not None:
                return
            if proc.poll() is not None:
                break
            time.sleep(0.01)
        raise KernelError(f"the DNS server did not start (see {log})")

    def _stop(self) -> None:
        self.close()
        pid = self.pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.01)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)

    def _resolver_of(self, sandbox: str, dns_nets: dict) -> str | None:
        for ep in self.store.endpoints(sandbox=sandbox):
            if ep["network"] in dns_nets:
                return dns_nets[ep["network"]]["gateway"]
        return None

    def _write_resolv_conf(self, netns: str, nameserver: str | None) -> None:
        """/etc/netns/NETNS/resolv.conf while the sandbox is on a DNS network;
        removed when it leaves (a file we did not write is left alone)."""
        if netns.startswith("/"):  # an adopted namespace: its runtime writes resolv.conf (CNI "dns")
            return
        want = f"{RESOLV_HEADER}nameserver {nameserver}\noptions ndots:0\n" if nameserver else None
        self.kernel.netns_file(netns, "resolv.conf", want, owner_mark=RESOLV_HEADER)
