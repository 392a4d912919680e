"""The prober's pure parts: echo packets, batches that fit the neighbour table,
published-port ranges (no root)."""

import struct

from nsnet.firewall.ports import parse_spec
from nsnet.topology import probe


def test_echo_request_checksums_to_zero():
    packet = probe._echo(0x1234, 7)
    kind, code, _, ident, seq = struct.unpack_from("!BBHHH", packet)
    assert (kind, code, ident, seq) == (8, 0, 0x1234, 7)
    assert probe.checksum(packet) == 0


def test_batches_stay_within_the_budget_and_keep_every_probe():
    probes = [probe.Probe(f"s{i}", f"ns{i}", f"t{j}", f"10.0.0.{j}") for i in range(10) for j in range(20)]
    batches = probe._batches(probes, budget=64)
    assert all(2 * len(b) <= 64 for b in batches)
    assert sum(len(b) for b in batches) == len(probes)
    assert [p for b in batches for p in b] == probes


def test_published_ranges_pair_up():
    spec = parse_spec("127.0.0.1:8000-8002:9000-9002/udp")
    assert (spec.host_ip, spec.proto) == ("127.0.0.1", "udp")
    assert [(p.host_port, p.sandbox_port) for p in spec.ports()] == [(8000, 9000), (8001, 9001), (8002, 9002)]
    assert [(p.host_port, p.sandbox_port, p.proto) for p in parse_spec("80:8080").ports()] == [(80, 8080, "tcp")]
    assert parse_spec("0.0.0.0:80:80").host_ip == "0.0.0.0"  # every IPv4 address only ("" is both families)
    assert parse_spec("80:80").host_ip == ""


def test_icmpv6_echoes_and_answers():
    import socket

    packet = probe._echo(0x1234, 7, socket.AF_INET6)
    assert struct.unpack_from("!BBHHH", packet) == (128, 0, 0, 0x1234, 7)  # the kernel sums ICMPv6
    reply = struct.pack("!BBHHH", 129, 0, 0, 0x1234, 7)
    assert probe._icmp_answer(reply, socket.AF_INET6) == ("ok", 0x1234, 7)
    unreachable = struct.pack("!BBHI", 1, 3, 0, 0) + bytes(40) + packet  # quotes the IPv6 header and our echo
    assert probe._icmp_answer(unreachable, socket.AF_INET6) == ("unreachable", 0x1234, 7)
    assert probe._icmp_answer(struct.pack("!BBHI", 135, 0, 0, 0) + bytes(16), socket.AF_INET6) is None  # an NS
    v4_reply = bytes([0x45]) + bytes(19) + struct.pack("!BBHHH", 0, 0, 0, 0x1234, 9)
    assert probe._icmp_answer(v4_reply, socket.AF_INET) == ("ok", 0x1234, 9)
