"""Faults without root: parsing and validation, what each namespace must
hold (faults/tables.py), its nftables JSON, and the engine's partition / heal /
impair against the fake kernel (bad input changes nothing; the steps only
move what changed)."""

import pytest

from nsnet.errors import Conflict, InvalidInput, KernelError, NotFound
from nsnet.faults import nft
from nsnet.faults.spec import Impairment, format_rate, parse_groups, parse_rate, parse_target
from nsnet.faults.tables import SandboxFaults, Shape, Topology, collapse, desired


@pytest.mark.parametrize("text,bits", [("10mbit", 10_000_000), ("1gbit", 10**9), ("500kbit", 500_000),
                                       ("100kbps", 800_000), ("1.5mbit", 1_500_000), ("1mibit", 2**20),
                                       ("64", 64), (8_000, 8_000), ("10Mbit", 10_000_000)])
def test_rates_parse_as_tc_reads_them(text, bits):
    assert parse_rate(text) == bits


@pytest.mark.parametrize("text", ["fast", "10 megabit", "-1mbit", "0", "1e3mbit", "", "9tbit", True])
def test_rates_that_do_not_parse_are_bad_input(text):
    with pytest.raises(InvalidInput):
        parse_rate(text)


def test_rates_print_as_tc_prints_them():
    assert [format_rate(b) for b in (10**7, 1_500_000, 64, 10**9)] == ["10mbit", "1.5mbit", "64bit", "1gbit"]


def test_groups_parse_from_strings_or_lists():
    assert parse_groups(["n1", "n2,n3"]) == [["n1"], ["n2", "n3"]]
    assert parse_groups([["n1"], ("n2", "n3")]) == [["n1"], ["n2", "n3"]]


@pytest.mark.parametrize("groups,text", [([], "at least one"), ("n1", "at least one"), (["n1,,n2"], "empty"),
                                         (["n1", "n2,n1"], "groups 1 and 2"), (["n1,n1"], "twice in group 1")])
def test_bad_groups(groups, text):
    with pytest.raises(InvalidInput, match=text):
        parse_groups(groups)


def test_targets():
    assert parse_target("n1") == ("n1", None)
    assert parse_target("n1:eth0") == ("n1", "eth0")
    with pytest.raises(InvalidInput):
        parse_target("n1:")


@pytest.mark.parametrize("kwargs,text", [({}, "nothing to impair"), ({"loss": 120}, "out of range"),
                                         ({"loss": -1}, "out of range"), ({"loss": "x"}, "not a number"),
                                         ({"jitter": 5}, "needs --delay"), ({"rate": "fast"}, "does not parse"),
                                         ({"loss": 5, "to": ["n1"]}, "to others"),
                                         ({"delay": -3}, "out of range")])
def test_bad_impairments(kwargs, text):
    with pytest.raises(InvalidInput, match=text):
        Impairment.parse("n1", None, **kwargs)


def test_overlapping_subnets_collapse_for_the_interval_set():
    assert collapse(["10.0.0.0/24", "10.0.0.0/16", "192.168.15.1/30", "10.9.9.9/32"]) == (
        "10.0.0.0/16", "10.9.9.9", "192.168.15.0/30")


TOPO = Topology(netns={n: f"h-{n}" for n in ("a", "b", "c", "d")},
                addresses={"a": ["10.1.0.2"], "b": ["10.1.0.3", "10.2.0.1"], "c": ["10.1.0.4"], "d": ["10.1.0.5"]},
                interfaces={"a": ["eth0"], "b": ["eth0", "veth-x"]},
                subnets=["10.1.0.0/24", "10.2.0.1/30"], gateways=["10.1.0.1"])


def test_only_the_named_sandboxes_hold_a_partition():
    want = desired(TOPO, {"a": 1, "b": 2, "c": 2}, False, [])
    assert set(want) == {"a", "b", "c"}  # d, not named, needs nothing: a, b and c drop what goes to it
    assert want["a"].allow == ("10.1.0.1", "10.1.0.2") and want["a"].cut_out == ("10.1.0.2",)
    assert want["b"].allow == ("10.1.0.1", "10.1.0.3", "10.1.0.4", "10.2.0.1")
    assert want["b"].cut_in == want["b"].cut_out == ("10.1.0.3", "10.2.0.1")
    assert want["a"].nets == ("10.1.0.0/24", "10.2.0.0/30")


def test_one_way_cuts_only_the_first_groups_outgoing_traffic():
    want = desired(TOPO, {"a": 1, "b": 2}, True, [])
    assert set(want) == {"a"}
    assert want["a"].cut_out == ("10.1.0.2",) and want["a"].cut_in == ()


