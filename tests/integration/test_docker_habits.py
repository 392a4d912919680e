"""Docker's habits: the default network (`run` without --network, `--network
none`, `sandbox create --network default`), `ps` / `ps -a`, `rm`, `prune`, a
hostname per sandbox (its own UTS namespace)."""

import json
import os
import socket
import subprocess

import pytest

from nsnet.kernel.nsfs import UTS_RUN_DIR

from .helpers import NSNET, in_ns, wait_until
from .run_support import cli, ps, record, running_host
from .snapshot import full_snapshot

rhost = pytest.fixture(running_host)


def networks(h) -> dict:
    return {n["name"]: n for n in json.loads(cli(h, "--json", "network", "ls", check=True).stdout)}


def addresses(h, sandbox) -> list[str]:
    out = in_ns(h.prefix + sandbox, "ip", "-o", "-4", "addr", "show").stdout
    return sorted(line.split()[3] for line in out.splitlines())


def test_run_without_network_joins_the_default_one_with_nat_and_dns(rhost):
    h = rhost
    assert "default" not in networks(h)
    r = cli(h, "run", "-d", "--name", "srv", "--", "sleep", "60")
    assert r.returncode == 0, r.stderr
    default = networks(h)["default"]
    assert (default["driver"], default["sandboxes"]) == ("bridge", 1)
    assert default["subnet"] == "172.17.0.0/16"  # the first free one, as docker0's (nothing else here)
    assert default["options"]["masquerade"] and default["options"]["dns"]
    assert addresses(h, "srv") == ["127.0.0.1/8", "172.17.0.2/16"]
    cli(h, "sandbox", "create", "client", "--network", "default", check=True)
    assert addresses(h, "client") == ["127.0.0.1/8", "172.17.0.3/16"]
    assert wait_until(lambda: cli(h, "exec", "client", "--", "getent", "hosts", "srv").stdout.split()[:1]
                      == ["172.17.0.2"], timeout=10)
    assert in_ns(h.prefix + "client", "ping", "-c1", "-W2", "172.17.0.2").returncode == 0
    # A second run takes the same network, not a new one.
    cli(h, "run", "--name", "again", "--", "true", check=True)
    assert networks(h)["default"]["sandboxes"] == 3 and len(networks(h)) == 1


def test_network_none_and_a_bare_sandbox_have_loopback_only(rhost):
    h = rhost
    r = cli(h, "run", "--name", "alone", "--network", "none", "--", "ip", "-o", "link", "show")
    assert r.returncode == 0, r.stderr
    assert [line.split()[1] for line in r.stdout.splitlines()] == ["lo:"]
    cli(h, "sandbox", "create", "bare", check=True)
    assert addresses(h, "bare") == ["127.0.0.1/8"]
    assert networks(h) == {}  # neither made the default network


def test_the_default_network_is_made_in_the_sandbox_change(rhost):
    h = rhost
    before = full_snapshot(h)
    r = cli(h, "sandbox", "create", "web", "--network", "default", "--dry-run")
    assert r.returncode == 0, r.stderr
    assert f"ip -n {h.name} link add nsbr-default address" in r.stdout and "ip netns add" in r.stdout
    assert full_snapshot(h) == before  # a dry run: neither the network nor the sandbox
    r = cli(h, "sandbox", "create", "web", "--network", "default:10.1.2.3")  # not in the subnet it gets
    assert r.returncode == 2, r.stderr
    assert full_snapshot(h) == before  # the failed sandbox took its new network with it


def test_the_default_network_cannot_go_while_used(rhost):
    h = rhost
    cli(h, "sandbox", "create", "web", "--network", "default", check=True)
    for force in ([], ["--force"]):
        r = cli(h, "network", "rm", "default", *force)
        assert r.returncode == 4 and "default network is in use by 1 sandbox(es) (web)" in r.stderr, r.stderr
    cli(h, "sandbox", "rm", "web", check=True)
    assert cli(h, "network", "rm", "default").returncode == 0
    assert networks(h) == {}


def test_ps_shows_running_processes_and_ps_a_exited_ones_too(rhost):
    h = rhost
    cli(h, "run", "--name", "done", "--network", "none", "--", "true", check=True)
    cli(h, "run", "-d", "--name", "live", "--network", "none", "--", "sleep", "60", check=True)
    assert cli(h, "ps", "-q").stdout.split() == ["live"]
    assert cli(h, "ps", "-a", "-q").stdout.split() == ["done", "live"]
    assert [row["name"] for row in json.loads(cli(h, "--json", "ps").stdout)] == ["live"]
    table = cli(h, "ps", "--all").stdout.splitlines()
    assert [line.split()[0] for line in table] == ["NAME", "done", "live"]


