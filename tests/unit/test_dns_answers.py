"""The DNS server's config and answers, checked on the wire format (no sockets):
what a sandbox gets depends on the networks it is on, nothing else."""

import json
import struct

import pytest
from dnslib import EDNS0, OPCODE, QTYPE, RCODE, DNSHeader, DNSQuestion, DNSRecord

from nsnet.dns.answers import respond
from nsnet.dns.config import ConfigError, load_config, parse_config

CONFIG = {
    "upstreams": ["10.77.0.2:53", "[fd00::53]:5353", "10.77.0.3"],
    "networks": {
        "devops": {"domain": "devops",
                   "records": {"web1": ["192.168.1.2"], "db": ["192.168.1.3"],
                               "api": ["192.168.1.2"], "v6": ["192.168.1.6", "fd00:1::6"],
                               "both": ["192.168.1.7"]}},
        "db": {"records": {"ns": ["192.168.2.9"], "both": ["192.168.2.7"]}},
        "intern": {"forward": False, "records": {"box": ["10.9.0.2"]}},
    },
    "sandboxes": {
        "web1": {"netns": "t-web1", "networks": ["devops"]},
        "api": {"netns": "t-api", "networks": ["devops"]},
        "ns": {"netns": "t-ns", "networks": ["db"]},
        "box": {"netns": "/proc/1/ns/net", "networks": ["intern"]},
        "both": {"netns": "t-both", "networks": ["db", "devops"]},
    },
}


@pytest.fixture(scope="module")
def cfg():
    return parse_config(CONFIG)


def view(cfg, sandbox):
    return cfg.askers[sandbox].view


def ask(cfg, sandbox, name, qtype="A", udp=True, edns=None, qid=4242):
    """One query from `sandbox`; returns (parsed reply or None, request to forward)."""
    q = DNSRecord.question(name, qtype)
    q.header.id = qid
    if edns:
        q.add_ar(EDNS0(udp_len=edns))
    out, fwd = respond(cfg, view(cfg, sandbox), q.pack(), udp)
    return (DNSRecord.parse(out) if out is not None else None), fwd


def addrs(reply):
    return sorted(str(rr.rdata) for rr in reply.rr)


# ---------------------------------------------------------------- config


def test_config_parses_upstreams_and_askers(cfg):
    assert cfg.upstreams == (("10.77.0.2", 53), ("fd00::53", 5353), ("10.77.0.3", 53))
    assert cfg.listen == ("127.0.0.11",) and cfg.port == 53 and cfg.timeout == 2.0
    assert cfg.askers["box"].netns == "/proc/1/ns/net"
    assert view(cfg, "both").key == ("db", "devops")
    assert view(cfg, "web1") is view(cfg, "api")  # askers on the same networks share one view (and answers)
    assert view(cfg, "box").forward is False and view(cfg, "both").forward is True
    assert parse_config({"upstreams": ["[fd00::1]", "fd00::2"]}).upstreams == (
        ("fd00::1", 53), ("fd00::2", 53))
    assert parse_config({"listen": ["127.0.0.11", "::1"]}).listen == ("127.0.0.11", "::1")


@pytest.mark.parametrize("bad, words", [
    ({"listen": ["300.1.1.1"]}, "not an IP address"),
    ({"listen": []}, "listen"),
    ({"networks": {"a": {"recrods": {}}}}, "unknown key"),
    ({"networks": {"a": {"listen": ["10.0.0.1"]}}}, "unknown key"),
    ({"upstreams": ["10.0.0.1:99999"]}, "bad port"),
    ({"networks": {"a": {"records": {"bad name": ["10.0.0.2"]}}}}, "not a valid DNS name"),
    ({"networks": {"a": {"records": {"x": ["nope"]}}}}, "not an IP address"),
    ({"networks": {"a": {"forward": "no"}}}, "true or false"),
    ({"port": 0}, "port"),
    ({"sandboxes": {"s": {"netns": "x", "networks": ["nope"]}}}, "no network named 'nope'"),
    ({"networks": {"a": {}}, "sandboxes": {"s": {"networks": ["a"]}}}, "netns"),
    ({"networks": {"a": {}}, "sandboxes": {"s": {"netns": "x", "networks": []}}}, "non-empty list"),
])
def test_bad_config_is_rejected_with_a_useful_message(bad, words):
    with pytest.raises(ConfigError, match=words):
        parse_config(bad)


