"""Every example in examples/ is brought up in a throwaway host, proven with real
traffic (and the isolation it states), checked with `nsnet check`, and
brought down leaving nothing behind."""

import html
import json
import os

from .helpers import blocked, in_ns, links, ping, sh, wait_until
from .outside import HOST_IP, OUTSIDE_IP
from .traffic import roundtrip

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")


def example(name: str) -> str:
    return os.path.abspath(os.path.join(EXAMPLES, f"{name}.yaml"))


def up(host, name: str, *extra):
    result = host.cli("up", example(name), *extra)
    assert result.returncode == 0, result.stderr
    return result.stdout


def ip_of(host, sandbox: str, network: str) -> str:
    return host.engine.store.endpoint(network, sandbox)["ip"]


def ns(host, sandbox: str) -> str:
    return host.engine.netns_name(sandbox)


def check_json(host, name: str, *extra) -> dict:
    result = host.cli("--json", "check", example(name), *extra)
    report = json.loads(result.stdout)
    assert result.returncode == (0 if report["ok"] else 1), result.stderr
    return report


def assert_all_met(report: dict, skipped: int = 0) -> None:
    failed = [e for e in report["expectations"] if e["ok"] is False]
    assert failed == [], failed
    assert sum(1 for e in report["expectations"] if e["ok"] is None) == skipped


def down_leaves_nothing(host, name: str, keep=("lo",)) -> None:
    first = host.cli("down", example(name))
    assert first.returncode == 0, first.stderr
    again = host.cli("down", example(name))
    assert again.returncode == 0 and "0 changes" in again.stdout
    assert host.sandbox_namespaces() == []
    snap = host.engine.store.snapshot()
    assert snap["sandboxes"] == [] and snap["networks"] == [] and snap["ports"] == []
    assert wait_until(lambda: host.host_links() == sorted(keep), timeout=10), host.host_links()
    assert "nsnet" not in sh("ip", "netns", "exec", host.name, "nft", "list", "tables").stdout


def second_up_changes_nothing(host, name: str) -> None:
    assert up(host, name).strip().endswith("0 changes")
    status = host.cli("status", example(name))
    assert status.returncode == 0, status.stdout + status.stderr


def test_red_blue_cable(host):
    out = up(host, "red-blue")
    assert "+ link 'red' <-> 'blue'" in out and out.strip().endswith("3 changes")
    assert "veth-red" in links(ns(host, "red")) and "veth-blue" in links(ns(host, "blue"))
    assert ping(ns(host, "red"), "192.168.15.2") and ping(ns(host, "blue"), "192.168.15.1")
    report = check_json(host, "red-blue")
    assert report["matrix"] == {"red": {"blue": True}, "blue": {"red": True}}
    assert_all_met(report)
    second_up_changes_nothing(host, "red-blue")
    down_leaves_nothing(host, "red-blue")


def test_v_net_0_bridge_nat_route_and_port_80(host, outside, bridge_nf):
    up(host, "v-net-0")
    bridge = sh("ip", "-n", host.name, "-br", "addr", "show", "v-net-0").stdout
    assert "192.168.15.5/24" in bridge
    red, blue = ns(host, "red"), ns(host, "blue")
    assert ping(red, "192.168.15.2") and ping(blue, "192.168.15.1") and ping(red, "192.168.15.5")
    assert "192.168.1.0/24 via 192.168.15.5" in in_ns(red, "ip", "route").stdout
    # Outbound NAT: the outside sees the host's address, not red's.
    assert ping(red, OUTSIDE_IP)
    assert roundtrip(outside.name, red, OUTSIDE_IP, port=5601, proto="udp") == f"PING {HOST_IP}"
    # Host port 80 -> blue:80.
    assert roundtrip(blue, outside.name, HOST_IP, port=80) == f"PING {OUTSIDE_IP}"
    report = check_json(host, "v-net-0", "--outside", outside.name)
    assert report["outside"] == {"netns": outside.name, "ip": OUTSIDE_IP, "host_ip": HOST_IP, "ip6": None,
                                 "host_ip6": None}
    assert_all_met(report)
    assert len(report["expectations"]) == 5
    # Without an outside namespace the expectations that need one are skipped,
    # said so (it was a traceback: issue #15, item 8).
    plain = host.cli("check", example("v-net-0"))
    assert plain.returncode == 0 and plain.stderr == "", plain.stderr
    assert "2 of 2 expectations met (3 skipped)" in plain.stdout
    assert_all_met(check_json(host, "v-net-0"), skipped=3)
    second_up_changes_nothing(host, "v-net-0")
    down_leaves_nothing(host, "v-net-0", keep=("lo", "ntlan"))