def test_impairments_per_interface_with_peers():
    imps = [Impairment("b", None, loss=20, rate=10**7, to=["a"]), Impairment("b", "veth-x", rate=10**6)]
    want = desired(TOPO, {}, False, imps)
    b = want["b"]
    assert b.rules == (("eth0", 20, ("10.1.0.2",), True),)  # veth-x has its own impairment: no loss there
    assert b.shapes == {"eth0": Shape(10**7, None, None, True), "veth-x": Shape(10**6, None, None, False)}
    assert b.cut_out == () and b.active


def test_an_impairment_whose_peers_have_no_address_applies_to_nobody():
    want = desired(TOPO, {}, False, [Impairment("a", None, loss=50, to=["nobody"])])
    assert want == {}


def test_records_round_trip():
    want = desired(TOPO, {"a": 1}, False, [Impairment("a", None, loss=1.5, rate=8000, delay=3, to=["b"])])
    assert SandboxFaults.from_record(want["a"].to_record()) == want["a"]


def test_the_table_batch():
    want = desired(TOPO, {"a": 1}, False, [Impairment("a", None, loss=20, rate=10**7, to=["b"])])["a"]
    lines = nft.explain("h-a", nft.replace_batch(want))
    assert "ip netns exec h-a nft 'add set inet nsnet_faults nets { type ipv4_addr; flags interval; }'" in lines
    assert ("ip netns exec h-a nft 'add rule inet nsnet_faults out ip saddr @cut_out ip daddr @nets "
            "ip daddr != @allow drop comment \"nsnet: partition\"'") in lines
    assert ("ip netns exec h-a nft 'add rule inet nsnet_faults impair oifname \"eth0\" ip daddr { 10.1.0.3, 10.2.0.1 }"
            " numgen random mod 10000 < 2000 drop comment \"nsnet: loss 20%\"'") in lines
    assert ("ip netns exec h-a nft 'add rule inet nsnet_faults impair oifname \"eth0\" ip daddr { 10.1.0.3, 10.2.0.1 }"
            " meta priority set 1:1 comment \"nsnet: rate limited\"'") in lines
    assert "ip netns exec h-a nft 'add element inet nsnet_faults nets { 10.1.0.0/24, 10.2.0.0/30 }'" in lines


def test_moving_members_is_an_element_batch_only():
    old = desired(TOPO, {"a": 1, "b": 2}, False, [])["a"]
    new = desired(TOPO, {"a": 1, "b": 1}, False, [])["a"]
    batch = nft.element_batch(old, new)
    assert [list(c) for c in batch["nftables"]] == [["add"]]
    assert batch["nftables"][0]["add"]["element"]["elem"] == ["10.1.0.3", "10.2.0.1"]
    assert nft.element_batch(new, new) is None
    assert nft.element_batch(old, old.inert())["nftables"][0]["delete"]["element"]["name"] == "cut_out"


# -- the engine, against the fake kernel -------------------------------------------------
@pytest.fixture
def lab(engine):
    engine.network_create("n", subnet="10.1.0.0/24")
    for name in ("a", "b", "c"):
        engine.sandbox_create(name, networks=["n"])
    engine.network_create("hostnet", driver="host")
    engine.sandbox_create("h", networks=["hostnet"])
    return engine


BAD = [
    ("partition", (["a", "nope"],), {}, NotFound, "nope"),
    ("partition", (["a,b", "b"],), {}, InvalidInput, "in groups 1 and 2"),
    ("partition", (["h"],), {}, Conflict, "host network"),
    ("impair", ("a",), {"loss": 101}, InvalidInput, "out of range"),
    ("impair", ("a",), {"rate": "lots"}, InvalidInput, "does not parse"),
    ("impair", ("a:eth9",), {"loss": 5}, NotFound, "no interface 'eth9'"),
    ("impair", ("a",), {"loss": 5, "to": ["nope"]}, NotFound, "nope"),
    ("impair", ("a",), {"loss": 5, "clear": True}, InvalidInput, "no other option"),
    ("impair", ("a",), {"delay": 10}, KernelError, "no netem"),
    ("impair", ("h",), {"loss": 5}, Conflict, "host network"),
    ("impair", ("nope",), {"loss": 5}, NotFound, "nope"),
]


