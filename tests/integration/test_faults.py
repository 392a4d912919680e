"""Partitions and impairments with real packets: on one bridge, across
bridges, over a direct link; established connections; one way; loss and
rate limits; what removes them; bad input changes nothing."""

import json
import re

from .faults_support import Chat, pings_answered, reachable, udp_arrives, unreachable
from .helpers import in_ns, sh


def three_on_a_bridge(host):
    host.engine.network_create("n", subnet="10.61.0.0/24")
    for name in ("a", "b", "c"):
        host.engine.sandbox_create(name, networks=["n"])
    return {name: host.prefix + name for name in ("a", "b", "c")}, {"a": "10.61.0.2", "b": "10.61.0.3",
                                                                    "c": "10.61.0.4"}


def test_partition_cuts_one_sandbox_off_and_heal_restores(host):
    ns, ip = three_on_a_bridge(host)
    r = host.cli("partition", "a")
    assert r.returncode == 0, r.stderr
    assert unreachable(ns["a"], ip["b"]) and unreachable(ns["b"], ip["a"]) and unreachable(ns["c"], ip["a"])
    assert reachable(ns["b"], ip["c"])  # the others are one group
    assert reachable(ns["a"], "10.61.0.1")  # the host (gateway, DNS) stays reachable
    shown = json.loads(host.cli("--json", "faults").stdout)
    assert shown["partition"] == {"groups": [["a"]], "others": ["b", "c"], "one_way": False}
    assert host.cli("heal").returncode == 0
    assert reachable(ns["a"], ip["b"]) and reachable(ns["c"], ip["a"])
    assert json.loads(host.cli("--json", "faults").stdout)["partition"] is None


def test_groups_across_two_bridges(host):
    """n1 on bridge x, n3 on bridge y, n2 on both: groups follow names, not bridges."""
    eng = host.engine
    eng.network_create("x", subnet="10.62.0.0/24")
    eng.network_create("y", subnet="10.63.0.0/24")
    eng.sandbox_create("n1", networks=["x"])
    eng.sandbox_create("n2", networks=["x", "y"])
    eng.sandbox_create("n3", networks=["y"])
    n1, n2, n3 = (host.prefix + n for n in ("n1", "n2", "n3"))
    n2_x, n2_y = "10.62.0.3", "10.63.0.2"
    eng.partition([["n1", "n2"], ["n3"]])
    assert reachable(n1, n2_x) and reachable(n2, "10.62.0.2")
    assert unreachable(n3, n2_y) and unreachable(n2, "10.63.0.3")
    eng.partition([["n2"]])  # a new partition replaces the old one
    assert reachable(n3, "10.63.0.2") is False and unreachable(n1, n2_x)
    eng.partition([["n1"], ["n3"]])
    assert reachable(n2, "10.63.0.3") is False and reachable(n2, n2_y)
    eng.heal()
    assert reachable(n3, n2_y) and reachable(n1, n2_x)


def test_dual_stack_ipv6_is_cut_too(host):
    eng = host.engine
    eng.network_create("d", subnet=["10.65.0.0/24", "fd00:65::/64"])
    for name in ("a", "b"):
        eng.sandbox_create(name, networks=["d"])
    a, b = host.prefix + "a", host.prefix + "b"
    assert reachable(a, "fd00:65::3")
    eng.partition([["a"]])
    assert unreachable(a, "fd00:65::3") and unreachable(b, "fd00:65::2") and unreachable(a, "10.65.0.3")
    assert eng.drift() == []
    eng.impair("a", loss=100, to=["b"])
    eng.heal()
    assert unreachable(a, "fd00:65::3") and unreachable(a, "10.65.0.3")  # the loss, to both of b's addresses
    eng.impair("a", clear=True)
    assert reachable(a, "fd00:65::3") and reachable(b, "10.65.0.2")


def test_direct_link(host):
    eng = host.engine
    eng.sandbox_create("red")
    eng.sandbox_create("blue")
    eng.link_add("red", "blue", subnet="192.168.15.0/24")
    red, blue = host.prefix + "red", host.prefix + "blue"
    eng.partition([["red"]])
    assert unreachable(red, "192.168.15.2") and unreachable(blue, "192.168.15.1")
    eng.heal()
    assert reachable(red, "192.168.15.2")


def test_established_connections_stop_and_resume(host):
    ns, ip = three_on_a_bridge(host)
    chat = Chat(ns["b"], ns["a"], ip["b"])
    try:
        assert chat.say("one", 3)
        host.engine.partition([["a"]])
        assert not chat.say("two", 1.5)
        host.engine.heal()
        assert chat.say("three", 15)  # TCP retransmits: the connection goes on
    finally:
        chat.close()


