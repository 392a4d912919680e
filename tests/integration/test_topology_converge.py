"""`up` converges: drift behind nsnet's back is found by `status` and repaired by
`up`; edits to the file are applied; dry runs, bad files and conflicts change
nothing; `check` names unmet expectations and stays inside the neighbour
table's room."""

import json
import textwrap

from .helpers import in_ns, ping, sh, wait_until
from .snapshot import full_snapshot

LAB = """
name: lab
networks:
  devops: {subnet: 192.168.1.0/24}
  db: {subnet: 192.168.2.0/24}
sandboxes:
  web1: {networks: [devops]}
  web2: {networks: [devops]}
  db1: {networks: {db: {ip: 192.168.2.10}}}
  ns:
    networks:
      devops: {ifname: ceth0}
      db: {ifname: ceth1}
    routes: ["10.20.0.0/16 via 192.168.1.1"]
  a: {}
  b: {}
links:
  - {a: a, b: b, subnet: 10.9.0.0/30}
"""


def write(tmp_path, text: str, name: str = "lab.yaml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def cli_ok(host, *args) -> str:
    result = host.cli(*args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def ns(host, sandbox):
    return host.engine.netns_name(sandbox)


def test_status_finds_drift_and_up_repairs_it(host, tmp_path):
    lab = write(tmp_path, LAB)
    cli_ok(host, "up", lab)
    assert cli_ok(host, "status", lab).count(" ok ") >= 7
    sh("ip", "-n", ns(host, "ns"), "link", "del", "ceth1")  # an interface deleted behind nsnet's back
    sh("ip", "-n", ns(host, "web1"), "route", "del", "default")  # a route removed
    sh("ip", "-n", ns(host, "ns"), "route", "del", "10.20.0.0/16")
    sh("ip", "-n", ns(host, "b"), "link", "set", "veth-a", "down")
    sh("ip", "netns", "exec", host.name, "nft", "flush", "ruleset")  # the firewall wiped
    status = host.cli("--json", "status", lab)
    assert status.returncode == 1 and "does not match the file" in status.stderr
    states = {(o["kind"], o["name"]): o["state"] for o in json.loads(status.stdout)["objects"]}
    assert states[("sandbox", "ns")] == "drifted" and states[("sandbox", "web1")] == "drifted"
    assert states[("sandbox", "b")] == "drifted" and states[("host", "nft")] == "drifted"
    assert states[("sandbox", "db1")] == "ok" and states[("network", "devops")] == "ok"
    dry = cli_ok(host, "up", "--dry-run", lab)
    assert f"ip -n {host.name} link add nsv" in dry and "peer name ceth1" in dry and "nft 'add table inet nsnet'" in dry
    out = cli_ok(host, "up", lab)
    for line in ("~ repair sandbox ns", "~ repair sandbox web1", "~ repair host nft"):
        assert line in out
    assert "~ repair sandbox a" in out or "~ repair sandbox b" in out
    assert cli_ok(host, "up", lab).strip().endswith("0 changes")
    cli_ok(host, "status", lab)
    assert ping(ns(host, "ns"), "192.168.2.10") and ping(ns(host, "web1"), "192.168.1.1")
    assert ping(ns(host, "a"), "10.9.0.2")
    assert "10.20.0.0/16 via 192.168.1.1" in in_ns(ns(host, "ns"), "ip", "route").stdout
    assert "nsnet" in sh("ip", "netns", "exec", host.name, "nft", "list", "tables").stdout
    cli_ok(host, "down", lab)


def test_status_shows_every_drift_and_up_removes_foreign_addresses(host, tmp_path):
    """A port published by hand (a change) no longer hides a deleted eth0 (drift),
    and an address nsnet did not put on its interface is drift that `up` removes
    (it would become the source of the interface's routes): issue #15, item 9."""
    lab = write(tmp_path, LAB)
    cli_ok(host, "up", lab)
    cli_ok(host, "publish", "web1", "8080:80")
    sh("ip", "-n", ns(host, "web1"), "link", "del", "eth0")
    sh("ip", "-n", ns(host, "web2"), "addr", "add", "10.99.0.5/24", "dev", "eth0")
    sh("ip", "-n", host.name, "addr", "add", "10.98.0.1/24", "dev", "nsbr-db")
    status = host.cli("--json", "status", lab)
    assert status.returncode == 1
    rows = [(o["kind"], o["name"], o["state"], o["detail"]) for o in json.loads(status.stdout)["objects"]]
    web1 = [r[2:] for r in rows if r[:2] == ("sandbox", "web1")]
    assert web1[0] == ("changed", "unpublish 8080:80/tcp: not in the file")
    assert ("drifted", f"kernel lacks: ip -n {ns(host, 'web1')} addr add 192.168.1.2/24 dev eth0") in web1
    assert any(state == "drifted" and "peer name eth0" in detail for state, detail in web1)
    assert ("sandbox", "web2", "drifted", f"address 10.99.0.5/24 on eth0 is not nsnet's: ip -n {ns(host, 'web2')} "
            "addr del 10.99.0.5/24 dev eth0") in rows
    assert ("network", "db", "drifted", f"address 10.98.0.1/24 on nsbr-db is not nsnet's: ip -n {host.name} "
            "addr del 10.98.0.1/24 dev nsbr-db") in rows
    text = host.cli("status", lab).stdout  # the table shows them all too
    # eth0 gone: its address, the veth pair, and the hairpin mode of the host's
    # end (web1 publishes a port), each a row
    assert any(state == "drifted" and "hairpin on" in detail for state, detail in web1)
    assert text.count("web1    drifted") == 4 and "web1    changed  unpublish 8080:80/tcp" in text
    out = cli_ok(host, "up", lab)
    for line in ("- port 'web1' 8080:80/tcp (not in the file)", "~ repair sandbox web1", "~ repair sandbox web2",
                 "~ repair network db"):
        assert line in out
    assert "10.99.0.5" not in sh("ip", "-n", ns(host, "web2"), "addr").stdout
    assert "10.98.0.1" not in sh("ip", "-n", host.name, "addr").stdout
    assert cli_ok(host, "up", lab).strip().endswith("0 changes")
    cli_ok(host, "down", lab)


def test_a_namespace_deleted_behind_nsnets_back_comes_back(host, tmp_path):
    lab = write(tmp_path, LAB)
    cli_ok(host, "up", lab)
    sh("ip", "netns", "del", ns(host, "web2"))
    assert host.cli("status", lab).returncode == 1
    out = cli_ok(host, "up", lab)
    assert "~ repair sandbox web2" in out
    web2 = host.engine.store.endpoint("devops", "web2")["ip"]
    assert wait_until(lambda: ping(ns(host, "web1"), web2), timeout=5)
    assert cli_ok(host, "up", lab).strip().endswith("0 changes")
    cli_ok(host, "down", lab)
    assert host.sandbox_namespaces() == []


def test_edits_to_the_file_are_applied(host, tmp_path):
    lab = write(tmp_path, LAB)
    cli_ok(host, "up", lab)
    edited = (LAB.replace("  web2: {networks: [devops]}\n", "")
              .replace("ip: 192.168.2.10", "ip: 192.168.2.20")
              .replace("10.20.0.0/16 via 192.168.1.1", "10.30.0.0/16 via 192.168.2.1")
              .replace("  b: {}\n", "  b: {}\n  c: {networks: {db: {ifname: data}}}\n"))
    write(tmp_path, edited)
    out = cli_ok(host, "up", lab)
    assert "- sandbox 'web2'" in out
    assert "- attachment 'db1' to 'db' (ip 192.168.2.10 -> 192.168.2.20)" in out
    assert "- route 'ns' 10.20.0.0/16 (not in the file)" in out and "+ route 'ns' 10.30.0.0/16" in out
    assert "+ sandbox 'c'" in out
    assert ns(host, "web2") not in host.sandbox_namespaces()
    assert "192.168.2.20/24" in in_ns(ns(host, "db1"), "ip", "-br", "addr").stdout
    assert "data" in in_ns(ns(host, "c"), "ip", "-br", "link").stdout
    routes = in_ns(ns(host, "ns"), "ip", "route").stdout
    assert "10.30.0.0/16 via 192.168.2.1" in routes and "10.20.0.0" not in routes
    assert ping(ns(host, "c"), "192.168.2.20")
    assert cli_ok(host, "up", lab).strip().endswith("0 changes")
    write(tmp_path, edited.replace("192.168.2.0/24", "192.168.3.0/24").replace("192.168.2.", "192.168.3."))
    out = cli_ok(host, "up", lab)
    assert "~ network 'db' re-created (subnet 192.168.2.0/24 -> 192.168.3.0/24" in out
    assert ping(ns(host, "c"), "192.168.3.20") and ping(ns(host, "ns"), "192.168.3.20")
    cli_ok(host, "down", lab)
    assert host.sandbox_namespaces() == []


def test_dry_run_bad_files_and_conflicts_change_nothing(host, tmp_path):
    lab = write(tmp_path, LAB)
    before = full_snapshot(host)
    dry = cli_ok(host, "up", "--dry-run", lab)
    assert dry.startswith("# dry run of `up`: nothing was changed")
    assert f"ip netns add {ns(host, 'web1')}" in dry and "12 changes planned" in dry
    assert full_snapshot(host) == before
    bad = write(tmp_path, LAB.replace("192.168.2.0/24", "192.168.2.0/33"), "bad.yaml")
    result = host.cli("up", bad)
    assert result.returncode == 2
    assert "networks.db.subnet: '192.168.2.0/33' is not a valid CIDR" in result.stderr
    dangling = write(tmp_path, LAB.replace("web1: {networks: [devops]}", "web1: {networks: [devopz]}"), "d.yaml")
    result = host.cli("up", dangling)
    assert result.returncode == 2 and "sandboxes.web1.networks.devopz: network 'devopz' is not defined" in result.stderr
    assert full_snapshot(host) == before
    cli_ok(host, "sandbox", "create", "web1")
    before = full_snapshot(host)
    result = host.cli("up", lab)
    assert result.returncode == 4
    assert "sandbox 'web1' already exists and is not part of topology 'lab'" in result.stderr
    assert full_snapshot(host) == before
    cli_ok(host, "sandbox", "rm", "web1")


def test_two_topologies_side_by_side(host, tmp_path):
    one = write(tmp_path, "name: one\nnetworks: {n1: {subnet: 10.41.0.0/24}}\nsandboxes: {x1: {networks: [n1]}}\n",
                "one.yaml")
    two = write(tmp_path, "name: two\nnetworks: {n2: {subnet: 10.42.0.0/24}}\nsandboxes: {x2: {networks: [n2]}}\n",
                "two.yaml")
    cli_ok(host, "up", one)
    cli_ok(host, "up", two)
    cli_ok(host, "down", one)
    assert [s["name"] for s in host.engine.store.sandboxes()] == ["x2"]
    assert ping(ns(host, "x2"), "10.42.0.1")
    cli_ok(host, "status", two)
    cli_ok(host, "down", two)
    assert host.sandbox_namespaces() == []


def test_check_names_unmet_expectations(host, tmp_path):
    lab = write(tmp_path, """
        name: wrong
        networks: {net1: {subnet: 10.51.0.0/24}, net2: {subnet: 10.52.0.0/24}}
        sandboxes: {c1: {networks: [net1]}, c2: {networks: [net2]}, c3: {networks: [net1]}}
        expect:
          reach: [c1 -> c2, c1 -> c3:7000]
          isolate: [c1 -> c3]
        """)
    cli_ok(host, "up", lab)
    result = host.cli("check", lab)
    assert result.returncode == 1
    assert "2 expectation(s) not met" in result.stderr
    assert "expected 'c1 -> c2' (c1 -> c2) to reach, but it did not" in result.stderr
    assert "FAIL" in result.stdout and "c1 -> c3:7000" in result.stdout
    report = json.loads(host.cli("--json", "check", lab).stdout)
    assert [(e["text"], e["ok"]) for e in report["expectations"]] == [
        ("c1 -> c2", False), ("c1 -> c3:7000", True), ("c1 -> c3", False)]
    cli_ok(host, "down", lab)


def test_check_of_50_sandboxes_stays_inside_the_neighbour_table(host, tmp_path):
    sandboxes = "\n".join(f"  s{i}: {{networks: [lan]}}" for i in range(50))
    lab = write(tmp_path, f"name: fifty\nnetworks: {{lan: {{subnet: 10.60.0.0/24}}}}\nsandboxes:\n{sandboxes}\n")
    cli_ok(host, "up", lab)
    room = host.engine.kernel.neigh_table_room()
    report = json.loads(cli_ok(host, "--json", "check", lab))
    assert report["probes"] == 2450
    assert all(all(row.values()) for row in report["matrix"].values())
    print(f"check of 50 sandboxes: {report['seconds']} s")
    assert host.engine.kernel.neigh_table_room() >= room - 60  # the checker removed the entries it made
    leftovers = in_ns(ns(host, "s7"), "ip", "neigh").stdout.splitlines()
    assert len(leftovers) <= 2, leftovers
    cli_ok(host, "down", lab)


def test_progress_json_and_down_of_an_unknown_topology(host, tmp_path):
    lab = write(tmp_path, LAB)
    out = json.loads(cli_ok(host, "--json", "up", lab))
    assert out["count"] == 12 and out["errors"] == [] and not out["dry_run"]
    nothing = write(tmp_path, "name: never-up\n", "n.yaml")
    assert "0 changes" in cli_ok(host, "down", nothing)
    out = json.loads(cli_ok(host, "--json", "down", lab))
    assert out["count"] == 8


def test_engine_drift_and_repair_api(host):
    eng = host.engine
    eng.network_create("v", subnet="192.168.15.0/24", gateway="192.168.15.5")
    eng.sandbox_create("red", networks=[("v", None)])
    eng.route_add("red", "10.50.0.0/16", "192.168.15.5")
    assert eng.drift() == []
    sh("ip", "-n", ns(host, "red"), "link", "del", "eth0")
    drift = eng.drift()
    assert {d.step.kind for d in drift} == {"veth_add", "addr_add", "route_add"}
    assert all(d.owners == ["sandbox red"] for d in drift)
    assert eng.drift(target="v") and eng.drift(target=["red"]) and eng.drift(exclude=["red"]) == []
    before = full_snapshot(host)
    dry = eng.repair(dry_run=True)
    assert dry["dry_run"] and any("peer name eth0" in c for c in dry["commands"])
    assert full_snapshot(host) == before
    result = eng.repair()
    assert result["errors"] == [] and eng.drift() == []
    assert ping(ns(host, "red"), "192.168.15.5")
    eng.sandbox_rm("red")
    eng.network_rm("v")