def test_load_config_reads_a_file_and_reports_a_broken_one(tmp_path):
    p = tmp_path / "dns.json"
    p.write_text(json.dumps(CONFIG))
    assert set(load_config(str(p)).askers) == {"web1", "api", "ns", "box", "both"}
    p.write_text("{not json")
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(str(p))
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(str(tmp_path / "missing.json"))


# ---------------------------------------------------------------- lookups


@pytest.mark.parametrize("name", ["web1", "web1.", "web1.devops", "WeB1.DevOps.", "API"])
def test_a_record_with_or_without_domain_any_case(cfg, name):
    reply, fwd = ask(cfg, "web1", name)
    assert fwd is None
    assert reply.header.rcode == RCODE.NOERROR and reply.header.aa
    assert addrs(reply) == ["192.168.1.2"]
    assert reply.header.id == 4242
    assert str(reply.rr[0].rname) == str(DNSRecord.question(name).q.qname)  # case echoed (0x20)


def test_aaaa_answers_v6_and_is_empty_noerror_without_v6(cfg):
    reply, _ = ask(cfg, "web1", "v6", "AAAA")
    assert addrs(reply) == ["fd00:1::6"]
    reply, _ = ask(cfg, "web1", "web1", "AAAA")
    assert reply.header.rcode == RCODE.NOERROR and reply.rr == []
    reply, _ = ask(cfg, "web1", "v6", "ANY")
    assert addrs(reply) == ["192.168.1.6", "fd00:1::6"]


def test_other_types_of_a_known_name_give_empty_noerror(cfg):
    for qtype in ("MX", "TXT", "SRV", "HTTPS"):
        reply, fwd = ask(cfg, "web1", "db.devops", qtype)
        assert fwd is None and reply.header.rcode == RCODE.NOERROR and reply.rr == []


def test_names_of_other_networks_are_nxdomain_not_forwarded(cfg):
    reply, fwd = ask(cfg, "web1", "ns")      # ns lives on network db only
    assert fwd is None and reply.header.rcode == RCODE.NXDOMAIN
    reply, fwd = ask(cfg, "ns", "web1")    # and web1 on devops only
    assert fwd is None and reply.header.rcode == RCODE.NXDOMAIN
    reply, fwd = ask(cfg, "ns", "web1.devops")
    assert fwd is None and reply.header.rcode == RCODE.NXDOMAIN
    reply, _ = ask(cfg, "ns", "ns")
    assert addrs(reply) == ["192.168.2.9"]


def test_a_sandbox_on_two_networks_sees_both_its_first_network_first(cfg):
    assert addrs(ask(cfg, "both", "ns")[0]) == ["192.168.2.9"]             # on db
    assert addrs(ask(cfg, "both", "web1.devops")[0]) == ["192.168.1.2"]    # on devops
    assert addrs(ask(cfg, "both", "both")[0]) == ["192.168.2.7"]           # on both: db comes first
    reply, _ = ask(cfg, "both", "9.2.168.192.in-addr.arpa", "PTR")
    assert [str(rr.rdata) for rr in reply.rr] == ["ns."]
    reply, fwd = ask(cfg, "both", "box")                                   # intern: not its network
    assert fwd is None and reply.header.rcode == RCODE.NXDOMAIN


def test_unknown_names_under_our_domain_are_nxdomain(cfg):
    for name in ("nope.devops", "a.b.devops"):
        reply, fwd = ask(cfg, "web1", name)
        assert fwd is None and reply.header.rcode == RCODE.NXDOMAIN


def test_other_names_are_forwarded_unless_forwarding_is_off(cfg):
    reply, fwd = ask(cfg, "web1", "example.com")
    assert reply is None and str(fwd.q.qname) == "example.com." and fwd.header.id == 4242
    reply, fwd = ask(cfg, "box", "example.com")
    assert fwd is None and reply.header.rcode == RCODE.NXDOMAIN and not reply.header.ra
    reply, _ = ask(cfg, "box", "box")
    assert addrs(reply) == ["10.9.0.2"]


