"""A lab for one test: a throwaway host namespace with its own Engine and
state directory, a topology built from a file or a few calls, commands run in
its sandboxes, faults between them, and everything removed afterwards, with a
list of what leaked. The pytest plugin (plugin.py) hands one to each test as
the `nsnet_lab` fixture; it works without pytest too:

    with Lab() as lab:
        lab.network("n")
        lab.sandboxes("n1", "n2", network="n")
        with lab.partitioned(["n1"], ["n2"]):
            assert lab.exec("n1", "ping", "-c1", "-W1", lab.ip("n2")).returncode != 0

Labs of different processes never collide (pytest -n): each has its own host
namespace (random name), state directory and so subnets, bridges and DNS server.
"""

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import uuid

from ..kernel import nsfs, selfproc

PREFIX = "nl"  # lab host namespaces: nl<tag><random>; their sandboxes: <that>-<sandbox>
NO_UPSTREAM = "# an nsnet lab: no upstream resolvers\n"


def _etc_entries(name: str) -> list[str]:
    """/etc/netns entries of lab `name` and its sandboxes (NAME-*)."""
    try:
        return [e for e in os.listdir("/etc/netns") if e == name or e.startswith(name + "-")]
    except FileNotFoundError:
        return []


def remove_etc(path: str) -> None:
    """An /etc/netns entry: nsnet's is a symbolic link to one shared directory
    (which rmtree refuses: thousands of links were left behind), the lab's own
    host entry a directory."""
    if os.path.islink(path):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    else:
        shutil.rmtree(path, ignore_errors=True)