def test_devops_db_two_bridges_and_ns_on_both(host):
    up(host, "devops-db")
    nsns = ns(host, "ns")
    assert {"ceth0", "ceth1"} <= set(links(nsns))
    for sb, net in (("web1", "devops"), ("web2", "devops"), ("db1", "db"), ("db2", "db")):
        assert ping(nsns, ip_of(host, sb, net)), sb
    assert ping(ns(host, "web1"), ip_of(host, "web2", "devops"))
    assert ping(ns(host, "db2"), ip_of(host, "db1", "db"))
    assert blocked(ns(host, "web1"), ip_of(host, "db1", "db"))  # isolated networks
    report = check_json(host, "devops-db")
    assert report["matrix"]["web1"] == {"web2": True, "db1": False, "db2": False, "ns": True}
    assert_all_met(report)
    assert len(report["expectations"]) == 20
    second_up_changes_nothing(host, "devops-db")
    down_leaves_nothing(host, "devops-db")


def test_isolated_networks(host):
    up(host, "isolated")
    c1, c2 = ns(host, "container1"), ns(host, "container2")
    assert ping(c1, "10.10.1.1") and ping(c2, "10.10.2.1")  # each reaches its own gateway
    assert blocked(c1, ip_of(host, "container2", "net2"))
    assert blocked(c2, ip_of(host, "container1", "net1"))
    report = check_json(host, "isolated")
    assert report["matrix"] == {"container1": {"container2": False}, "container2": {"container1": False}}
    assert_all_met(report)
    second_up_changes_nothing(host, "isolated")
    down_leaves_nothing(host, "isolated")


def test_three_tier(host, outside, bridge_nf):
    up(host, "three-tier")
    frontend, api, postgres = ns(host, "frontend"), ns(host, "api"), ns(host, "postgres")
    assert ping(api, "172.30.3.10") and blocked(frontend, "172.30.3.10")
    assert blocked(postgres, OUTSIDE_IP)  # db is internal
    assert ping(api, OUTSIDE_IP)
    # frontend listens on 80, and only 8080 is published
    assert roundtrip(frontend, outside.name, HOST_IP, port=8080, bind="0.0.0.0", tries=1) is None
    assert roundtrip(frontend, outside.name, HOST_IP, port=80, tries=1) is None
    report = check_json(host, "three-tier", "--outside", outside.name)
    assert_all_met(report)
    assert len(report["expectations"]) == 7
    ports = json.loads(host.cli("--json", "port").stdout)
    assert [(p["sandbox"], p["host_port"], p["sandbox_port"]) for p in ports] == [("frontend", 8080, 80)]
    second_up_changes_nothing(host, "three-tier")
    down_leaves_nothing(host, "three-tier", keep=("lo", "ntlan"))


def test_graph_of_an_example(host, tmp_path):
    before = host.cli("graph", example("devops-db"), "-o", str(tmp_path / "plan.dot"))
    assert before.returncode == 0, before.stderr
    assert "(not up)" in (tmp_path / "plan.dot").read_text()
    up(host, "devops-db")
    for ext in ("svg", "png", "dot", "mmd", "json"):
        out = tmp_path / f"devops.{ext}"
        result = host.cli("graph", example("devops-db"), "-o", str(out))
        assert result.returncode == 0, result.stderr
        assert out.stat().st_size > 200
    mermaid = (tmp_path / "devops.mmd").read_text()
    assert mermaid.splitlines()[1] == "flowchart LR" and mermaid.count("subgraph ") == 2
    assert '"ns<br/>ceth0 192.168.1.' in mermaid
    data = json.loads((tmp_path / "devops.json").read_text())
    assert {n["name"]: sorted(n["sandboxes"]) for n in data["networks"]} == {
        "devops": ["ns", "web1", "web2"], "db": ["db1", "db2"]}
    svg = html.unescape((tmp_path / "devops.svg").read_text())
    for text in ("ceth0 192.168.1.", "ceth1 192.168.2.", "192.168.1.0/24", "nsbr-devops", "network db"):
        assert text in svg
    bad = host.cli("graph", example("devops-db"), "-o", str(tmp_path / "x.jpeg"))
    assert bad.returncode == 2 and "unknown picture format" in bad.stderr
    down_leaves_nothing(host, "devops-db")