def test_ptr_lists_every_name_of_an_address_and_hides_other_networks(cfg):
    reply, _ = ask(cfg, "web1", "2.1.168.192.in-addr.arpa", "PTR")
    assert [str(rr.rdata) for rr in reply.rr] == ["web1.devops.", "api.devops."]
    reply, _ = ask(cfg, "web1", "6.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0"
                   ".1.0.0.0.0.0.d.f.ip6.arpa", "PTR")
    assert [str(rr.rdata) for rr in reply.rr] == ["v6.devops."]
    reply, _ = ask(cfg, "ns", "9.2.168.192.in-addr.arpa", "PTR")
    assert [str(rr.rdata) for rr in reply.rr] == ["ns."]
    reply, fwd = ask(cfg, "web1", "9.2.168.192.in-addr.arpa", "PTR")
    assert fwd is None and reply.header.rcode == RCODE.NXDOMAIN
    _, fwd = ask(cfg, "web1", "4.3.2.1.in-addr.arpa", "PTR")
    assert fwd is not None


def test_a_sandbox_the_config_does_not_know_gets_refused(cfg):
    q = DNSRecord.question("web1")
    out, _ = respond(cfg, None, q.pack())
    assert DNSRecord.parse(out).header.rcode == RCODE.REFUSED


# ---------------------------------------------------------------- robustness


def test_zone_transfers_and_other_classes_are_notimp(cfg):
    reply, _ = ask(cfg, "web1", "devops", "AXFR")
    assert reply.header.rcode == RCODE.NOTIMP
    q = DNSRecord(q=DNSQuestion("version.bind", QTYPE.TXT, 3))  # class CH
    out, fwd = respond(cfg, view(cfg, "web1"), q.pack())
    assert fwd is None and DNSRecord.parse(out).header.rcode == RCODE.NOTIMP


@pytest.mark.parametrize("opcode", [OPCODE.IQUERY, OPCODE.STATUS, OPCODE.NOTIFY, OPCODE.UPDATE])
def test_non_query_opcodes_are_refused(cfg, opcode):
    q = DNSRecord.question("web1")
    q.header.opcode = opcode
    out, fwd = respond(cfg, view(cfg, "web1"), q.pack())
    reply = DNSRecord.parse(out)
    assert fwd is None and reply.header.rcode == RCODE.REFUSED and reply.header.opcode == opcode


def test_garbage_gets_formerr_when_it_has_an_id_and_is_dropped_otherwise(cfg):
    net = view(cfg, "web1")
    assert respond(cfg, net, b"") == (None, None)
    assert respond(cfg, net, b"\x12\x34\x01") == (None, None)
    out, fwd = respond(cfg, net, b"\x12\x34\x01\x00\x00\x01" + b"\xff" * 30)
    reply = DNSRecord.parse(out)
    assert fwd is None and reply.header.id == 0x1234 and reply.header.rcode == RCODE.FORMERR


def test_question_count_other_than_one_is_formerr(cfg):
    net = view(cfg, "web1")
    for questions in ([], [DNSQuestion("web1"), DNSQuestion("db")]):
        out, _ = respond(cfg, net, DNSRecord(DNSHeader(id=7), questions=questions).pack())
        assert DNSRecord.parse(out).header.rcode == RCODE.FORMERR


def test_responses_are_never_answered(cfg):
    reply = DNSRecord.question("web1").reply()
    assert respond(cfg, view(cfg, "web1"), reply.pack()) == (None, None)
    broken = bytearray(reply.pack())
    broken[12:] = b"\xff" * 20  # even when unparseable: no reply loops between servers
    assert respond(cfg, view(cfg, "web1"), bytes(broken)) == (None, None)


def test_compression_pointer_chain_is_formerr_not_recursion_error(cfg):
    # 1,500 pointers each pointing at the previous one: dnslib recurses past the
    # interpreter's limit on this (RecursionError), which must not escape.
    pkt = struct.pack("!6H", 99, 0x0100, 1, 2, 0, 0) + b"\x01a\x00" + struct.pack("!HH", 1, 1)
    n = 1500
    head = b"\x00" + struct.pack("!HHIH", 999, 1, 0, 2 * n)
    start, prev, chain = len(pkt) + len(head), 12, b""
    for i in range(n):
        chain += struct.pack("!H", 0xC000 | prev)
        prev = start + 2 * i
    pkt += head + chain + struct.pack("!H", 0xC000 | prev) + struct.pack("!HHIH", 1, 1, 0, 4)
    pkt += b"\x01\x02\x03\x04"
    out, fwd = respond(cfg, view(cfg, "web1"), pkt)
    assert fwd is None and DNSRecord.parse(out).header.rcode == RCODE.FORMERR