class Lab:
    def __init__(self, tag: str = ""):
        from ..engine import Engine

        self.name = f"{PREFIX}{tag}{uuid.uuid4().hex[:8]}"
        # In memory where there is a tmpfs: a lab's store lives one test long, and
        # SQLite's fsyncs (checkpoints, the backup copy) on a disk cost it tens of ms.
        self.state_dir = tempfile.mkdtemp(prefix=f"nsnet-{self.name}-",
                                          dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
        self._procs: list[subprocess.Popen] = []
        self._root_links = _root_nsnet_links()
        self.engine = Engine(host_netns=self.name, state_dir=self.state_dir)
        try:
            self.engine.kernel.netns_create(self.name)
            # The host's resolvers, as the lab's DNS server sees them: none, so that
            # a name no sandbox has fails at once instead of asking the machine's.
            os.makedirs(f"/etc/netns/{self.name}", exist_ok=True)
            with open(f"/etc/netns/{self.name}/resolv.conf", "w") as f:
                f.write(NO_UPSTREAM)
        except BaseException:
            self.close()
            raise

    # -- building ------------------------------------------------------------------------
    def up(self, path: str):
        """Build topology file `path` (as `nsnet up`); returns its outcome."""
        from ..topology import converge, load

        out = converge.up(self.engine, load(path))
        if out.errors:
            raise AssertionError(f"nsnet up {path}: " + "; ".join(out.errors))
        return out

    def network(self, name: str, subnet: str | None = None, **options) -> dict:
        return self.engine.network_create(name, subnet=subnet, **options)

    def sandbox(self, name: str, *networks: str, **options) -> dict:
        """A sandbox attached to `networks` (each 'NET' or 'NET:IP')."""
        nets = [tuple(n.split(":", 1)) if ":" in n else n for n in networks]
        return self.engine.sandbox_create(name, networks=nets, **options)

    def sandboxes(self, *names: str, network: str | None = None) -> list[str]:
        """Several sandboxes on one network (or none); their addresses (or names)."""
        out = []
        for name in names:
            made = self.sandbox(name, *([network] if network else []))
            out.append(made["endpoints"][0]["ip"] if network else name)
        return out

    # -- using ---------------------------------------------------------------------------
    def netns(self, sandbox: str) -> str:
        return self.engine.exec_netns(sandbox) or self.name

    def ip(self, sandbox: str, network: str | None = None) -> str:
        """The sandbox's address (on `network`, else its first)."""
        for ep in self.engine.sandbox_inspect(sandbox, live=False)["endpoints"]:
            if ep["ip"] and (network is None or ep["network"] == network):
                return ep["ip"]
        raise LookupError(f"sandbox '{sandbox}' has no address" + (f" on '{network}'" if network else ""))

    def _argv(self, sandbox: str, argv) -> list[str]:
        # `ip netns exec` as `nsnet exec` does it (/etc/netns files, the sandbox's
        # /sys) without starting Python: ~3 ms instead of ~40.
        return ["ip", "netns", "exec", self.netns(sandbox), *argv]

    def exec(self, sandbox: str, *argv: str, timeout: float = 30, check: bool = False,
             input: str | None = None) -> subprocess.CompletedProcess:
        """Run a command in the sandbox to its end (text output captured)."""
        return subprocess.run(self._argv(sandbox, argv), capture_output=True, text=True, timeout=timeout,
                              check=check, input=input)

    def start(self, sandbox: str, *argv: str, **popen) -> subprocess.Popen:
        """Start a command in the sandbox in the background; stopped at the end
        of the test (its whole process group)."""
        popen.setdefault("stdout", subprocess.DEVNULL)
        popen.setdefault("stderr", subprocess.DEVNULL)
        proc = subprocess.Popen(self._argv(sandbox, argv), start_new_session=True, **popen)
        self._procs.append(proc)
        return proc

    # -- faults (the engine's, for short) -------------------------------------------------
    def partition(self, *groups, one_way: bool = False) -> dict:
        return self.engine.partition(list(groups), one_way=one_way)

    def heal(self) -> dict:
        return self.engine.heal()

    def impair(self, target: str, **impairment) -> dict:
        return self.engine.impair(target, **impairment)

    def partitioned(self, *groups, one_way: bool = False):
        return self.engine.partitioned(*groups, one_way=one_way)

    def impaired(self, target: str, **impairment):
        return self.engine.impaired(target, **impairment)

    # -- the end -------------------------------------------------------------------------
    def close(self) -> list[str]:
        """Remove everything; returns what leaked: processes the test left in its
        sandboxes (killed now), namespaces or files that outlived the teardown,
        interfaces that appeared in the machine's own namespace."""
        leaks = []
        # Killed first and reaped last: a process's exit (the DNS server's, ~5 ms
        # with its sockets) overlaps the rest of the teardown instead of adding to it.
        dying = [pid for pid in [_quiet(self.engine.dns_pid)] if pid]
        for pid in dying:
            _signal(pid)
        for proc in self._procs:
            _stop_group(proc)
        prefix = self.name + "-"
        mine = [n for n in nsfs.list_names() if n == self.name or n.startswith(prefix)]
        for pid, ns in nsfs.holders(mine).items():
            if ns != self.name:
                leaks.append(f"process {pid} ({_cmdline(pid)}) still runs in sandbox namespace {ns}")
            if pid not in dying:  # the DNS server is in the lab's host namespace: signalled already
                _signal(pid)
                dying.append(pid)
        _quiet(self.engine.close)
        for ns in mine:
            nsfs.delete(ns)  # the host's goes too: its bridges and veths go with it
        # With those of sandboxes gone before: one listdir (a big /etc/netns costs ~1 ms).
        etc = {self.name, *mine, *_etc_entries(self.name)}
        for entry in etc:
            remove_etc(f"/etc/netns/{entry}")
        shutil.rmtree(self.state_dir, ignore_errors=True)
        for pid in dying:
            selfproc.reap(pid, 0.1)  # the lab's DNS server
        left = [n for n in nsfs.list_names() if n == self.name or n.startswith(prefix)]
        leaks += [f"namespace {n} was not removed" for n in left]
        leaks += [f"/etc/netns/{n} was not removed" for n in sorted(etc)
                  if os.path.lexists(f"/etc/netns/{n}")]
        leaks += [f"interface {i} appeared in the machine's own namespace"
                  for i in sorted(_root_nsnet_links() - self._root_links)]
        return leaks

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        leaks = self.close()
        if leaks and exc[0] is None:
            raise AssertionError("nsnet lab leaked: " + "; ".join(leaks))


def _quiet(call):
    try:
        return call()
    except Exception:
        return None


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()[:80]
    except OSError:
        return "?"


def _signal(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _stop_group(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def _root_nsnet_links() -> set[str]:
    """nsnet-named interfaces of the machine's own namespace (there should be none)."""
    try:
        names = os.listdir("/sys/class/net")
    except OSError:
        return set()
    return {n for n in names if n.startswith(("nsbr-", "nsv", "nsvx-"))}
