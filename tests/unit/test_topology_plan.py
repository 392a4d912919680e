"""`up` / `down` planning against the fake kernel: what is created, changed and
removed, dry runs that change nothing, ownership and conflicts (no root)."""

import pytest

from nsnet.errors import Conflict
from nsnet.topology import converge, loads, status, teardown

LAB = """
name: lab
networks:
  devops: {subnet: 192.168.1.0/24}
  db: {subnet: 192.168.2.0/24}
sandboxes:
  web1: {networks: [devops]}
  db1: {networks: {db: {ip: 192.168.2.2}}}
  ns:
    networks:
      devops: {ifname: ceth0}
      db: {ifname: ceth1}
    routes: ["10.0.0.0/8 via 192.168.1.1"]
  a: {}
  b: {}
links:
  - {a: a, b: b, subnet: 10.9.0.0/30}
"""


@pytest.fixture
def engine(engine, monkeypatch):
    # The fake kernel has no dumps: nothing the engine made ever drifts here.
    monkeypatch.setattr(type(engine), "drift", lambda self, target=None, exclude=(): [])
    return engine


def lines(out) -> str:
    return "\n".join(out.changes)


def test_dry_run_plans_everything_and_changes_nothing(engine, kernel):
    before = engine.store.snapshot()
    out = converge.up(engine, loads(LAB), dry_run=True)
    assert out.dry_run and len(out.changes) == 11
    text = "\n".join(out.commands)
    assert "ip -n h link add nsbr-devops " in text and "type bridge" in text
    assert "ip netns add h-ns" in text
    assert "type veth peer name ceth1 address 02:42:" in text and " netns h-ns" in text
    assert "ip -n h-db1 addr add 192.168.2.2/24 dev eth0" in text
    assert "ip -n h-a link add veth-b type veth peer name veth-a netns h-b" in text
    assert "ip -n h-ns route add 10.0.0.0/8 via 192.168.1.1 proto static" in text
    assert engine.store.snapshot() == before
    assert engine.store.topology_owned("lab") == {"network": set(), "sandbox": set()}
    assert kernel.calls == []


def test_up_creates_then_reports_no_changes(engine, kernel):
    topo = loads(LAB)
    out = converge.up(engine, topo)
    assert out.errors == []
    assert "+ network 'devops'" in out.changes and "+ sandbox 'web1'" in out.changes
    eps = {(e["sandbox"], e["network"]): (e["ifname"], e["ip"]) for e in engine.store.endpoints()}
    assert eps[("ns", "devops")][0] == "ceth0" and eps[("ns", "db")][0] == "ceth1"
    assert eps[("db1", "db")] == ("eth0", "192.168.2.2")
    assert engine.store.topology_owned("lab") == {"network": {"devops", "db"},
                                                    "sandbox": {"web1", "db1", "ns", "a", "b"}}
    again = converge.up(engine, topo)
    assert again.changes == []


def test_auto_addresses_never_take_a_static_one_asked_later(engine):
    topo = loads("""
name: t
networks: {n: {subnet: 10.0.0.0/29}}
sandboxes:
  first: {networks: [n]}
  second: {networks: {n: {ip: 10.0.0.2}}}
""")
    converge.up(engine, topo)
    ips = {e["sandbox"]: e["ip"] for e in engine.store.endpoints()}
    assert ips == {"first": "10.0.0.3", "second": "10.0.0.2"}


def test_edits_converge(engine):
    converge.up(engine, loads(LAB))
    edited = (LAB.replace("192.168.2.0/24", "192.168.3.0/24").replace("ip: 192.168.2.2", "ip: 192.168.3.7")
              .replace('routes: ["10.0.0.0/8 via 192.168.1.1"]', 'routes: ["10.0.0.0/8 via 192.168.1.254"]')
              .replace("  a: {}\n  b: {}\n", "  a: {}\n  b: {}\n  c: {networks: [devops]}\n")
              .replace("subnet: 10.9.0.0/30", "subnet: 10.9.1.0/30")
              .replace("  web1: {networks: [devops]}\n", ""))
    topo = loads(edited)
    plan = converge.up(engine, topo, dry_run=True)
    text = lines(plan)
    assert "- sandbox 'web1'" in text
    assert "~ network 'db' re-created (subnet 192.168.2.0/24 -> 192.168.3.0/24" in text
    assert "- route 'ns' 10.0.0.0/8 (via 192.168.1.1 -> 192.168.1.254)" in text
    assert "- link 'a' <-> 'b' (interface names or addresses changed)" in text
    assert "+ sandbox 'c'" in text
    out = converge.up(engine, topo)
    assert lines(out) == text
    eps = {(e["sandbox"], e["network"]): e["ip"] for e in engine.store.endpoints()}
    assert eps[("db1", "db")] == "192.168.3.7" and ("web1", "devops") not in eps
    assert engine.store.network("db")["subnet"] == "192.168.3.0/24"
    assert engine.store.route("ns", "10.0.0.0/8")["via"] == "192.168.1.254"
    assert engine.store.link("a", "b")["ip_a"] == "10.9.1.1/30"
    assert "web1" not in engine.store.topology_owned("lab")["sandbox"]
    assert converge.up(engine, topo).changes == []


def test_objects_of_others_are_refused_before_any_change(engine):
    engine.network_create("db", subnet="10.5.0.0/24")
    converge.up(engine, loads("name: other\nsandboxes: {web1: {}}\n"))
    before = engine.store.snapshot()
    with pytest.raises(Conflict, match="network 'db' already exists and is not part of topology 'lab' "
                                       r"\(it was made outside any topology\)"):
        converge.up(engine, loads(LAB))
    with pytest.raises(Conflict, match=r"sandbox 'web1' .* belongs to topology 'other'"):
        converge.up(engine, loads(LAB.replace("  db: {subnet: 192.168.2.0/24}\n", "")
                                  .replace("db1: {networks: {db: {ip: 192.168.2.2}}}", "db1: {}")
                                  .replace("      db: {ifname: ceth1}\n", "")))
    assert engine.store.snapshot() == before


