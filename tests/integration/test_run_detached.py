"""`nsnet run --detach`, ps, logs, stop, and `sandbox rm` stopping what runs."""

import os
import signal
import time

import pytest

from .helpers import in_ns, set_bridge_nf, wait_until
from .outside import HOST_IP, OUTSIDE_IP, Outside
from .run_support import SERVER, alive, cli, ps, record, running_host, tcp_hello, wait_listening

rhost = pytest.fixture(running_host)


def test_detached_server_reachable_from_another_sandbox(rhost):
    h = rhost
    cli(h, "network", "create", "lan", "--subnet", "10.91.0.0/24", check=True)
    r = cli(h, "run", "-d", "--name", "web", "--network", "lan:10.91.0.10", "--", "python3", "-c", SERVER, "8080")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("started web (pid ")
    cli(h, "sandbox", "create", "client", "--network", "lan", check=True)
    assert wait_listening(h.prefix + "client", "10.91.0.10", 8080)
    assert tcp_hello(h, "client", "10.91.0.10", 8080) == "hello 10.91.0.2"  # real TCP across the bridge
    # The CLI that started it is long gone; ps (a new process) still knows it runs.
    row = ps(h)["web"]
    assert (row["state"], row["sandbox"], row["exit_code"]) == ("running", "web", None)
    assert row["pid"] == record(h, "web")["pid"] and alive(record(h, "web"))
    assert row["uptime"] >= 0 and row["command"][:2] == ["python3", "-c"]
    assert "listening" in cli(h, "logs", "web").stdout
    r = cli(h, "stop", "web")
    assert r.returncode == 0 and "SIGTERM" in r.stdout and "143" in r.stdout, r.stderr
    row = ps(h)["web"]
    assert (row["state"], row["exit_code"], row["signal"]) == ("exited", 143, 15)
    assert not wait_listening(h.prefix + "client", "10.91.0.10", 8080, timeout=0.5)


@pytest.mark.parametrize("bridge_nf", [True, False], ids=["br_netfilter", "no_br_netfilter"])
def test_published_port_reaches_the_detached_server(rhost, bridge_nf):
    h = rhost
    set_bridge_nf(h.name, bridge_nf)
    outside = Outside(h)
    try:
        cli(h, "network", "create", "lan", "--subnet", "10.96.0.0/24", check=True)
        r = cli(h, "run", "-d", "--name", "pub", "--network", "lan", "-p", "8080:80", "--",
                "python3", "-c", SERVER, "80")
        assert r.returncode == 0, r.stderr
        assert wait_listening(outside.name, HOST_IP, 8080)
        code = "import socket,sys; print(socket.create_connection((sys.argv[1], 8080), timeout=3).recv(99).decode())"
        assert in_ns(outside.name, "python3", "-c", code, HOST_IP).stdout.strip() == f"hello {OUTSIDE_IP}"
        assert cli(h, "stop", "pub").returncode == 0
    finally:
        outside.destroy()


def test_ps_table_and_exit_codes(rhost):
    h = rhost
    cli(h, "run", "-d", "--name", "quick", "--", "sh", "-c", "exit 3", check=True)
    cli(h, "run", "-d", "--name", "slow", "--", "sleep", "30", check=True)
    assert wait_until(lambda: ps(h)["quick"]["state"] == "exited")
    rows = ps(h)
    assert rows["quick"]["exit_code"] == 3 and rows["slow"]["state"] == "running"
    table = cli(h, "ps", "-a").stdout.splitlines()
    assert table[0].split() == ["NAME", "SANDBOX", "PID", "STATE", "EXIT", "UPTIME", "COMMAND"]
    quick = next(line for line in table if line.startswith("quick"))
    assert quick.split()[3:5] == ["exited", "3"]
    # pid reuse: a record whose start time does not match is not "running", whatever its pid.
    rec = record(h, "slow")
    from nsnet.state.processes import ProcessRecords

    ProcessRecords(h.state_dir).update("slow", starttime=rec["starttime"] + 1)
    assert ps(h)["slow"]["state"] == "exited"
    ProcessRecords(h.state_dir).update("slow", starttime=rec["starttime"])
    assert ps(h)["slow"]["state"] == "running"
    # Killed behind nsnet's back: the supervisor still records how it ended.
    os.kill(rec["pid"], signal.SIGKILL)
    assert wait_until(lambda: ps(h)["slow"]["exit_code"] == 137)