def test_rm_removes_an_exited_process_and_its_sandbox(rhost):
    h = rhost
    cli(h, "run", "--name", "done", "--", "true", check=True)
    cli(h, "run", "-d", "--name", "live", "--", "sleep", "60", check=True)
    cli(h, "sandbox", "create", "mine", check=True)
    cli(h, "run", "-d", "--name", "guest", "--sandbox", "mine", "--", "sleep", "60", check=True)
    r = cli(h, "rm", "done")
    assert (r.returncode, r.stdout) == (0, "removed done and its sandbox done\n"), r.stderr
    assert record(h, "done") is None and h.prefix + "done" not in h.sandbox_namespaces()
    assert "done" not in [s["name"] for s in json.loads(cli(h, "--json", "sandbox", "ls").stdout)]
    r = cli(h, "rm", "live")  # running: refused, and nothing changes
    assert r.returncode == 4 and "process 'live' is running" in r.stderr and ps(h)["live"]["state"] == "running"
    r = cli(h, "rm", "-f", "live", "guest")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["removed live and its sandbox live", "removed guest"]
    assert ps(h) == {}
    # `guest` ran in a sandbox it did not make: that sandbox stays.
    assert [s["name"] for s in json.loads(cli(h, "--json", "sandbox", "ls").stdout)] == ["mine"]
    assert networks(h)["default"]["sandboxes"] == 0


def test_prune_removes_exited_processes_and_unused_networks(rhost, tmp_path):
    h = rhost
    cli(h, "network", "create", "used", "--subnet", "10.97.1.0/24", check=True)
    cli(h, "network", "create", "idle", "--subnet", "10.97.2.0/24", check=True)
    topo = tmp_path / "t.yaml"
    topo.write_text("name: t\nnetworks:\n  owned: {subnet: 10.97.3.0/24}\n")
    cli(h, "up", str(topo), check=True)
    cli(h, "run", "--name", "done", "--", "true", check=True)
    cli(h, "run", "-d", "--name", "live", "--network", "used", "--", "sleep", "60", check=True)
    r = cli(h, "prune")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["removed process done", "removed sandbox done", "removed network idle",
                                     "1 process, 1 network removed"]
    assert sorted(networks(h)) == ["default", "owned", "used"]  # the default, a topology's, one in use
    assert list(ps(h)) == ["live"]
    r = cli(h, "--json", "prune")
    assert json.loads(r.stdout) == {"processes": [], "sandboxes": [], "networks": [], "errors": []}


def uts_pins(h) -> list[str]:
    return sorted(n for n in os.listdir(UTS_RUN_DIR) if n.startswith(h.prefix)) if os.path.isdir(UTS_RUN_DIR) else []


def test_each_sandbox_has_its_own_hostname_kept_like_its_namespace(rhost):
    h = rhost
    mine = socket.gethostname()
    cli(h, "sandbox", "create", "web", check=True)
    cli(h, "sandbox", "create", "db", "--hostname", "db.internal", check=True)
    assert cli(h, "exec", "web", "--", "hostname").stdout == "web\n"
    assert cli(h, "exec", "db", "--", "uname", "-n").stdout == "db.internal\n"
    assert json.loads(cli(h, "--json", "sandbox", "inspect", "db").stdout)["hostname"] == "db.internal"
    # Kept, as the network namespace is: a change inside is seen by the next command, not by the host.
    cli(h, "exec", "web", "--", "hostname", "renamed", check=True)
    assert cli(h, "exec", "web", "--", "hostname").stdout == "renamed\n"
    pin = os.path.join(UTS_RUN_DIR, h.prefix + "db")
    assert in_ns(h.name, "nsenter", f"--uts={pin}", "hostname").stdout == "db.internal\n"
    assert socket.gethostname() == mine
    assert uts_pins(h) == [h.prefix + "db", h.prefix + "web"]
    cli(h, "sandbox", "rm", "web", "db", check=True)
    assert uts_pins(h) == []  # unpinned with the namespace