def test_a_name_another_topology_claimed_is_refused_before_it_exists(engine):
    """An `up` running at the same time has claimed the network and not made it yet."""
    engine.topology_claim("other", networks=["devops"])
    before = engine.store.snapshot()
    with pytest.raises(Conflict, match="network 'devops' is claimed and is not part of topology 'lab' "
                                       r"\(it belongs to topology 'other'\)"):
        converge.up(engine, loads(LAB))
    assert engine.store.snapshot() == before


def test_down_removes_only_what_the_topology_owns(engine, kernel):
    converge.up(engine, loads(LAB))
    converge.up(engine, loads("name: other\nnetworks: {o: {subnet: 10.6.0.0/24}}\nsandboxes: {x: {networks: [o]}}\n"))
    out = teardown.down(engine, "lab")
    assert sorted(out.changes) == sorted(["- sandbox 'a'", "- sandbox 'b'", "- sandbox 'db1'", "- sandbox 'ns'",
                                          "- sandbox 'web1'", "- network 'db'", "- network 'devops'"])
    assert [s["name"] for s in engine.store.sandboxes()] == ["x"]
    assert [n["name"] for n in engine.store.networks()] == ["o"]
    assert teardown.down(engine, "lab").changes == []
    assert set(engine.topology_owners().values()) == {"other"}


def test_down_keeps_a_network_others_still_use(engine):
    converge.up(engine, loads("name: lab\nnetworks: {n: {subnet: 10.7.0.0/24}}\nsandboxes: {s: {networks: [n]}}\n"))
    engine.sandbox_create("stranger", networks=[("n", None)])
    out = teardown.down(engine, "lab")
    assert out.changes == ["- sandbox 's'"]
    assert "network 'n' kept: sandboxes outside topology 'lab' are attached (stranger)" in out.warnings


def test_dry_run_down_changes_nothing(engine):
    converge.up(engine, loads(LAB))
    before = engine.store.snapshot()
    out = teardown.down(engine, "lab", dry_run=True)
    assert len(out.changes) == 7 and any(c.startswith("ip netns del h-") for c in out.commands)
    assert engine.store.snapshot() == before
    assert engine.store.topology_owned("lab")["sandbox"]


def test_published_ports_converge(engine):
    text = "name: p\nnetworks: {n: {subnet: 10.8.0.0/24}}\nsandboxes:\n  web: {networks: [n], publish: [PORTS]}\n"
    converge.up(engine, loads(text.replace("PORTS", "'8080:80', '53:53/udp'")))
    ports = {(p["host_port"], p["proto"], p["sandbox_port"]) for p in engine.port_ls("web")}
    assert ports == {(8080, "tcp", 80), (53, "udp", 53)}
    topo = loads(text.replace("PORTS", "'8080:80', '9000-9001:9000-9001'"))
    out = converge.up(engine, topo)
    assert out.changes == ["- port 'web' 53:53/udp (not in the file)", "+ port 'web' 9000:9000/tcp",
                           "+ port 'web' 9001:9001/tcp"]
    ports = {(p["host_port"], p["proto"], p["sandbox_port"]) for p in engine.port_ls("web")}
    assert ports == {(8080, "tcp", 80), (9000, "tcp", 9000), (9001, "tcp", 9001)}
    assert converge.up(engine, topo).changes == []


def test_a_port_published_by_hand_is_withdrawn_out_loud(engine):
    """The file owns its sandboxes' ports: `up` withdraws one published by hand
    and says so, and `status` says it would (issue #15, item 11)."""
    topo = loads("name: p\nnetworks: {n: {subnet: 10.8.0.0/24}}\nsandboxes:\n  web: {networks: [n]}\n")
    converge.up(engine, topo)
    engine.port_publish("web", ["7000:70"])
    assert [(r.state, r.detail) for r in status.status(engine, topo) if r.name == "web"] == [
        ("changed", "unpublish 7000:70/tcp: not in the file")]
    assert converge.up(engine, topo, dry_run=True).changes == ["- port 'web' 7000:70/tcp (not in the file)"]
    assert converge.up(engine, topo).changes == ["- port 'web' 7000:70/tcp (not in the file)"]
    assert engine.port_ls("web") == []


def test_progress_never_counts_past_its_total(engine):
    """Each phase adds its calls to the total before making them: the line
    reads done/total and ends at N/N (it ended at 203/202: issue #20, item 8)."""
    ticks = []
    text = LAB.replace("web1: {networks: [devops]}", "web1: {networks: [devops], publish: ['8080:80']}")
    for dry in (True, False):
        ticks.clear()
        out = converge.up(engine, loads(text), dry_run=dry, progress=lambda label, done, total: ticks.append(
            (done, total)))
        assert ticks and all(done <= total for done, total in ticks), ticks
        assert ticks[-1] == (len(out.changes), len(out.changes))
    edited = loads(text.replace("10.0.0.0/8", "10.1.0.0/16"))
    ticks.clear()
    converge.up(engine, edited, progress=lambda label, done, total: ticks.append((done, total)))
    assert ticks and ticks[-1][0] == ticks[-1][1] and all(d <= t for d, t in ticks)
    ticks.clear()
    out = teardown.down(engine, "lab", progress=lambda label, done, total: ticks.append((done, total)))
    assert ticks[-1] == (len(out.changes), len(out.changes)) and all(d <= t for d, t in ticks)