@pytest.mark.parametrize("method,args,kwargs,exc,text", BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_bad_input_changes_nothing(lab, kernel, method, args, kwargs, exc, text):
    lab.partition(["b"])
    before, calls = lab.store.snapshot(), len(kernel.calls)
    with pytest.raises(exc, match=text):
        getattr(lab, method)(*args, **kwargs)
    assert lab.store.snapshot() == before
    assert kernel.calls[calls:] == []


def test_partition_then_heal_moves_only_elements(lab, kernel):
    lab.partition(["a"])
    first = [c for c in kernel.calls if c[0] == "nft_in"]
    assert len(first) == 1 and first[0][1] == "h-a"  # one namespace, one transaction
    lab.heal()
    lab.partition([["a"], ["b", "c"]])  # b and c: their tables are made
    lab.heal()
    done = len(kernel.calls)
    lab.partition([["a"], ["b", "c"]])
    later = [c for c in kernel.calls[done:] if c[0] == "nft_in"]
    assert [c[1] for c in later] == ["h-a", "h-b", "h-c"]
    assert all(list(cmd) in (["add"], ["delete"]) and "element" in next(iter(cmd.values()))
               for c in later for cmd in c[2]["nftables"])
    assert lab.faults()["partition"] == {"groups": [["a"], ["b", "c"]], "others": ["h"], "one_way": False}
    with pytest.raises(TypeError):
        lab.partition(["a"], ["b"])  # groups are one list; one_way is a keyword


def test_a_removed_sandbox_takes_its_faults_along(lab, kernel):
    lab.partition(["a", "b"])
    lab.impair("c", loss=10, to=["b"])
    lab.impair("a", rate="1mbit")
    lab.sandbox_rm("b")
    faults = lab.faults()
    assert faults["partition"]["groups"] == [["a"]]
    assert [i["sandbox"] for i in faults["impairments"]] == ["a"]  # c's went with its only peer
    lab.network_disconnect("n", "a")
    assert lab.faults()["impairments"][0]["sandbox"] == "a"  # sandbox-wide: stays, on no interface now
    assert ("qdisc_clear", "h-a", "eth0") in kernel.calls


def test_an_interface_impairment_goes_with_its_interface(lab):
    lab.impair("a:eth0", loss=10)
    lab.network_disconnect("n", "a")
    assert lab.faults()["impairments"] == []


def test_dry_runs_show_the_commands_and_change_nothing(lab, kernel):
    before, calls = lab.store.snapshot(), len(kernel.calls)
    out = lab.partition(["a"], dry_run=True)
    assert any("nsnet_faults" in line for line in out["commands"])
    out = lab.impair("a", rate="10mbit", dry_run=True)
    assert any("htb rate 10mbit" in line for line in out["commands"])
    assert lab.store.snapshot() == before and kernel.calls[calls:] == []


def test_explain_and_drift_know_the_faults(lab, kernel):
    lab.impair("a", rate="10mbit")
    lab.partition(["a"])
    lines = lab.explain("a")
    assert any("tc class add dev eth0 parent 1: classid 1:1 htb rate 10mbit" in line for line in lines)
    assert not any("h-b" in line and "nsnet_faults" in line for line in lab.explain("b"))


def test_context_managers_restore_what_was_in_force(lab):
    lab.partition(["c"])
    with lab.partitioned(["a"], ["b"]):
        assert lab.faults()["partition"]["groups"] == [["a"], ["b"]]
    assert lab.faults()["partition"]["groups"] == [["c"]]
    lab.heal()
    with lab.impaired("a", loss=5):
        assert lab.faults()["impairments"][0]["loss"] == 5
    assert lab.faults() == {"partition": None, "impairments": []}


def test_a_rule_change_touches_only_the_impair_chain_and_what_differs():
    old = desired(TOPO, {"a": 1}, False, [])["a"]
    new = desired(TOPO, {"a": 1}, False, [Impairment("a", None, loss=5)])["a"]
    cmds = nft.delta_batch(old, new)["nftables"]
    assert cmds[0] == {"flush": {"chain": {"family": "inet", "table": "nsnet_faults", "name": "impair"}}}
    assert len(cmds) == 2 and "rule" in cmds[1]["add"]  # no table flush: the sets keep their elements
    first = nft.replace_batch(new)["nftables"]
    assert first[:2] == [{"add": {"table": {"family": "inet", "name": "nsnet_faults"}}},
                         {"flush": {"table": {"family": "inet", "name": "nsnet_faults"}}}]
    assert {"delete": {"table": {"family": "inet", "name": "nsnet_faults"}}} in nft.replace_batch(new, clean=True)[
        "nftables"]


def test_ipv6_addresses_go_to_their_own_sets():
    topo = Topology(netns={"a": "h-a", "b": "h-b"}, addresses={"a": ["10.1.0.2", "fd00::2"], "b": ["fd00::3"]},
                    interfaces={"a": ["eth0"]}, subnets=["10.1.0.0/24", "fd00::/64", "fd00::1/128"],
                    gateways=["10.1.0.1"])
    old = desired(topo, {"a": 1}, False, [])["a"]
    assert old.nets == ("10.1.0.0/24", "fd00::/64")
    new = desired(topo, {"a": 1, "b": 1}, False, [Impairment("a", None, loss=5, to=["b"])])["a"]
    adds = {c["add"]["element"]["name"]: c["add"]["element"]["elem"] for c in nft.element_batch(old, new)["nftables"]}
    assert adds == {"allow6": ["fd00::3"]}
    lines = nft.explain("h-a", nft.replace_batch(new))
    assert any("ip6 saddr @cut_out6 ip6 daddr @nets6 ip6 daddr != @allow6 drop" in line for line in lines)
    assert any('oifname "eth0" ip6 daddr { fd00::3 } numgen' in line for line in lines)
