"""Name resolution for sandboxes: one nsnet DNS server process per state
directory (python -m nsnet.dns), answering each sandbox on 127.0.0.11:53
inside the sandbox's own namespace. So a name resolves by the networks of
whoever asks, nothing outside the host can ask, and the host's port 53 stays
free to publish.

After a change commits, the engine makes a new sandbox's listening sockets,
hands them to the server over its control socket (dns/control.py) and links
/etc/netns/NETNS to the one resolv.conf every sandbox shares. It never waits
for the server: one that is still starting finds the sockets, and the queries
sent to them, waiting in the kernel. The server reads the names from the
store itself, makes the sockets it lacks (after a restart) and stops when no
network resolves names any more."""

import os
import sys
import time

from ..dns.build import build_config, dns_name, dns_networks
from ..dns.config import LISTEN, LISTEN6
from ..dns.control import ADD, DROP, RELOAD, STALE, Paths, ServerLink, encode
from ..errors import InvalidInput, KernelError
from ..kernel import selfproc
from .context import Service

PORT = 53
RESOLV_HEADER = "# written by nsnet: the sandbox's DNS server (see `nsnet dns status`)\n"
RESOLV_CONF = RESOLV_HEADER + "".join(f"nameserver {ip}\n" for ip in LISTEN) + "options ndots:0\n"
ETC_FILES = {"resolv.conf": RESOLV_CONF}


def check_alias(alias: str) -> str:
    name = dns_name(alias)
    if name is None:
        raise InvalidInput(f"alias '{alias}' is not a valid DNS name (letters, digits, '-', dots between labels)")
    return name