def test_one_way(host):
    ns, ip = three_on_a_bridge(host)
    r = host.cli("partition", "a", "b", "--one-way")
    assert r.returncode == 0, r.stderr
    assert not udp_arrives(ns["b"], ns["a"], ip["b"])  # a -> b is cut
    assert udp_arrives(ns["a"], ns["b"], ip["a"])  # b -> a is not
    assert not udp_arrives(ns["c"], ns["a"], ip["c"])  # a -> the others too
    assert udp_arrives(ns["b"], ns["c"], ip["b"])  # only the first group's traffic is cut
    assert json.loads(host.cli("--json", "faults").stdout)["partition"]["one_way"] is True


def test_loss(host):
    ns, ip = three_on_a_bridge(host)
    host.engine.impair("a", loss=100, to=["b"])
    assert pings_answered(ns["a"], ip["b"], 20) == 0
    assert pings_answered(ns["a"], ip["c"], 20) == 20  # only to b
    host.engine.impair("a", loss=50)
    answered = pings_answered(ns["a"], ip["c"], 200)
    assert 0 < answered < 200  # some lost, some not (accuracy is measured in bench/faults.py)
    r = host.cli("impair", "a", "--clear")
    assert r.returncode == 0, r.stderr
    assert pings_answered(ns["a"], ip["c"], 20) == 20


def htb_stats(ns: str, ifname: str) -> tuple[int, int]:
    """(bytes through class 1:1, packets htb sent unshaped)."""
    klass = sh("ip", "netns", "exec", ns, "tc", "-s", "class", "show", "dev", ifname, "classid", "1:1").stdout
    qdisc = sh("ip", "netns", "exec", ns, "tc", "qdisc", "show", "dev", ifname).stdout
    return int(re.search(r"Sent (\d+) bytes", klass).group(1)), int(re.search(r"direct_packets_stat (\d+)",
                                                                               qdisc).group(1))


def test_rate_limit_to_one_peer(host):
    ns, ip = three_on_a_bridge(host)
    r = host.cli("impair", "a", "--rate", "2mbit", "--to", "b")
    assert r.returncode == 0, r.stderr
    assert "qdisc htb 1: root" in sh("ip", "netns", "exec", ns["a"], "tc", "qdisc", "show", "dev", "eth0").stdout
    assert "rate 2Mbit" in sh("ip", "netns", "exec", ns["a"], "tc", "class", "show", "dev", "eth0").stdout
    shaped, direct = htb_stats(ns["a"], "eth0")
    assert pings_answered(ns["a"], ip["b"], 5) == 5
    assert htb_stats(ns["a"], "eth0")[0] > shaped  # to b: through the rate-limited class
    shaped, direct = htb_stats(ns["a"], "eth0")
    assert pings_answered(ns["a"], ip["c"], 5) == 5
    after = htb_stats(ns["a"], "eth0")
    assert after[0] == shaped and after[1] > direct  # to c: straight out, unshaped
    host.engine.impair("a", clear=True)
    assert "htb" not in sh("ip", "netns", "exec", ns["a"], "tc", "qdisc", "show", "dev", "eth0").stdout


def test_delay_without_netem_is_one_line_and_changes_nothing(host):
    ns, _ = three_on_a_bridge(host)
    before = host.engine.store.snapshot()
    r = host.cli("impair", "a", "--delay", "50", "--rate", "1mbit")
    assert r.returncode == 6
    assert r.stderr.strip().count("\n") == 0 and "netem" in r.stderr
    assert host.engine.store.snapshot() == before
    assert "htb" not in sh("ip", "netns", "exec", ns["a"], "tc", "qdisc", "show").stdout
    assert "nsnet_faults" not in in_ns(ns["a"], "nft", "list", "tables").stdout


BAD = [
    (("partition", "a", "nope"), 3, "nope"),
    (("partition", "a,b", "b"), 2, "in groups 1 and 2"),
    (("partition",), 2, "GROUP"),
    (("impair", "a", "--loss", "150"), 2, "out of range"),
    (("impair", "a", "--rate", "fast"), 2, "does not parse"),
    (("impair", "nope", "--loss", "5"), 3, "nope"),
    (("impair", "a:eth7", "--loss", "5"), 3, "eth7"),
    (("impair", "a"), 2, "nothing to impair"),
]


