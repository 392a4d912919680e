"""Templated netlink requests encode to exactly what pyroute2 would encode."""

from nsnet.kernel import requests as rtnl
from nsnet.kernel.channel import Channel
from nsnet.kernel.template import Field, Templates


def _encode(msg):
    return Channel._encode(msg, 16, 0x405)


def test_veth_requests_match_pyroute2_for_every_value():
    t = Templates()
    for ifname, peer, fd, master in [("nsv12", "eth0", 7, 3), ("nsv99", "eth1", 900, 12),
                                     ("nsv1234", "ceth0", 2**31 - 1, 1)]:
        fields = [Field("str", ifname), Field("str", peer), Field("u32", fd), Field("u32", master)]
        got = t.encode("veth", lambda *v: rtnl.veth_msg(*v, mtu=1400), fields, _encode)
        assert got == _encode(rtnl.veth_msg(ifname, peer, fd, master, mtu=1400))


def test_address_and_lookup_requests_match():
    t = Templates()
    for index, ip, brd in [(2, "10.1.2.3", "10.1.255.255"), (3000, "192.168.15.254", "192.168.15.255")]:
        fields = [Field("u32", index), Field("ip4", ip), Field("ip4", ip), Field("ip4", brd)]
        got = t.encode("addr", lambda *v: rtnl.addr4_msg(*v, prefixlen=16), fields, _encode)
        assert got == _encode(rtnl.addr4_msg(index, ip, ip, brd, prefixlen=16))
    for name in ("eth0", "x", "a-very-long-nm"):
        assert t.encode("get", rtnl.getlink_msg, [Field("str", name)], _encode) == _encode(rtnl.getlink_msg(name))


def test_ambiguous_placeholder_falls_back_to_full_encoding():
    """Two fields with the same placeholder bytes cannot be told apart: encode for real."""
    t = Templates()
    built = []

    def build(a, b):
        built.append((a, b))
        return rtnl.addr4_msg(2, a, b, "10.0.0.255", prefixlen=24)

    fields = [Field("ip4", "10.0.0.1"), Field("ip4", "10.0.0.2")]
    t._make = lambda build, fields, encode_msg: (b"", None)  # as if the placeholders collided
    assert t.encode("k", build, fields, _encode) == _encode(rtnl.addr4_msg(2, "10.0.0.1", "10.0.0.2",
                                                                             "10.0.0.255", 24))
    assert built[-1] == ("10.0.0.1", "10.0.0.2")