def test_big_answers_are_truncated_over_udp_but_not_over_tcp():
    many = [f"10.0.{i // 250}.{i % 250 + 1}" for i in range(100)]
    cfg = parse_config({"networks": {"n": {"records": {"big": many}}},
                        "sandboxes": {"s": {"netns": "s", "networks": ["n"]}}})
    reply, _ = ask(cfg, "s", "big")
    assert reply.header.tc and reply.rr == [] and str(reply.q.qname) == "big."
    reply, _ = ask(cfg, "s", "big", edns=4096)  # 100 * 16 bytes fit in 4096
    assert not reply.header.tc and len(reply.rr) == 100
    assert any(rr.rtype == QTYPE.OPT for rr in reply.ar)   # EDNS is echoed
    reply, _ = ask(cfg, "s", "big", udp=False)
    assert not reply.header.tc and len(reply.rr) == 100


def test_reply_flags_do_not_echo_what_only_a_query_may_set(cfg):
    q = DNSRecord.question("web1")
    q.header.ad = 1  # dig sets AD in queries; we vouch for no DNSSEC
    q.header.cd = 1
    out, _ = respond(cfg, view(cfg, "web1"), q.pack())
    h = DNSRecord.parse(out).header
    assert (h.qr, h.aa, h.ad, h.cd, h.rd, h.ra) == (1, 1, 0, 1, 1, 1)


def test_cache_replays_a_reply_with_the_new_id_and_only_for_local_answers(cfg):
    net, cache = view(cfg, "web1"), {}
    first = DNSRecord.question("web1.devops")
    first.header.id = 1
    out1, _ = respond(cfg, net, first.pack(), True, cache)
    assert len(cache) == 1
    first.header.id = 2
    out2, _ = respond(cfg, net, first.pack(), True, cache)
    assert out2[2:] == out1[2:] and DNSRecord.parse(out2).header.id == 2
    # Forwarded and garbage queries are not cached.
    respond(cfg, net, DNSRecord.question("example.com").pack(), True, cache)
    respond(cfg, net, b"\x12\x34\x01\x00\x00\x01" + b"\xff" * 30, True, cache)
    assert len(cache) == 1
    # One cache serves every network: the network is part of the key.
    other = view(cfg, "ns")
    reply = DNSRecord.parse(respond(cfg, other, first.pack(), True, cache)[0])
    assert reply.header.rcode == RCODE.NXDOMAIN and len(cache) == 2
    # A reloaded config comes with a new cache: the old answer is not served.
    new = parse_config({"networks": {"devops": {"domain": "devops", "records": {"web1": ["192.168.1.99"]}}},
                        "sandboxes": {"web1": {"netns": "t-web1", "networks": ["devops"]}}})
    reply = DNSRecord.parse(respond(new, view(new, "web1"), first.pack(), True, {})[0])
    assert addrs(reply) == ["192.168.1.99"]


@pytest.mark.parametrize("qname", [
    b"".join(b"\x3f" + b"a" * 63 for _ in range(5)) + b"\x04web1\x00",  # 325 bytes: > 253
    b"\x50" + b"a" * 80 + b"\x06devops\x00",                              # one label > 63
])
def test_names_dnslib_parses_but_cannot_pack_are_formerr(cfg, qname):
    pkt = struct.pack("!6H", 5, 0x0100, 1, 0, 0, 0) + qname + struct.pack("!HH", 1, 1)
    out, fwd = respond(cfg, view(cfg, "web1"), pkt)
    assert fwd is None and DNSRecord.parse(out).header.rcode == RCODE.FORMERR


def test_reload_reuses_unchanged_networks_and_rebuilds_changed_ones(cfg):
    changed = json.loads(json.dumps(CONFIG))
    changed["networks"]["db"]["records"]["ns2"] = ["192.168.2.10"]
    new = parse_config(changed, previous=cfg)
    assert new.networks["devops"] is cfg.networks["devops"]
    assert new.networks["db"] is not cfg.networks["db"]
    reply, _ = ask(new, "ns", "ns2")
    assert addrs(reply) == ["192.168.2.10"]
    reply, fwd = ask(new, "web1", "ns2")  # the cross-network index is rebuilt too
    assert fwd is None and reply.header.rcode == RCODE.NXDOMAIN
