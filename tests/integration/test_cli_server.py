"""The command line through its warm server (on unless NSNET_CLI_LINGER=0, cli/served.py):
the same output and exit codes as made in the calling process; only commands
of the server's own namespaces, privileges and settings; SIGTERM reaches the
command; the server goes when its socket does."""

import array
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time

import pytest

from nsnet.cli import served
from nsnet.cni.client import server_pid, stop_server

from .helpers import NSNET, ended, wait_until

# served.call as bin/nsnet makes it, and whether it was served (None: made in this process)
PROBE = "import sys; from nsnet.cli import served; code = served.call(sys.argv[1:]); print('served', code)"


def served_env(host, **extra) -> dict:
    return dict(host.env, NSNET_CLI_LINGER="30", **extra)


def probe(host, *args, env=None, prefix=()):
    return subprocess.run([*prefix, sys.executable, "-c", PROBE, *args], env=env or served_env(host),
                          capture_output=True, text=True, timeout=60)


def server_of(host):
    return server_pid(host.state_dir, served.paths(host.state_dir))


@pytest.fixture
def lab(host):
    assert host.cli("network", "create", "lan", "--subnet", "10.97.0.0/24").returncode == 0
    yield host
    assert stop_server(host.state_dir, paths=served.paths(host.state_dir))


def test_served_commands_answer_as_in_process(lab):
    r = probe(lab, "sandbox", "create", "a1", "--network", "lan", "-p", "18095:80")
    assert r.stdout.endswith("served 0\n") and "created sandbox a1" in r.stdout, (r.stdout, r.stderr)
    assert [sb["name"] for sb in lab.engine.sandbox_rows()] == ["a1"] and server_of(lab) is not None
    for args in (["sandbox", "ls"], ["network", "inspect", "lan"], ["port"], ["network", "ls", "--json"],
                 ["sandbox", "create", "bad name!"], ["network", "connect", "lan", "nope"], ["sandbox", "rm", "nope"],
                 ["publish", "a1", "99999:80"], ["sandbox", "ls", "--help"], ["--json", "network", "ls"],
                 ["--host-netns", lab.name, "sandbox", "inspect", "a1"],  # global options before the command
                 ["partition", "nope"], ["impair", "a1", "--loss", "101"], ["impair", "a1", "--delay", "5"],
                 ["faults"], ["--json", "faults"]):
        mine = subprocess.run([NSNET, *args], env=dict(lab.env, NSNET_CLI_LINGER="0"), capture_output=True,
                              text=True, timeout=60)  # made in the calling process
        theirs = probe(lab, *args)
        assert (theirs.stdout, theirs.stderr) == (mine.stdout + f"served {mine.returncode}\n", mine.stderr), args
    r = probe(lab, "sandbox", "rm", "a1")
    assert r.stdout == "removed sandbox a1\nserved 0\n" and lab.engine.sandbox_rows() == []
    # what the calling process itself loads: none of the engine, sqlite3, json or the errors
    r = subprocess.run([sys.executable, "-X", "importtime", NSNET, "network", "ls"], env=served_env(lab),
                       capture_output=True, text=True, timeout=60)
    loaded = {line.split("|")[-1].strip() for line in r.stderr.splitlines() if line.startswith("import time:")}
    assert r.returncode == 0 and "lan" in r.stdout
    assert not loaded & {"nsnet.engine", "sqlite3", "json", "_json", "re", "nsnet.errors"}, loaded


# Every served command, in one process after the server's imports: what it loads on top
WARM_PROBE = """
import importlib, io, contextlib, sys
from nsnet.cli import server
for name in server.WARM:
    importlib.import_module(name)
before = set(sys.modules)
from nsnet.cli.main import main
for line in sys.stdin.read().splitlines():
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(line.split()) == 0, line
print(" ".join(sorted(m for m in set(sys.modules) - before if getattr(sys.modules[m], "__file__", "")
                      and sys.modules[m].__file__.endswith(".py"))))
"""