def test_bad_input_is_one_line_and_changes_nothing(host):
    ns, _ = three_on_a_bridge(host)
    host.engine.partition([["c"]])
    before = host.engine.store.snapshot()
    tables = in_ns(ns["a"], "nft", "list", "ruleset").stdout
    for args, code, text in BAD:
        r = host.cli(*args)
        assert r.returncode == code, (args, r.stderr)
        assert text in r.stderr and r.stderr.count("\n") <= 2 and "Traceback" not in r.stderr, (args, r.stderr)
    assert host.engine.store.snapshot() == before
    assert in_ns(ns["a"], "nft", "list", "ruleset").stdout == tables


def test_rm_disconnect_and_down_remove_the_faults_of_what_they_remove(host, tmp_path):
    ns, _ = three_on_a_bridge(host)
    eng = host.engine
    eng.partition([["a"], ["b"]])
    eng.impair("c", loss=100, to=["b"])
    eng.impair("a:eth0", rate="1mbit")
    eng.network_disconnect("n", "a")
    assert [i["sandbox"] for i in eng.faults()["impairments"]] == ["c"]
    eng.sandbox_rm("b")
    faults = eng.faults()
    assert faults["partition"]["groups"] == [["a"]] and faults["impairments"] == []
    # b's address, taken by a newcomer, is not cut off from c by b's old faults
    eng.sandbox_create("d", networks=[("n", "10.61.0.3")])
    assert reachable(ns["c"], "10.61.0.3")
    topo = tmp_path / "t.yaml"
    topo.write_text("name: t\nnetworks:\n  tn: {subnet: 10.64.0.0/24}\n"
                    "sandboxes:\n  t1: {networks: [tn]}\n  t2: {networks: [tn]}\n")
    assert host.cli("up", str(topo)).returncode == 0
    eng.partition([["t1"], ["c"]])
    eng.impair("t2", loss=10)
    assert host.cli("down", str(topo)).returncode == 0
    assert eng.faults()["partition"]["groups"] == [["c"]] and eng.faults()["impairments"] == []


def test_explain_drift_and_repair(host):
    ns, ip = three_on_a_bridge(host)
    eng = host.engine
    eng.partition([["a"]])
    eng.impair("b", rate="5mbit")
    assert eng.drift() == []
    assert any("nsnet_faults" in line for line in eng.explain("a"))
    in_ns(ns["a"], "nft", "delete", "table", "inet", "nsnet_faults", check=True)
    sh("ip", "netns", "exec", ns["b"], "tc", "qdisc", "del", "dev", "eth0", "root")
    drifted = {d.to_dict()["kind"]: d.owners for d in eng.drift()}
    assert drifted == {"faults_table": ["sandbox a"], "tc": ["sandbox b"]}
    assert reachable(ns["a"], ip["b"])  # cut no more, behind nsnet's back
    eng.repair()
    assert eng.drift() == []
    assert unreachable(ns["a"], ip["b"])


def test_dry_run(host):
    ns, _ = three_on_a_bridge(host)
    r = host.cli("partition", "a", "--dry-run")
    assert r.returncode == 0 and "nsnet_faults" in r.stdout
    assert "nsnet_faults" not in in_ns(ns["a"], "nft", "list", "tables").stdout
    assert json.loads(host.cli("--json", "faults").stdout)["partition"] is None


def test_strays_are_found_and_cleared(host):
    """What a change killed between its kernel steps and its commit would leave:
    a faults table and a qdisc the store knows nothing of (doctor asks strays())."""
    ns, ip = three_on_a_bridge(host)
    eng = host.engine
    eng.partition([["a"]])
    eng.heal()
    assert eng.fault_strays() == []
    batch = ("add table inet nsnet_faults; add set inet nsnet_faults cut_out { type ipv4_addr; }; "
             "add chain inet nsnet_faults out { type filter hook output priority -300; }; "
             "add rule inet nsnet_faults out ip saddr @cut_out drop; add element inet nsnet_faults cut_out { "
             f"{ip['b']} }}")
    in_ns(ns["b"], "nft", batch, check=True)
    sh("ip", "netns", "exec", ns["c"], "tc", "qdisc", "add", "dev", "eth0", "root", "handle", "1:", "htb")
    assert unreachable(ns["b"], ip["c"])
    assert {s["sandbox"]: s["found"] for s in eng.fault_strays()} == {"b": ["faults table"],
                                                                      "c": ["queueing of eth0"]}
    assert eng.fault_strays_clear()["cleared"] == ["b", "c"]
    assert eng.fault_strays() == [] and reachable(ns["b"], ip["c"])
    assert "htb" not in sh("ip", "netns", "exec", ns["c"], "tc", "qdisc", "show").stdout