class Dns(Service):
    def __init__(self, ctx):
        super().__init__(ctx)
        self.paths = Paths(ctx.settings.state_dir)
        self.link = ServerLink(self.paths, self._spawn)

    def config(self) -> dict:
        """What the server serves (it builds the same from the store itself)."""
        return build_config(self.store, self.ctx.settings.host_netns)

    def touch(self, ex, sandbox: str | None = None, netns: str | None = None, new: bool = False) -> None:
        """Called during a change, before it changes `sandbox`'s endpoints (`new`:
        a sandbox made in this change). After the commit, its resolv.conf and its
        sockets in the server follow what it became; with no sandbox, the
        networks the server serves may have changed."""
        todo = ex.after_commit("dns", self._after_commit, {"sandboxes": {}, "networks": False, "before": None})
        if sandbox is None:
            todo["networks"] = True
        elif sandbox not in todo["sandboxes"]:
            if not new and todo["before"] is None:
                todo["before"] = self._dns_networks()
            todo["sandboxes"][sandbox] = (netns, not new and bool(self._asks(sandbox, todo["before"])))

    def _dns_networks(self) -> set[str]:
        return {n["name"] for n in dns_networks(self.store)}

    def _asks(self, sandbox: str, nets: set[str]) -> tuple[str, ...]:
        """The addresses of `sandbox`'s resolver (none: it is on no network that
        resolves names): 127.0.0.11, and ::1 with an IPv6 address there."""
        sb = self.store.sandbox(sandbox)
        if sb is None or sb["mode"] != "netns":
            return ()
        eps = [ep for ep in self.store.endpoints(sandbox=sandbox) if ep["network"] in nets]
        if not any(ep["ip"] or ep["ip6"] for ep in eps):
            return ()
        return LISTEN + LISTEN6 if any(ep["ip6"] for ep in eps) else LISTEN

    def _after_commit(self, todo: dict) -> None:
        nets = self._dns_networks()
        messages = []
        try:
            for sandbox, (netns, was) in todo["sandboxes"].items():
                if not nets and not was:  # nothing resolves names: no server to tell, no resolv.conf to change
                    continue
                message = self._sandbox_message(sandbox, netns, was, self._asks(sandbox, nets) if nets else ())
                if message:
                    messages.append(message)
            if todo["networks"]:
                messages.append((RELOAD, []))  # at once: with no network left, the server goes
            if messages:
                self.link.send(messages, start=bool(nets))
        finally:
            for _, socks in messages:
                for s in socks:  # the server has its own copies now
                    s.close()
            selfproc.reap_ended(self.link.started)  # servers this process started that have exited: no zombies

    def _sandbox_message(self, sandbox: str, netns: str, was: bool, asks: tuple) -> tuple | None:
        """Link or unlink the sandbox's resolv.conf; the message for the server:
        a new resolver's sockets, a gone one's drop, or just "names changed"
        (a resolver that gains or loses its IPv6 address the server remakes)."""
        if bool(asks) != was and not netns.startswith("/"):  # an adopted namespace: its runtime writes resolv.conf
            self.kernel.netns_etc(netns, self.paths.etc, ETC_FILES, RESOLV_HEADER, present=asks)
        if not asks:
            return (encode(DROP, sandbox), []) if was else (STALE, [])
        if was:
            return STALE, []
        socks = []
        for ip in asks:
            socks.extend(self.kernel.resolver_sockets(netns, ip, PORT) or [])
        return (encode(ADD, sandbox, netns), socks) if socks else (STALE, [])

    def _spawn(self, lock_fd: int, control_fd: int) -> int | None:
        """Forked by the warm forker (dns/forker.py) if one takes it, else a new process."""
        settings = self.ctx.settings
        args = ["--state-dir", settings.state_dir, "--lock-fd", "3", "--control-fd", "4"]
        if settings.host_netns:
            args += ["--host-netns", settings.host_netns]
        pid = self.kernel.fork_helper(args, self.paths.log, (lock_fd, control_fd))
        if pid is not None:
            return pid
        return self.kernel.spawn_helper([sys.executable, "-m", "nsnet.dns", *args], self.paths.log,
                                        (lock_fd, control_fd))

    # -- status, check, repair --------------------------------------------------------
    def running(self) -> bool:
        return self.kernel.helper_running(self.paths.lock)

    def pid(self, wait: float = 2.0) -> int | None:
        """The running server's pid (checked against its command line: no pid reuse).
        While its lock is held and the pid file does not name it yet (the forker
        writes it just after the change), it waits up to `wait` seconds for it."""
        selfproc.reap_ended(self.link.started)
        deadline = time.monotonic() + wait
        while True:
            pid = self._pid_now()
            if pid is not None or time.monotonic() > deadline or not self.running():
                return pid
            time.sleep(0.002)

    def _pid_now(self) -> int | None:
        return selfproc.pid_from(self.paths.pid, self.ctx.settings.state_dir.encode(), b"nsnet.dns")

    def check(self) -> list[str]:
        """What is wrong with name resolution here, one line each (none: all well)."""
        nets = self._dns_networks()
        if not nets:
            return []
        problems = []
        if not self.running():
            last = _last_line(self.paths.log)
            why = f"; its log ends: {last}" if last else ""
            problems.append(f"the DNS server is not running (networks {', '.join(sorted(nets))} resolve no names"
                            f"{why})")
        for sandbox, asker in self.config()["sandboxes"].items():
            netns = asker["netns"]
            if not netns.startswith("/") and not self.kernel.netns_etc_present(
                    netns, self.paths.etc, ETC_FILES, RESOLV_HEADER):
                problems.append(f"sandbox '{sandbox}' has no /etc/netns/{netns}/resolv.conf of nsnet's")
        return problems

    def repair(self) -> list[str]:
        """Fix what check() finds: every sandbox's resolv.conf, and a server that
        runs (started now, and waited for) while a network resolves names."""
        problems = self.check()
        if problems:
            self.sync()
        return problems

    def leftovers(self) -> list[str]:
        """Namespaces whose /etc/netns entry is this state dir's resolv.conf but
        that no sandbox has any more (a `sandbox rm` killed after its commit)."""
        mine = {sb["netns"] for sb in self.store.sandboxes()}
        return [ns for ns in self.kernel.netns_etc_names() if ns not in mine
                and self.kernel.netns_etc_present(ns, self.paths.etc, ETC_FILES, RESOLV_HEADER)]

    def forget(self, netns: str) -> None:
        """Remove what nsnet put in /etc/netns/NETNS (a leftover)."""
        self.kernel.netns_etc(netns, self.paths.etc, ETC_FILES, RESOLV_HEADER, present=False)

    def sync(self) -> None:
        """Link (or unlink) every sandbox's resolv.conf; start the server if a
        network resolves names and none runs, and wait until it answers."""
        nets = self._dns_networks()
        for sb in self.store.sandboxes():
            if not sb["netns"].startswith("/"):
                present = bool(self._asks(sb["name"], nets))
                self.kernel.netns_etc(sb["netns"], self.paths.etc, ETC_FILES, RESOLV_HEADER, present=present)
        if not nets:
            self.link.send([(RELOAD, [])], start=False)
        elif not self.link.ping():
            raise KernelError(f"the DNS server did not start (see {self.paths.log})")
        selfproc.reap_ended(self.link.started)

    def close(self) -> None:
        """Let go of the server's connection (the server keeps running)."""
        self.link.close()
        selfproc.reap_ended(self.link.started)


def _last_line(path: str, size: int = 4096) -> str:
    """The last line of a server's log (why it stopped, if it said), at most 200 characters."""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.fstat(f.fileno()).st_size - size))
            lines = f.read().decode(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1].strip()[:200] if lines else ""
