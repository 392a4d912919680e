"""The nfnetlink bytes of element batches (kernel/netlink/nftables.py), against
what libnftables sends for the same command (`nft --debug=mnl add element ...`)."""

import struct

import pytest

from nsnet.firewall import nftjson, ruleset
from nsnet.kernel.netlink import consts as c
from nsnet.kernel.netlink import nftables as w
from nsnet.kernel.netlink.nlsocket import message

SETS = {("inet", "nsnet", "pub_any_addr"): w.SetInfo("nsnet", "pub_any_addr", (12, 13), 8, (7,), 4, True),
        ("inet", "nsnet", "pub_any_port"): w.SetInfo("nsnet", "pub_any_port", (12, 13), 8, (13,), 2, True),
        ("inet", "nsnet", "pub_ip_addr"): w.SetInfo("nsnet", "pub_ip_addr", (7, 12, 13), 12, (7,), 4, True),
        ("inet", "nsnet", "pub_ip_port"): w.SetInfo("nsnet", "pub_ip_port", (7, 12, 13), 12, (13,), 2, True)}
PORT = {"sandbox": "s", "network": "b", "sandbox_ip": "10.1.0.2", "sandbox_port": 80, "host_ip": "",
        "proto": "tcp", "host_port": 8080}


def messages(msgs, seq: int = 1) -> list[tuple[int, int, int, bytes]]:
    """The batch as NetlinkSocket.batch numbers and sends it, read back."""
    batch = b"".join(message(kind, flags | c.NLM_F_REQUEST, body, seq + i)
                     for i, (kind, flags, body) in enumerate(msgs))
    out, offset = [], 0
    while offset < len(batch):
        length, kind, flags, seq, _pid = struct.unpack_from("=IHHII", batch, offset)
        out.append((kind, flags, seq, batch[offset + 16:offset + length]))
        offset += length
    return out


def test_concat_types_split_as_nft_packs_them():
    assert w.split_type((12 << 6) | 13) == (12, 13)  # inet_proto . inet_service
    assert w.split_type((7 << 12) | (12 << 6) | 13) == (7, 12, 13)
    assert w.split_type(7) == (7,)


def test_map_element_bytes_match_libnftables():
    commands = w.element_commands(nftjson.batch(*ruleset.port_commands("add", [PORT])))
    msgs = messages(w.encode(commands, SETS), 100)
    assert [m[0] for m in msgs] == [0x10, 0x0a0c, 0x0a0c, 0x11]  # begin, 2 x NEWSETELEM, end
    assert [m[2] for m in msgs] == [100, 101, 102, 103]
    assert msgs[0][3] == bytes.fromhex("0000000a") == msgs[3][3]  # nfgenmsg: res_id NFNL_SUBSYS_NFTABLES
    assert msgs[1][1] == c.NLM_F_REQUEST | c.NLM_F_CREATE  # as libnftables: no ack asked ...
    _kind, flags, _seq, body = msgs[2]
    assert flags == c.NLM_F_REQUEST | c.NLM_F_ACK | c.NLM_F_CREATE  # ... but the last one's says it all went
    # nfgenmsg (inet), table, set, then the elements exactly as libnftables encodes them
    assert body == bytes.fromhex(
        "01000000" "0a000100" "6e736e6574000000" "11000200" "7075625f616e795f706f727400000000"
        "38000380" "34000180" "10000180" "0c000100" "06000000" "1f900000" "0c000280" "06000100" "00500000"
        "14000600" "000e" + b"sandbox s (b)\0".hex())
    addr = msgs[1][3]
    assert bytes.fromhex("0c000280" "08000100" "0a010002") in addr  # data: ipv4_addr 10.1.0.2


def test_keys_with_an_address_and_deletes():
    port = dict(PORT, host_ip="127.0.0.1", proto="udp", host_port=53)
    commands = w.element_commands(nftjson.batch(*ruleset.port_commands("delete", [port])))
    kind, flags, _seq, body = messages(w.encode(commands, SETS))[2]
    assert kind == 0x0a0e and flags == c.NLM_F_REQUEST | c.NLM_F_ACK  # DELSETELEM, no CREATE
    assert body.endswith(bytes.fromhex("1c000380" "18000180" "14000180" "10000100" "7f000001" "11000000" "00350000"))


