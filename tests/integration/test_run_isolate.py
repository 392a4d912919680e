"""--isolate-pid: a PID namespace of its own, its own /proc, the command as
pid 1 (as `docker run`); --init: a reaping pid 1 (as `docker run --init`);
`nsnet exec` into such a sandbox joins its PID view (as `docker exec`)."""

import json

import pytest

from .run_support import SERVER, cli, ps, running_host, tcp_hello, wait_listening

rhost = pytest.fixture(running_host)

LIST_PIDS = ("import os\n"
             "print(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()), os.getpid())\n"
             "print(open('/proc/1/comm').read().strip())\n")
# An orphan (the grandchild `sleep`) is re-parented to pid 1 and exits there.
ORPHAN = ("import os, subprocess, time\n"
          "subprocess.run(['sh', '-c', 'sleep 0.1 &'])\n"
          "time.sleep(0.6)\n"
          "states = [open(f'/proc/{p}/stat').read().rsplit(')', 1)[1].split()[0]\n"
          "          for p in os.listdir('/proc') if p.isdigit()]\n"
          "print('zombies', states.count('Z'))\n")


def test_only_the_sandbox_processes_are_visible(rhost):
    h = rhost
    r = cli(h, "run", "--isolate-pid", "--", "python3", "-c", LIST_PIDS)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["[1] 1", "python3"]  # the command itself is pid 1
    r = cli(h, "run", "--isolate-pid", "--init", "--", "python3", "-c", LIST_PIDS)
    assert r.stdout.splitlines() == ["[1, 2] 2", "nsnet-init"]  # init is pid 1, the command pid 2
    r = cli(h, "run", "--", "python3", "-c", "import os; print(len([p for p in os.listdir('/proc') if p.isdigit()]))")
    assert int(r.stdout) > 2  # without --isolate-pid: the host's PID view


def test_init_reaps_orphaned_zombies(rhost):
    h = rhost
    r = cli(h, "run", "--isolate-pid", "--init", "--", "python3", "-c", ORPHAN)
    assert (r.returncode, r.stdout) == (0, "zombies 0\n"), r.stderr
    # Contrast: with the command as pid 1 (python does not reap strangers) the orphan stays a zombie.
    r = cli(h, "run", "--isolate-pid", "--", "python3", "-c", ORPHAN)
    assert r.stdout == "zombies 1\n"


def test_exit_codes_through_init(rhost):
    h = rhost
    assert cli(h, "run", "--isolate-pid", "--init", "--", "sh", "-c", "exit 9").returncode == 9
    assert cli(h, "run", "--isolate-pid", "--init", "--", "sh", "-c", "kill -KILL $$").returncode == 137
    assert cli(h, "run", "--isolate-pid", "--", "sh", "-c", "exit 9").returncode == 9


def test_detached_isolated_server_and_stop(rhost):
    h = rhost
    cli(h, "network", "create", "lan", "--subnet", "10.94.0.0/24", check=True)
    r = cli(h, "run", "-d", "--isolate-pid", "--init", "--name", "srv", "--network", "lan:10.94.0.5", "--",
            "python3", "-c", SERVER, "9000")
    assert r.returncode == 0, r.stderr
    cli(h, "sandbox", "create", "client", "--network", "lan", check=True)
    assert wait_listening(h.prefix + "client", "10.94.0.5", 9000)
    assert tcp_hello(h, "client", "10.94.0.5", 9000).startswith("hello 10.94.0.")
    assert ps(h)["srv"]["state"] == "running"
    r = cli(h, "stop", "srv")
    assert r.returncode == 0, r.stderr
    assert ps(h)["srv"]["exit_code"] == 143


def test_exec_joins_the_pid_view_of_the_sandbox(rhost):
    """As `docker exec`: a command run in a sandbox whose process has a PID
    namespace of its own sees that process as pid 1 (and its /proc), not the host's."""
    h = rhost
    r = cli(h, "run", "-d", "--isolate-pid", "--name", "srv", "--", "python3", "-c", SERVER, "9001")
    assert r.returncode == 0, r.stderr
    assert wait_listening(h.prefix + "srv", "127.0.0.1", 9001)
    r = cli(h, "exec", "srv", "--", "python3", "-c", LIST_PIDS)
    assert r.returncode == 0, r.stderr
    pids, me = r.stdout.splitlines()[0].rsplit(" ", 1)
    assert json.loads(pids) == [1, int(me)] and r.stdout.splitlines()[1] == "python3"  # the server is pid 1
    assert cli(h, "exec", "srv", "--", "sh", "-c", "exit 7").returncode == 7  # exit codes pass through
    r = cli(h, "exec", "srv", "--", "no-such-command-gp")
    assert r.returncode == 127 and "command not found" in r.stderr
    cli(h, "sandbox", "create", "plain", check=True)
    count = "import os; print(len([p for p in os.listdir('/proc') if p.isdigit()]))"
    r = cli(h, "exec", "plain", "--", "python3", "-c", count)
    assert int(r.stdout) > 2  # a sandbox without one: the host's PID view, as before
    # pid 1 without a handler ignores SIGTERM (as in docker without --init): stop kills it after --timeout
    r = cli(h, "stop", "--timeout", "0.5", "srv")
    assert r.returncode == 0 and "SIGKILL" in r.stdout, r.stdout + r.stderr
    assert ps(h)["srv"]["exit_code"] == 137