def test_the_server_has_imported_what_served_commands_load(lab):
    """A module imported in the child is imported per command (~0.1-1 ms each): WARM must hold them all."""
    commands = ["sandbox create x --network lan -p 18096:80", "network create l2 --subnet 10.98.0.0/24",
                "network connect l2 x", "publish x 18097:80", "unpublish x 18097:80", "sandbox ls",
                "sandbox inspect x", "network ls", "network inspect lan", "port", "network disconnect l2 x",
                "run -d --name r1 --sandbox x -- sleep 30", "sandbox create y --network lan", "partition x",
                "faults", "heal", "impair y --loss 10", "impair y --clear", "sandbox rm x", "sandbox rm y",
                "network rm l2"]
    assert set(tuple(c.split()[:2]) if c.split()[0] in ("sandbox", "network") else tuple(c.split()[:1])
               for c in commands) == served.SERVED
    r = subprocess.run([sys.executable, "-c", WARM_PROBE], input="\n".join(commands), env=lab.env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout == "\n", (r.stdout, r.stderr)


def test_served_by_default_and_made_in_process_with_a_zero_linger(lab):
    env = {k: v for k, v in lab.env.items() if k != "NSNET_CLI_LINGER"}
    assert probe(lab, "network", "ls", env=env).stdout.endswith("served 0\n")
    assert probe(lab, "network", "ls", env=dict(env, NSNET_CLI_LINGER="0")).stdout.endswith("served None\n")


def test_other_namespaces_privileges_or_settings_are_made_in_process(lab):
    assert probe(lab, "network", "ls").stdout.endswith("served 0\n")  # the server runs
    not_served = [
        probe(lab, "network", "ls", env=served_env(lab, NSNET_NETNS_PREFIX=lab.prefix)),  # another setting
        probe(lab, "network", "ls", "--state-dir", lab.state_dir),  # the state dir named on the command line
        probe(lab, "network", "ls", prefix=["setpriv", "--inh-caps=-all", "--bounding-set=-net_admin", "--"]),
        probe(lab, "network", "ls", prefix=["ip", "netns", "exec", lab.name]),  # another network namespace
        probe(lab, "network", "ls", prefix=["nice", "-n", "3"]),  # what a process started from it would inherit
        probe(lab, "network", "ls", prefix=["prlimit", "--nofile=512:4096", "--"]),
        probe(lab, "ps"),  # not a served command
    ]
    for r in not_served:
        assert r.stdout.endswith("served None\n"), (r.stdout, r.stderr)
    weak = subprocess.run(["setpriv", "--inh-caps=-all", "--bounding-set=-net_admin,-sys_admin", "--", NSNET,
                           "network", "rm", "lan"], env=served_env(lab), capture_output=True, text=True, timeout=60)
    assert weak.returncode == 5 and [n["name"] for n in lab.engine.network_rows()] == ["lan"], weak.stderr


def _conditions(pid: int) -> tuple:
    """What a process inherits from whoever started it, besides namespaces and privileges."""
    def read(name):
        with open(f"/proc/{pid}/{name}") as f:
            return f.read()
    return read("cgroup"), read("limits"), read("oom_score_adj"), os.getpriority(os.PRIO_PROCESS, pid)


def test_run_detached_is_served_and_its_process_has_the_callers_conditions(lab):
    assert probe(lab, "sandbox", "create", "rs", "--network", "lan").stdout.endswith("served 0\n")
    r = probe(lab, "--host-netns", lab.name, "run", "-d", "--name", "r1", "--sandbox", "rs", "--", "sleep", "60")
    assert r.stdout.startswith("started r1 (pid ") and r.stdout.endswith("served 0\n"), (r.stdout, r.stderr)
    pid = int(r.stdout.split("pid ")[1].split(")")[0])
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        assert f.read() == b"sleep\x0060\x00"
    assert _conditions(pid) == _conditions(os.getpid())  # the probe's are this test's
    ps = subprocess.run([NSNET, "ps"], env=lab.env, capture_output=True, text=True, timeout=60)
    assert "r1" in ps.stdout and "running" in ps.stdout, ps.stdout
    # made in the calling process: not detached, or a terminal, or other conditions than the server's
    not_served = [
        probe(lab, "run", "--sandbox", "rs", "--", "true"),
        probe(lab, "run", "-dit", "--sandbox", "rs", "--", "true"),
        probe(lab, "--json", "run", "-dit", "--sandbox", "rs", "--", "true"),  # the server parses past --json
        probe(lab, "run", "--sandbox", "rs", "--", "ls", "-d", "/"),
        probe(lab, "run", "-d", "--name", "r2", "--sandbox", "rs", "--", "sleep", "60", prefix=["nice", "-n", "3"]),
        probe(lab, "run", "-d", "--name", "r3", "--sandbox", "rs", "--", "sleep", "60",
              prefix=["prlimit", "--nofile=512:4096", "--"]),
    ]
    for r in not_served:
        assert r.stdout.endswith("served None\n"), (r.stdout, r.stderr)
    assert probe(lab, "sandbox", "rm", "rs").stdout.endswith("served 0\n")  # stops what runs there
    assert wait_until(lambda: ended(pid), timeout=10)


def test_a_server_whose_conditions_changed_serves_no_more(lab):
    """A child keeps what it inherited at its fork: the spare forked before the server
    was reniced may still make one command (at the caller's nice value), none after."""
    assert probe(lab, "sandbox", "create", "rn", "--network", "lan").stdout.endswith("served 0\n")
    os.setpriority(os.PRIO_PROCESS, server_of(lab), 4)  # a child forked now would run at nice 4
    outcomes = []
    for name in ("n1", "n2"):
        r = probe(lab, "run", "-d", "--name", name, "--sandbox", "rn", "--", "sleep", "60")
        outcomes.append(r.stdout)
        if r.stdout.endswith("served 0\n"):  # by the spare forked before
            pid = int(r.stdout.split("pid ")[1].split(")")[0])
            assert os.getpriority(os.PRIO_PROCESS, pid) == 0  # the caller's
    assert outcomes[-1] == "served None\n", outcomes
    assert lab.cli("sandbox", "rm", "rn").returncode == 0  # stops what runs there


def test_sigterm_reaches_the_served_command(lab):
    """SIGTERM to the calling process reaches the command in the server's child:
    it ends as a command of its own would (exit 143, the change rolled back)."""
    assert probe(lab, "network", "ls").stdout.endswith("served 0\n")
    server = server_of(lab)
    assert wait_until(lambda: not _commands(server), timeout=10)  # the probe's child has gone
    db = sqlite3.connect(os.path.join(lab.state_dir, "state.db"), isolation_level=None)
    db.execute("BEGIN IMMEDIATE")  # the command waits for the store
    try:
        proc = subprocess.Popen([NSNET, "network", "create", "late", "--subnet", "10.98.0.0/24"],
                                env=served_env(lab), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert wait_until(lambda: _commands(server) or proc.poll() is not None, timeout=30, interval=0.005)
        proc.send_signal(signal.SIGTERM)  # noted by the change, raised at its first kernel step
        time.sleep(0.05)  # passed on (a kill(2) away) before the store is free
    finally:
        db.rollback()
        db.close()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "terminated" in err, err
    assert [n["name"] for n in lab.engine.network_rows()] == ["lan"]


def test_a_command_killed_in_the_server_ends_its_caller_alike(lab):
    """A child SIGKILLed at a kill point (the write-ahead intents' test hook)
    ends its caller with SIGKILL too, once the child is gone: what the shell,
    a test suite or crash recovery sees of a process of its own."""
    env = served_env(lab, NSNET_KILL_AT="1")
    assert stop_server(lab.state_dir, paths=served.paths(lab.state_dir))  # one of other settings may run
    assert probe(lab, "port", env=env).stdout.endswith("served 0\n")  # a server of these settings
    r = subprocess.run([NSNET, "network", "create", "k", "--subnet", "10.99.1.0/24"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == -9, (r.returncode, r.stderr)
    assert lab.cli("network", "create", "k", "--subnet", "10.99.1.0/24").returncode == 0  # settled, made


def test_a_caller_that_gave_up_never_has_its_command_made(lab, monkeypatch):
    """Past the `pid` answer the child waits for GO: a caller that closes
    instead (it timed out, and makes the command itself) leaves nothing done."""
    assert probe(lab, "port").stdout.endswith("served 0\n")
    for key, value in served_env(lab).items():
        monkeypatch.setenv(key, value)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    sock.connect(served.paths(lab.state_dir).sock)
    with open(os.devnull, "r+b") as null:
        fds = [null.fileno()] * 3
        sock.sendmsg([served.request(["network", "create", "never", "--subnet", "10.99.0.0/24"])],
                     [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
        pid = int(sock.recv(64).split()[1])
        sock.close()
    assert wait_until(lambda: ended(pid), timeout=10)
    assert [n["name"] for n in lab.engine.network_rows()] == ["lan"]


def test_a_spare_child_killed_while_waiting_is_replaced(lab):
    """The server forks the next command's child ahead; one that died waiting is not the end of it."""
    assert probe(lab, "port").stdout.endswith("served 0\n")
    server = server_of(lab)
    assert wait_until(lambda: _spares(server), timeout=10)
    for spare in _spares(server):
        os.kill(int(spare), signal.SIGKILL)
    r = probe(lab, "sandbox", "create", "s1", "--network", "lan")
    assert r.stdout.endswith("served 0\n") and [sb["name"] for sb in lab.engine.sandbox_rows()] == ["s1"], r
    assert server_of(lab) == server


def test_the_server_goes_with_its_socket(lab):
    assert probe(lab, "port").stdout.endswith("served 0\n")
    pid = server_of(lab)
    os.unlink(served.paths(lab.state_dir).sock)  # the state directory cleared away under it
    assert wait_until(lambda: server_of(lab) is None, timeout=10)  # gone (or a zombie: no command line)
    assert probe(lab, "port").stdout.endswith("served 0\n") and server_of(lab) not in (None, pid)  # a new one


def _commands(server: int) -> list[str]:
    """The server's children that run a command: they took their caller's stderr (the spare it forks
    ahead still has the server's log)."""
    def stderr(pid):
        try:
            return os.readlink(f"/proc/{pid}/fd/2")
        except OSError:
            return None

    return [c for c in _children(server) if stderr(c) not in (None, stderr(server))]


def _spares(server: int) -> list[str]:
    return [c for c in _children(server) if c not in _commands(server) and not ended(int(c))]


def _children(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return f.read().split()
    except OSError:
        return []
