"""The DNS server's life: one per state directory whatever the concurrency,
started without anyone waiting for it, noticed and restarted after kill -9,
gone with the last network, and never keeping a removed sandbox's namespace."""

import os
import signal
from concurrent.futures import ThreadPoolExecutor

from .dns_server_env import Client
from .helpers import in_ns, wait_until

LAB = """\
name: dnslife
networks:
  n: {subnet: 10.72.0.0/24}
sandboxes:
  a: {networks: [n]}
  b: {networks: [n]}
"""


def resolve(ns, name):
    r = in_ns(ns, "getent", "hosts", name)
    return r.stdout.split()[0] if r.returncode == 0 else None


def answered(ns, name) -> bool:
    c = Client(ns)
    try:
        return c.query("127.0.0.11", name, timeout=0.3) is not None
    finally:
        c.close()


def servers(host) -> list[int]:
    """Pids of DNS server processes of this host's state directory."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if b"nsnet.dns" in argv and host.state_dir.encode() in argv:
                found.append(int(entry))
    return found


def kill_server(host) -> int:
    pid = host.engine.dns_pid()
    assert pid
    os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: host.engine.dns_check() != [], timeout=5)
    return pid


def test_a_killed_server_is_noticed_and_repaired(host):
    e = host.engine
    e.network_create("n", subnet="10.70.0.0/24")
    e.sandbox_create("a", networks=["n"])
    e.sandbox_create("b", networks=["n"])
    a = host.prefix + "a"
    assert resolve(a, "b") == "10.70.0.3"
    pid = kill_server(host)
    problem = e.dns_check()[0]
    assert "the DNS server is not running" in problem
    # what its log said last (killed by -9, it said nothing of that: its last reload)
    assert f"its log ends: nsnet-dns[{pid}] INFO " in problem, problem
    assert not answered(a, "b")  # nobody listens in the sandbox any more
    r = host.cli("dns", "status")
    assert "not running" in r.stdout and "problem: the DNS server is not running" in r.stdout
    assert e.dns_repair() and e.dns_check() == []
    assert e.dns_pid() not in (None, pid)
    assert resolve(a, "b") == "10.70.0.3"  # the new server made a's sockets itself


def test_the_next_change_restarts_a_killed_server(host):
    e = host.engine
    e.network_create("n", subnet="10.70.0.0/24")
    e.sandbox_create("a", networks=["n"])
    kill_server(host)
    e.sandbox_create("c", networks=["n"])  # nobody waits for the new server: the query waits for it
    assert resolve(host.prefix + "c", "a") == "10.70.0.2"
    assert resolve(host.prefix + "a", "c") == "10.70.0.3"
    assert e.dns_check() == [] and len(servers(host)) == 1


def test_status_notices_and_up_restarts_a_killed_server(host, tmp_path):
    path = tmp_path / "lab.yaml"
    path.write_text(LAB)
    r = host.cli("up", str(path))
    assert r.returncode == 0, r.stderr
    assert host.cli("status", str(path)).returncode == 0
    kill_server(host)
    st = host.cli("status", str(path))
    assert st.returncode != 0 and "dns" in st.stdout and "not running" in st.stdout
    r = host.cli("up", str(path))
    assert r.returncode == 0 and "~ repair dns: the DNS server is not running" in r.stdout, r.stdout + r.stderr
    assert host.cli("status", str(path)).returncode == 0
    assert resolve(host.prefix + "a", "b") == "10.72.0.3"
    assert host.cli("down", str(path)).returncode == 0


def test_exactly_one_server_whatever_the_concurrency(host):
    """20 commands that each find no server start one between them, and every
    sandbox they made is answered by it."""
    assert host.cli("network", "create", "n", "--subnet", "10.71.0.0/24").returncode == 0
    kill_server(host)

    def create(i):
        return host.cli("sandbox", "create", f"s{i}", "--network", "n", timeout=60)

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(create, range(20)))
    assert [r.returncode for r in results] == [0] * 20, [r.stderr for r in results if r.returncode]
    assert len(servers(host)) == 1
    assert wait_until(lambda: len(servers(host)) == 1, timeout=3)  # and no second one comes late
    assert all(resolve(host.prefix + f"s{i}", f"s{(i + 1) % 20}") for i in range(0, 20, 4))
    assert servers(host) == [host.engine.dns_pid()]


def test_the_server_goes_with_the_last_network_and_comes_back_with_the_next(host):
    e = host.engine
    for i in range(3):  # a lab made and removed over and over, as a test suite does
        e.network_create("n", subnet="10.73.0.0/24")
        e.sandbox_create("a", networks=["n"])
        e.sandbox_create("b", networks=["n"])
        assert resolve(host.prefix + "a", "b") == "10.73.0.3", i
        e.sandbox_rm("a")
        e.sandbox_rm("b")
        e.network_rm("n")
        assert wait_until(lambda: servers(host) == [], timeout=5), i
    assert e.dns_check() == [] and e.dns_pid() is None


def test_a_removed_sandbox_leaves_nothing_behind(clean_host):
    """The server's sockets in a sandbox keep its namespace (and veth) alive:
    removing the sandbox must close them (clean_host checks the links go)."""
    e = clean_host.engine
    e.network_create("n", subnet="10.74.0.0/24")
    e.network_create("keep", subnet="10.75.0.0/24")
    for name in ("a", "b", "c"):
        e.sandbox_create(name, networks=["n"])
    e.sandbox_create("k", networks=["keep"])  # the server stays: only the sockets must go
    assert resolve(clean_host.prefix + "a", "c") == "10.74.0.4"
    veths = {e.sandbox_inspect(name)["endpoints"][0]["host_ifname"] for name in ("a", "b", "c")}
    for name in ("a", "b", "c"):
        e.sandbox_rm(name)
    assert wait_until(lambda: not veths & set(clean_host.host_links()), timeout=10), clean_host.host_links()
    assert e.dns_pid() is not None
    e.sandbox_rm("k")
    e.network_rm("n")
    e.network_rm("keep")
    assert not [d for d in os.listdir("/etc/netns") if d.startswith(clean_host.prefix)]


def test_sync_restarts_and_waits(host):
    e = host.engine
    e.network_create("n", subnet="10.76.0.0/24")
    e.sandbox_create("a", networks=["n"])
    kill_server(host)
    r = host.cli("dns", "sync")
    assert r.returncode == 0 and "dns server pid" in r.stdout
    assert answered(host.prefix + "a", "a")  # sync waited for it: it answers at once
