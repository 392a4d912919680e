"""DNS servers forked from the warm forker (dns/forker.py): a server is the
forker's child with the same command line, fds and answers as one started
as a new process; the forker serves only callers of its namespaces and
privileges; NSNET_DNS_LINGER=0 starts servers as new processes; the forker
goes after its linger; it has imported what a server loads."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile

from nsnet.cni import client as warm
from nsnet.dns import forker
from nsnet.kernel import nsfs
from nsnet.kernel.selfproc import identity

from .helpers import ended, wait_until

SUBNET = "10.97.40.0/24"


def _ppid(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def _cmdline(pid: int) -> list[str]:
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return [a.decode() for a in f.read().split(b"\0") if a]


def _fds(pid: int) -> dict[int, str]:
    out = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            out[int(fd)] = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:
            pass
    return out


def _running_forker(root: str = forker.ROOT) -> int:
    """The pid of this install's forker, a fresh one: another test's may be at the end
    of its linger."""
    where = forker.paths(root)
    old = warm.server_pid(root, where)
    if old is not None:
        os.kill(old, signal.SIGTERM)
        assert wait_until(lambda: ended(old), timeout=10)
    sock = warm._connect(where) or warm._start(where)
    assert sock not in (None, warm.BUSY)
    sock.close()
    assert wait_until(lambda: warm.server_pid(root, where) is not None, timeout=10)
    return warm.server_pid(root, where)


def test_a_server_is_forked_with_the_command_line_fds_and_answers_of_a_new_one(host):
    pid_of_forker = _running_forker()
    host.engine.network_create("fk", subnet=SUBNET)
    host.engine.sandbox_create("fa", networks=[("fk", None)])
    host.engine.sandbox_create("fb", networks=[("fk", None)])
    pid = host.engine.dns_pid()
    assert pid is not None and _ppid(pid) == pid_of_forker
    with open(os.path.join(host.state_dir, "dns", "server.pid")) as f:
        assert int(f.read()) == pid
    assert _cmdline(pid) == [sys.executable, "-m", "nsnet.dns", "--state-dir", host.state_dir, "--lock-fd", "3",
                             "--control-fd", "4", "--host-netns", host.name]
    fds = _fds(pid)
    log = os.path.join(host.state_dir, "dns", "server.log")
    assert (fds[0], fds[1], fds[2], fds[3]) == ("/dev/null", log, log, os.path.join(host.state_dir, "dns",
                                                                                   "server.lock"))
    # nothing of the forker's (its lock, listener, log) and no file but its own: sockets and the store
    others = [t for fd, t in fds.items() if fd > 4 and not t.startswith(("socket:", "anon_inode:", host.state_dir))]
    assert others == []
    assert os.getsid(pid) == pid  # a session of its own
    r = subprocess.run(["ip", "netns", "exec", host.engine.sandbox_rows()[0]["netns"], "getent", "hosts", "fb"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stdout.split()[1] == "fb", r
    # it goes as a server of its own does: with the last network that resolves names
    host.engine.sandbox_rm("fa")
    host.engine.sandbox_rm("fb")
    host.engine.network_rm("fk")
    assert wait_until(lambda: ended(pid), timeout=10)


# An engine in another process: its DNS server's parent, and whether that is the probe itself
PROBE = """
import json, os, sys
from nsnet import Engine
eng = Engine()
eng.network_create("fk", subnet=sys.argv[1])
eng.sandbox_create("fa", networks=[("fk", None)])
pid = eng.dns_pid()
with open(f"/proc/{pid}/stat") as f:
    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