def test_logs_follow_and_rotation(rhost):
    h = rhost
    script = ("for i in $(seq 1 20); do echo out $i; echo err $i >&2; sleep 0.05; done; "
              "head -c 5000 /dev/zero | tr '\\0' x; echo; echo last")
    cli(h, "run", "-d", "--name", "talk", "--log-max-size", "1k", "--log-max-files", "2", "--",
        "sh", "-c", script, check=True)
    t0 = time.monotonic()
    r = cli(h, "logs", "--follow", "talk", timeout=20)  # returns once the process exits
    assert r.returncode == 0, r.stderr
    assert time.monotonic() - t0 < 15
    assert r.stdout.endswith("x\nlast\n")
    assert r.stderr.splitlines() == [f"err {i}" for i in range(1, 21)]  # stderr stays on stderr
    folder = os.path.join(h.state_dir, "processes", "talk")
    assert sorted(os.listdir(folder)) == ["state.json", "stderr.log", "stdout.log", "stdout.log.1"]
    assert all(os.path.getsize(os.path.join(folder, f)) <= 1024 for f in ("stdout.log", "stdout.log.1"))
    again = cli(h, "logs", "talk")
    assert again.stdout.endswith("x\nlast\n") and len(again.stdout) <= 2048
    assert ps(h)["talk"]["exit_code"] == 0


def test_stop_sends_term_then_kill(rhost):
    h = rhost
    cli(h, "run", "-d", "--name", "stubborn", "--", "sh", "-c",
        "trap '' TERM; echo ready; while true; do sleep 0.1; done", check=True)
    assert wait_until(lambda: "ready" in cli(h, "logs", "stubborn").stdout)
    pgid = record(h, "stubborn")["pgid"]
    t0 = time.monotonic()
    r = cli(h, "stop", "--timeout", "1", "stubborn")
    took = time.monotonic() - t0
    assert r.returncode == 0 and "SIGKILL" in r.stdout, r.stderr
    assert 1.0 <= took < 8
    assert ps(h)["stubborn"]["exit_code"] == 137
    assert wait_until(lambda: _group_gone(pgid))  # the loop's `sleep` children too
    cli(h, "run", "-d", "--name", "polite", "--", "sleep", "60", check=True)
    t0 = time.monotonic()
    r = cli(h, "stop", "--timeout", "10", "polite")
    assert r.returncode == 0 and "SIGTERM" in r.stdout and time.monotonic() - t0 < 5
    r = cli(h, "stop", "polite")
    assert r.returncode == 4 and r.stderr == "nsnet: error: process 'polite' is not running\n"


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def test_sandbox_rm_stops_what_runs_there(rhost):
    h = rhost
    cli(h, "run", "-d", "--name", "a", "--", "sleep", "300", check=True)
    cli(h, "run", "-d", "--sandbox", "a", "--name", "b", "--isolate-pid", "--", "sleep", "300", check=True)
    cli(h, "run", "-d", "--name", "elsewhere", "--", "sleep", "300", check=True)
    recs = [record(h, n) for n in ("a", "b")]
    assert all(alive(r) for r in recs)
    r = cli(h, "sandbox", "rm", "a", timeout=60)
    assert r.returncode == 0, r.stderr
    assert not any(alive(r) for r in recs)
    rows = ps(h)
    assert (rows["a"]["state"], rows["b"]["state"], rows["elsewhere"]["state"]) == ("exited", "exited", "running")
    assert h.prefix + "a" not in h.sandbox_namespaces()


@pytest.mark.parametrize("isolate", [[], ["--isolate-pid"]], ids=["plain", "isolated"])
def test_detached_rm_removes_sandbox_and_record_after_exit(rhost, isolate):
    h = rhost
    cli(h, "network", "create", "lan", "--subnet", "10.92.0.0/24", check=True)
    cli(h, "run", "-d", "--rm", *isolate, "--name", "brief", "--network", "lan", "--", "sleep", "0.3", check=True)
    assert h.prefix + "brief" in h.sandbox_namespaces()
    assert wait_until(lambda: h.prefix + "brief" not in h.sandbox_namespaces(), timeout=10)
    assert wait_until(lambda: "brief" not in ps(h))
    assert h.engine.store.endpoints(network="lan") == []


def test_env_and_workdir(rhost):
    h = rhost
    r = cli(h, "run", "--env", "GREETING=hi there", "-e", "EMPTY=", "--workdir", "/tmp", "--",
            "sh", "-c", 'echo "$GREETING|${EMPTY-unset}|$(pwd)"')
    assert (r.returncode, r.stdout) == (0, "hi there||/tmp\n"), r.stderr


def test_run_with_a_published_port_loads_no_click_or_rich(rhost):
    """Issue #7: the `nsnet run -d --network N -p P:Q` path stays light (what it
    imports is most of its start-up)."""
    import subprocess

    from .run_support import nsnet_argv

    h = rhost
    cli(h, "network", "create", "lan", "--subnet", "10.97.0.0/24", check=True)
    argv = [os.sys.executable, "-X", "importtime", *nsnet_argv(), "run", "-d", "--name", "light", "--network", "lan",
            "-p", "8080:80", "--", "sleep", "30"]
    r = subprocess.run(argv, env=h.env, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stdout.startswith("started light (pid "), r.stderr
    imported = {line.split("|")[-1].strip() for line in r.stderr.splitlines() if line.startswith("import time:")}
    # (subprocess may load here: the network's first sandbox starts the DNS server)
    heavy = {"click", "rich", "shutil", "hashlib", "pyroute2", "dataclasses", "argparse"}
    assert not {m for m in imported if m.split(".")[0] in heavy}
    assert cli(h, "stop", "light").returncode == 0