@pytest.mark.parametrize("payload", [
    {"nftables": [{"add": {"table": {"family": "inet", "name": "nsnet"}}}]},
    {"nftables": [{"flush": {"set": {"family": "inet", "table": "nsnet", "name": "bridges"}}}]},
    {"nftables": [{"add": {"element": {"family": "bridge", "table": "t", "name": "s", "elem": [1]}}}]},
    {"nftables": []},
    "list table inet nsnet",
])
def test_other_batches_are_not_for_the_wire(payload):
    assert w.element_commands(payload) is None


def test_what_it_cannot_encode_goes_to_libnftables():
    unknown_set = w.element_commands(nftjson.batch(*ruleset.port_commands("add", [PORT])))
    with pytest.raises(w.Unsupported):
        w.encode(unknown_set, {})
    for elem in (["tcp . 80", 1], [{"concat": ["tcp", "http"]}, "10.0.0.1"], [{"concat": ["tcp", 80]}, "nope"],
                 [{"elem": {"val": {"concat": ["tcp", 80]}, "timeout": "1s"}}, "10.0.0.1"],
                 [{"elem": {"val": {"concat": ["tcp", 80]}, "comment": "x" * 200}}, "10.0.0.1"]):
        commands = [("add", "inet", "nsnet", "pub_any_addr", [elem])]
        with pytest.raises(w.Unsupported):
            w.encode(commands, SETS)


def test_set_types_from_the_kernel_reply():
    def attr(kind, payload):
        return struct.pack("=HH", 4 + len(payload), kind) + payload + b"\0" * (-len(payload) & 3)

    body = (attr(1, b"nsnet\0") + attr(2, b"pub_any_port\0") + attr(3, struct.pack("!I", 0x8))
            + attr(4, struct.pack("!I", (12 << 6) | 13)) + attr(5, struct.pack("!I", 8))
            + attr(6, struct.pack("!I", 13)) + attr(7, struct.pack("!I", 2)))
    table, name, info = w.parse_set(body, 0, len(body))
    assert (table, name, info.key_types, info.key_len, info.data_types, info.data_len, info.is_map) == \
        ("nsnet", "pub_any_port", (12, 13), 8, (13,), 2, True)
    interval = body.replace(attr(3, struct.pack("!I", 0x8)), attr(3, struct.pack("!I", 0x8 | 0x4)))
    assert w.parse_set(interval, 0, len(interval)) is None  # intervals: libnftables


def test_ipv6_addresses_in_keys_and_values():
    sets = {("inet", "nsnet", "pub_any6_addr"): w.SetInfo("nsnet", "pub_any6_addr", (12, 13), 8, (8,), 16, True),
            ("inet", "nsnet", "pub_ip6_port"): w.SetInfo("nsnet", "pub_ip6_port", (8, 12, 13), 24, (13,), 2, True)}
    add = w.element_commands({"nftables": [
        {"add": nftjson.element("pub_any6_addr", [nftjson.map_elem(nftjson.concat("tcp", 8080), "fd00:1::2")])},
        {"add": nftjson.element("pub_ip6_port", [nftjson.map_elem(nftjson.concat("fd00::1", "udp", 53), 5353)])}]})
    msgs = messages(w.encode(add, sets))
    assert bytes.fromhex("18000280" "14000100" "fd000001000000000000000000000002") in msgs[1][3]  # data: 16 bytes
    assert bytes.fromhex("20000180" "1c000100" "fd000000000000000000000000000001" "11000000" "00350000") \
        in msgs[2][3]  # key: ipv6_addr . inet_proto . inet_service, each part padded to 4 bytes
    with pytest.raises(w.Unsupported):  # an IPv4 address where the set holds IPv6 ones
        w.encode([("add", "inet", "nsnet", "pub_any6_addr", [[{"concat": ["tcp", 80]}, "10.0.0.1"]])], sets)