print(json.dumps({"mine": ppid == os.getpid(), "pid": pid}))
eng.close()
"""


def _probe(host, prefix=(), **env) -> dict:
    r = subprocess.run([*prefix, sys.executable, "-c", PROBE, SUBNET], env=dict(host.env, **env),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_a_zero_linger_starts_the_server_as_a_process_of_its_own(host):
    _running_forker()
    assert _probe(host, NSNET_DNS_LINGER="0")["mine"]


def _forkers_in(netns: str) -> list[int]:
    found = []
    for pid in nsfs.holders([netns]):
        with contextlib.suppress(OSError):  # gone meanwhile
            if "nsnet.dns.forker" in _cmdline(pid):
                found.append(pid)
    return found


def test_callers_in_another_namespace_start_their_own_server_and_no_forker_there(host):
    _running_forker()
    # `ip netns exec` gives the caller another network and mount namespace
    assert _probe(host, prefix=["ip", "netns", "exec", host.name])["mine"]
    assert _forkers_in(host.name) == []  # none would keep the namespace for its linger


def test_a_thread_in_another_namespace_is_not_forked_for(host):
    """An engine driven from a thread that entered a namespace (as the benches do): the
    thread's namespace decides, not the process's, and no forker starts in there."""
    _running_forker()
    with open(os.devnull) as null, nsfs.inside(host.name):
        inner = identity()
        assert forker.start(["--state-dir", host.state_dir], (null.fileno(),) * 3) is None
    assert inner != identity() and _forkers_in(host.name) == []


def test_a_forker_that_cannot_serve_stops_and_the_server_starts_anyway(host):
    """A forker whose own conditions changed after it started (here: its nice value)
    refuses its callers: it stops at the first, and that change's server starts as a
    process of its own (the link retries), with names resolving."""
    pid_of_forker = _running_forker()
    os.setpriority(os.PRIO_PROCESS, pid_of_forker, 5)
    host.engine.network_create("fk", subnet=SUBNET)
    host.engine.sandbox_create("fa", networks=[("fk", None)])
    pid = host.engine.dns_pid()
    assert pid is not None and _ppid(pid) == os.getpid()
    assert wait_until(lambda: ended(pid_of_forker), timeout=10)
    r = subprocess.run(["ip", "netns", "exec", host.engine.sandbox_rows()[0]["netns"], "getent", "hosts", "fa"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r


def test_a_refusal_reaches_the_caller_before_it_goes_on(host):
    """The caller learns of a refusal while it still holds the lock and listener it
    sent: were it told "asked" and the forker then dropped them, what the change
    sent its server would be lost with no server started (a CI run caught that race)."""
    pid_of_forker = _running_forker()
    os.setpriority(os.PRIO_PROCESS, pid_of_forker, 5)
    with open(os.devnull) as null:
        assert forker.start(["--state-dir", host.state_dir], (null.fileno(),) * 3) is None
    assert wait_until(lambda: ended(pid_of_forker), timeout=10)


def test_the_forker_goes_after_its_linger_and_leaves_no_folder():
    root = tempfile.mkdtemp(prefix="nsnet-test-forker-")
    where = forker.paths(root)
    env = dict(os.environ, NSNET_DNS_LINGER="1")
    start = f"from nsnet.dns import forker; print(forker.start(['--state-dir', '/nonexistent'], (0, 1, 2), {root!r}))"
    r = subprocess.run([sys.executable, "-c", start], env=env, capture_output=True, text=True, timeout=60)
    assert r.stdout == "None\n", r.stderr  # none ran: one is started for the next server, this one is not asked
    assert wait_until(lambda: warm.server_pid(root, where) is not None, timeout=10)
    pid = warm.server_pid(root, where)
    assert wait_until(lambda: ended(pid), timeout=10)
    assert not os.path.exists(where.folder)  # its socket, lock and pid with it
    subprocess.run(["rm", "-rf", root])


# After the forker's imports, what a server loads as it starts (none: WARM holds them all)
WARM_PROBE = """
import importlib, os, signal, sys, threading
from nsnet.dns import forker
from nsnet.kernel import nsfs
from nsnet.kernel.selfproc import identity
for name in forker.WARM:
    importlib.import_module(name)
before = set(sys.modules)
from nsnet.dns.__main__ import main
threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM)).start()
main(["--state-dir", sys.argv[1], "--host-netns", sys.argv[2]])
print(" ".join(sorted(m for m in set(sys.modules) - before)))
"""


def test_the_forker_has_imported_what_a_server_loads(host):
    host.engine.network_create("fk", subnet=SUBNET)
    host.engine.sandbox_create("fa", networks=[("fk", None)])
    r = subprocess.run([sys.executable, "-c", WARM_PROBE, host.state_dir, host.name], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0 and r.stdout == "\n", (r.stdout, r.stderr)


def test_a_forked_server_that_cannot_start_says_why_in_its_log(host):
    """A server that fails at its start writes why to its log, forked or not: a
    forked one ended silently (`doctor` then said only "not running")."""
    _running_forker()
    r = host.cli("network", "create", "fk", "--subnet", SUBNET, "--no-dns")  # a store, no server
    assert r.returncode == 0, r.stderr
    with open(os.path.join(host.state_dir, "state.db"), "r+b") as f:
        f.write(os.urandom(4096))
    folder = os.path.join(host.state_dir, "dns")
    os.makedirs(folder, exist_ok=True)
    log = os.path.join(folder, "server.log")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with open(os.path.join(folder, "server.lock"), "w") as lock, open(log, "w") as out, listener:
        args = ["--state-dir", host.state_dir, "--lock-fd", "3", "--control-fd", "4", "--host-netns", host.name]
        assert forker.start(args, (lock.fileno(), listener.fileno(), out.fileno())) == 0

    def said() -> str:
        with open(log) as f:
            return f.read()

    assert wait_until(lambda: "nsnet-dns: state store " in said(), timeout=10), said()
    assert said().splitlines()[-1].startswith("nsnet-dns: state store ")