def test_run_gives_its_sandbox_a_hostname(rhost):
    h = rhost
    mine = socket.gethostname()
    assert cli(h, "run", "--name", "w1", "--network", "none", "--", "hostname").stdout == "w1\n"
    r = cli(h, "run", "--name", "w2", "--hostname", "api", "--isolate-pid", "--network", "none", "--", "hostname")
    assert r.stdout == "api\n", r.stderr
    cli(h, "run", "-d", "--name", "w3", "--hostname", "bg", "--network", "none", "--", "sh", "-c",
        "hostname; sleep 60", check=True)
    assert wait_until(lambda: cli(h, "logs", "w3").stdout == "bg\n", timeout=10)
    assert cli(h, "exec", "w3", "--", "hostname").stdout == "bg\n"
    assert socket.gethostname() == mine
    cli(h, "rm", "-f", "w1", "w2", "w3", check=True)
    assert uts_pins(h) == []


def test_a_bad_hostname_changes_nothing(rhost):
    h = rhost
    before = full_snapshot(h)
    for args in (["sandbox", "create", "x", "--hostname", "bad_name"], ["run", "--hostname", "-x", "--", "true"],
                 ["run", "--sandbox", "nope", "--hostname", "x", "--", "true"]):
        r = cli(h, *args)
        assert r.returncode in (2, 3) and r.stderr.count("\n") == 1, r.stderr
    assert full_snapshot(h) == before and uts_pins(h) == []


def test_the_uts_namespace_is_made_by_the_first_command_and_shared_by_the_next(rhost):
    h = rhost
    cli(h, "sandbox", "create", "x", "--hostname", "x.lab", check=True)
    assert uts_pins(h) == []  # a sandbox that runs nothing never pays for it
    first = subprocess.Popen([NSNET, "exec", "x", "--", "sh", "-c", "hostname; sleep 0.3; hostname"], env=h.env,
                             stdout=subprocess.PIPE, text=True)
    racing = [cli(h, "exec", "x", "--", "hostname").stdout for _ in range(3)]
    assert first.communicate(timeout=30)[0] == "x.lab\nx.lab\n" and racing == ["x.lab\n"] * 3
    assert uts_pins(h) == [h.prefix + "x"]
    inside = [cli(h, "exec", "x", "--", "readlink", "/proc/self/ns/uts").stdout.strip() for _ in range(2)]
    assert inside[0] == inside[1] != os.readlink("/proc/self/ns/uts")  # one of its own, the same each time


def test_a_topology_file_names_hosts(rhost, tmp_path):
    h = rhost
    topo = tmp_path / "t.yaml"
    topo.write_text("name: t\nsandboxes:\n  a: {hostname: alpha.lab}\n  b:\n")
    cli(h, "up", str(topo), check=True)
    assert cli(h, "exec", "a", "--", "hostname").stdout == "alpha.lab\n"
    assert cli(h, "exec", "b", "--", "hostname").stdout == "b\n"
    assert cli(h, "up", str(topo)).stdout == "0 changes\n"
    topo.write_text("name: t\nsandboxes:\n  a: {hostname: beta.lab}\n  b:\n")  # a hostname is made once: a new sandbox
    r = cli(h, "status", str(topo))
    assert r.returncode == 1 and "re-create: hostname alpha.lab -> beta.lab" in r.stdout, r.stdout + r.stderr
    r = cli(h, "up", str(topo))
    assert r.stdout.splitlines() == ["~ sandbox 'a' re-created (hostname alpha.lab -> beta.lab)", "+ sandbox 'a'",
                                     "2 changes"], r.stdout + r.stderr
    assert cli(h, "exec", "a", "--", "hostname").stdout == "beta.lab\n"
    cli(h, "down", str(topo), check=True)
    assert uts_pins(h) == []


def test_a_pin_left_bare_by_a_crash_is_made_again(rhost):
    """A command that died between creating the pin file and mounting its namespace
    on it leaves an empty file: the next command waits a moment, then replaces it."""
    h = rhost
    cli(h, "sandbox", "create", "x", check=True)
    os.makedirs(UTS_RUN_DIR, exist_ok=True)
    pin = os.path.join(UTS_RUN_DIR, h.prefix + "x")
    open(pin, "x").close()
    try:
        r = cli(h, "exec", "x", "--", "hostname")
        assert (r.returncode, r.stdout) == (0, "x\n"), r.stderr
        assert cli(h, "exec", "x", "--", "hostname").stdout == "x\n"
    finally:
        cli(h, "sandbox", "rm", "x")
    assert not os.path.exists(pin)
