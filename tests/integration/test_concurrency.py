"""Any number of nsnet processes on one state dir (#14 item 4): they queue on
the store's write lock, so names, addresses and host ports are handed out
once, and no "database is locked" (or any traceback) reaches a user."""

import subprocess
import textwrap

from .helpers import NSNET, ping


def run_all(host, commands, timeout=240, env=None):
    """Start every command at once (each an nsnet argv), wait for all:
    [(exit code, stdout, stderr)] in order."""
    procs = [subprocess.Popen([NSNET, *argv], env=env or host.env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for argv in commands]
    try:
        return [(p.wait(timeout), *p.communicate()) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def assert_clean_errors(results):
    """Every failure is one line on stderr; no raw SQLite error, no traceback."""
    for code, _out, err in results:
        assert "locked" not in err and "Traceback" not in err and "sqlite3" not in err, err
        if code:
            assert len(err.strip().splitlines()) == 1, err


def dns_servers(host) -> list[int]:
    out = subprocess.run(["pgrep", "-f", f"nsnet.dns --state-dir {host.state_dir}( |$)"], capture_output=True,
                         text=True).stdout
    return [int(pid) for pid in out.split()]


def test_50_parallel_sandbox_creates_on_one_network(host):
    assert host.cli("network", "create", "n", "--subnet", "10.70.0.0/24").returncode == 0
    results = run_all(host, [["sandbox", "create", f"s{i}", "--network", "n"] for i in range(50)])
    assert_clean_errors(results)
    assert [code for code, _, _ in results] == [0] * 50
    ips = [ep["ip"] for ep in host.engine.endpoint_rows(network="n")]
    assert len(ips) == 50 and len(set(ips)) == 50
    assert all(ping(host.name, ip) for ip in ips)  # the host reaches every one through the bridge
    assert ping(host.prefix + "s0", ips[-1]) and ping(host.prefix + "s49", ips[0])
    assert len(dns_servers(host)) == 1  # one DNS server per state dir, however many started it


def test_20_parallel_creates_of_one_network_one_wins(host):
    results = run_all(host, [["network", "create", "x"]] * 20)
    assert_clean_errors(results)
    codes = sorted(code for code, _, _ in results)
    assert codes == [0] + [4] * 19
    assert all("already exists" in err for code, _, err in results if code)
    assert [n["name"] for n in host.engine.network_rows()] == ["x"]


def test_10_parallel_publishes_of_one_host_port_one_wins(host):
    assert host.cli("network", "create", "n", "--subnet", "10.71.0.0/24").returncode == 0
    for i in range(10):
        assert host.cli("sandbox", "create", f"s{i}", "--network", "n").returncode == 0
    results = run_all(host, [["publish", f"s{i}", "8080:80"] for i in range(10)])
    assert_clean_errors(results)
    assert sorted(code for code, _, _ in results) == [0] + [4] * 9
    assert len(host.engine.port_ls()) == 1


TOPOLOGY = """
name: {name}
networks:
  {net}: {{subnet: {subnet}}}
sandboxes:
{sandboxes}
"""


def topology(tmp_path, name, net, subnet, count):
    sandboxes = "".join(f"  {name}{i}: {{networks: [{net}]}}\n" for i in range(count))
    path = tmp_path / f"{name}.yaml"
    path.write_text(textwrap.dedent(TOPOLOGY.format(name=name, net=net, subnet=subnet, sandboxes=sandboxes)))
    return str(path)


def test_two_topologies_up_in_parallel(host, tmp_path):
    a = topology(tmp_path, "ta", "na", "10.72.0.0/24", 8)
    b = topology(tmp_path, "tb", "nb", "10.73.0.0/24", 8)
    results = run_all(host, [["up", a], ["up", b]])
    assert_clean_errors(results)
    assert [code for code, _, _ in results] == [0, 0], results
    assert {n["name"] for n in host.engine.network_rows()} == {"na", "nb"}
    assert ping(host.prefix + "ta0", host.engine.endpoint_get("na", "ta7")["ip"])
    assert ping(host.prefix + "tb0", host.engine.endpoint_get("nb", "tb7")["ip"])
    assert [code for code, _, _ in run_all(host, [["down", a], ["down", b]])] == [0, 0]
    assert host.engine.network_rows() == [] and host.engine.sandbox_rows() == []


def test_two_topologies_sharing_a_network_name_up_in_parallel_one_is_refused(host, tmp_path):
    """Each file wants network `shared` (with another subnet): one `up` makes it,
    the other is refused whole and touches nothing of the winner's."""
    for _ in range(3):
        a = topology(tmp_path, "ta", "shared", "10.74.0.0/24", 4)
        b = topology(tmp_path, "tb", "shared", "10.75.0.0/24", 4)
        results = run_all(host, [["up", a], ["up", b]])
        assert_clean_errors(results)
        codes = [code for code, _, _ in results]
        assert sorted(codes) == [0, 4], results
        winner, loser = ("ta", "tb") if codes[0] == 0 else ("tb", "ta")
        assert "shared" in results[codes.index(4)][2]
        assert {s["name"] for s in host.engine.sandbox_rows()} == {f"{winner}{i}" for i in range(4)}
        owners = host.engine.topology_owners()
        assert owners[("network", "shared")] == winner and loser not in owners.values()
        first, last = f"{winner}0", f"{winner}3"
        assert ping(host.prefix + first, host.engine.endpoint_get("shared", last)["ip"])
        assert host.cli("down", a if winner == "ta" else b).returncode == 0
        assert host.engine.network_rows() == []
