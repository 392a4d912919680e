"""nsnet's netlink encoders and decoders against pyroute2, the oracle: every
request shape nsnet sends encodes to the bytes pyroute2 makes of the same
request, and every dump decoder reads what pyroute2 encodes as a reply."""

import errno
import socket
import struct
import subprocess
import sys

import pytest
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
from pyroute2.netlink.rtnl.ndmsg import ndmsg
from pyroute2.netlink.rtnl.rtmsg import rtmsg

from nsnet.kernel.netlink import consts, dumps, messages
from nsnet.kernel.netlink.nlsocket import NetlinkSocket, RequestError, error_of, message

REQUEST = consts.NLM_F_REQUEST | consts.NLM_F_ACK


def ours(request) -> bytes:
    msg_type, flags, body = request
    return message(msg_type, flags | REQUEST, body)


def pyroute2(msg, msg_type: int, nl_flags: int, **fields) -> bytes:
    for key, value in fields.items():
        msg[key] = value
    msg["header"]["type"] = msg_type
    msg["header"]["flags"] = nl_flags | REQUEST
    msg["header"]["sequence_number"] = 0
    msg.encode()
    return bytes(msg.data)


CREATE = consts.NLM_F_CREATE | consts.NLM_F_EXCL
UP = {"flags": consts.IFF_UP, "change": consts.IFF_UP}


def veth_attrs(ifname, peer, fd, master, mtu, peer_mac=None):
    peer_attrs = [("IFLA_IFNAME", peer), ("IFLA_NET_NS_FD", fd)]
    if peer_mac:
        peer_attrs.append(("IFLA_ADDRESS", peer_mac))
    attrs = [("IFLA_IFNAME", ifname)]
    if master is not None:
        attrs.append(("IFLA_MASTER", master))
    if mtu is not None:
        attrs.append(("IFLA_MTU", mtu))
        peer_attrs.append(("IFLA_MTU", mtu))
    info = {"attrs": [("VETH_INFO_PEER", {"attrs": peer_attrs})]}
    return attrs + [("IFLA_LINKINFO", {"attrs": [("IFLA_INFO_KIND", "veth"), ("IFLA_INFO_DATA", info)]})]


@pytest.mark.parametrize("ifname,peer,fd,master,mtu,peer_mac", [
    ("nsv12", "eth0", 7, 3, 1400, None), ("nsv99", "eth1", 900, None, None, "02:42:0a:01:00:02"),
    ("nsv1234", "ceth0", 2**31 - 1, 1, None, None), ("a-very-long-nm", "x", 3, 12, 9000, "02:aa:bb:cc:dd:ee")])
def test_veth(ifname, peer, fd, master, mtu, peer_mac):
    msg = ifinfmsg()
    msg["attrs"] = veth_attrs(ifname, peer, fd, master, mtu, peer_mac)
    assert ours(messages.veth(ifname, peer, fd, master, mtu, peer_mac)) == pyroute2(
        msg, consts.RTM_NEWLINK, CREATE, **UP)


@pytest.mark.parametrize("hairpin", [True, False])
def test_bridge_port(hairpin):
    msg = ifinfmsg()
    port = {"attrs": [("IFLA_BRPORT_MODE", int(hairpin))]}
    msg["attrs"] = [("IFLA_IFNAME", "nsv7"), ("IFLA_LINKINFO", {"attrs": [("IFLA_INFO_SLAVE_KIND", "bridge"),
                                                                         ("IFLA_INFO_SLAVE_DATA", port)]})]
    assert ours(messages.bridge_port("nsv7", hairpin)) == pyroute2(msg, consts.RTM_NEWLINK, 0)


@pytest.mark.parametrize("mtu,mac", [(None, None), (1400, None), (None, "02:42:ac:11:00:01"),
                                     (9000, "02:aa:bb:cc:dd:ee")])
def test_bridge(mtu, mac):
    msg = ifinfmsg()
    msg["attrs"] = [("IFLA_IFNAME", "nsbr-devops"), ("IFLA_LINKINFO", {"attrs": [("IFLA_INFO_KIND", "bridge")]})]
    if mac:
        msg["attrs"].append(("IFLA_ADDRESS", mac))
    if mtu:
        msg["attrs"].append(("IFLA_MTU", mtu))
    assert ours(messages.bridge("nsbr-devops", mtu, mac)) == pyroute2(msg, consts.RTM_NEWLINK, CREATE, **UP)


def test_wireguard():
    msg = ifinfmsg()
    msg["attrs"] = [("IFLA_IFNAME", "nswg0"), ("IFLA_LINKINFO", {"attrs": [("IFLA_INFO_KIND", "wireguard")]})]
    assert ours(messages.wireguard("nswg0")) == pyroute2(msg, consts.RTM_NEWLINK, CREATE)


@pytest.mark.parametrize("mtu,master", [(None, None), (1450, 5)])
def test_vxlan(mtu, master):
    data = {"attrs": [("IFLA_VXLAN_ID", 4242), ("IFLA_VXLAN_LOCAL", "10.0.0.1"), ("IFLA_VXLAN_PORT", 4789),
                      ("IFLA_VXLAN_LEARNING", 0), ("IFLA_VXLAN_PROXY", 1)]}
    msg = ifinfmsg()
    msg["attrs"] = [("IFLA_IFNAME", "nsvx-blue"),
                    ("IFLA_LINKINFO", {"attrs": [("IFLA_INFO_KIND", "vxlan"), ("IFLA_INFO_DATA", data)]})]
    if mtu:
        msg["attrs"].append(("IFLA_MTU", mtu))
    if master:
        msg["attrs"].append(("IFLA_MASTER", master))
    got = ours(messages.vxlan("nsvx-blue", 4242, "10.0.0.1", 4789, mtu, master))
    assert got == pyroute2(msg, consts.RTM_NEWLINK, CREATE, **UP)


@pytest.mark.parametrize("up,master,mtu,mac,alias", [
    (True, None, None, None, None), (False, None, None, None, None), (None, 3, None, None, None),
    (None, 0, None, None, None), (True, 7, 1400, None, None), (None, None, 9000, None, None),
    (None, None, None, "02:42:0a:00:00:02", None), (True, 4, 1400, "02:42:0a:00:00:03", None),
    (True, None, None, None, "nsnet:/var/lib/nsnet")])
def test_link_set(up, master, mtu, mac, alias):
    msg = ifinfmsg()
    fields = {}
    if up is not None:
        fields = {"change": consts.IFF_UP, "flags": consts.IFF_UP if up else 0}
    msg["attrs"] = [("IFLA_IFNAME", "eth0")]
    if master is not None:
        msg["attrs"].append(("IFLA_MASTER", master))
    if mtu:
        msg["attrs"].append(("IFLA_MTU", mtu))
    if mac:
        msg["attrs"].append(("IFLA_ADDRESS", mac))
    if alias:
        msg["attrs"].append(("IFLA_IFALIAS", alias))
    got = ours(messages.link_set("eth0", up, master, mtu, mac, alias))
    assert got == pyroute2(msg, consts.RTM_NEWLINK, 0, **fields)


def test_link_lookup_delete_address_and_addrgenmode():
    for name in ("eth0", "x", "a-very-long-nm"):
        msg = ifinfmsg()
        msg["attrs"] = [("IFLA_IFNAME", name)]
        assert ours(messages.getlink(name)) == pyroute2(msg, consts.RTM_GETLINK, 0)
        msg = ifinfmsg()
        msg["attrs"] = [("IFLA_IFNAME", name)]
        assert ours(messages.dellink(name)) == pyroute2(msg, consts.RTM_DELLINK, 0)
        msg = ifinfmsg()
        spec = {"attrs": [("AF_INET6", {"attrs": [("IFLA_INET6_ADDR_GEN_MODE", 1)]})]}
        msg["attrs"] = [("IFLA_IFNAME", name), ("IFLA_AF_SPEC", spec)]
        assert ours(messages.addrgen_none(name)) == pyroute2(msg, consts.RTM_NEWLINK, 0)


@pytest.mark.parametrize("cidr,index", [("10.1.2.3/16", 2), ("192.168.15.254/24", 3000), ("10.0.0.1/31", 4),
                                        ("10.0.0.9/32", 4), ("10.0.0.9", 4), ("fd00::2/64", 2),
                                        ("2001:db8::1/128", 9), ("fe80::1234:5678/64", 1)])
def test_addresses_both_families(cidr, index):
    ip, _, length = cidr.partition("/")
    v6 = ":" in ip
    prefixlen = int(length or (128 if v6 else 32))
    attrs = [("IFA_LOCAL", ip), ("IFA_ADDRESS", ip)]
    if not v6 and prefixlen < 31:
        import ipaddress

        attrs.append(("IFA_BROADCAST", str(ipaddress.ip_interface(cidr).network.broadcast_address)))
    fields = {"family": socket.AF_INET6 if v6 else socket.AF_INET, "prefixlen": prefixlen, "index": index,
              "flags": consts.IFA_F_NODAD if v6 else 0}
    for add, msg_type, flags in ((True, consts.RTM_NEWADDR, CREATE), (False, consts.RTM_DELADDR, 0)):
        msg = ifaddrmsg()
        msg["attrs"] = attrs
        assert ours(messages.addr(index, cidr, add=add)) == pyroute2(msg, msg_type, flags, **fields)


@pytest.mark.parametrize("dest,via,oif", [("0.0.0.0/0", "10.0.0.1", None), ("10.1.0.0/16", "10.0.0.1", 3),
                                          ("10.1.0.0/24", None, 3), ("::/0", "fd00::1", None),
                                          ("fd01::/64", None, 2), ("fd02::/48", "fd00::1", 7)])
def test_routes_both_families(dest, via, oif):
    net, _, length = dest.partition("/")
    attrs = ([("RTA_DST", net)] if int(length) else []) + ([("RTA_GATEWAY", via)] if via else [])
    attrs += [("RTA_OIF", oif)] if oif is not None else []
    fields = {"family": socket.AF_INET6 if ":" in dest else socket.AF_INET, "dst_len": int(length),
              "table": consts.RT_TABLE_MAIN, "proto": consts.RTPROT_STATIC, "type": consts.RTN_UNICAST,
              "scope": consts.RT_SCOPE_UNIVERSE if via else consts.RT_SCOPE_LINK}
    for add, msg_type, flags in ((True, consts.RTM_NEWROUTE, CREATE), (False, consts.RTM_DELROUTE, 0)):
        msg = rtmsg()
        msg["attrs"] = attrs
        assert ours(messages.route(dest, via, oif, add=add)) == pyroute2(msg, msg_type, flags, **fields)


def neigh(family, index, state, flags, attrs):
    msg = ndmsg()
    msg["attrs"] = attrs
    return msg, {"family": family, "ifindex": index, "state": state, "flags": flags}


def test_fdb_and_neighbours():
    replace = consts.NLM_F_CREATE | consts.NLM_F_REPLACE
    mac, perm = "02:00:00:00:00:01", consts.NUD_PERMANENT
    cases = [
        (messages.fdb_replace(5, mac, "10.0.0.9"), consts.RTM_NEWNEIGH, replace,
         neigh(consts.AF_BRIDGE, 5, perm, consts.NTF_SELF, [("NDA_LLADDR", mac), ("NDA_DST", "10.0.0.9")])),
        (messages.fdb_del(5, mac, "10.0.0.9"), consts.RTM_DELNEIGH, 0,
         neigh(consts.AF_BRIDGE, 5, perm, consts.NTF_SELF, [("NDA_LLADDR", mac), ("NDA_DST", "10.0.0.9")])),
        (messages.fdb_del(5, mac, "10.0.0.9", master=True), consts.RTM_DELNEIGH, 0,
         neigh(consts.AF_BRIDGE, 5, perm, consts.NTF_MASTER, [("NDA_LLADDR", mac)])),
        (messages.neigh_replace(6, "10.0.0.3", mac), consts.RTM_NEWNEIGH, replace,
         neigh(socket.AF_INET, 6, perm, 0, [("NDA_DST", "10.0.0.3"), ("NDA_LLADDR", mac)])),
        (messages.neigh_replace(6, "fd00::3", mac), consts.RTM_NEWNEIGH, replace,
         neigh(socket.AF_INET6, 6, perm, 0, [("NDA_DST", "fd00::3"), ("NDA_LLADDR", mac)])),
        (messages.neigh_del(6, "10.0.0.3"), consts.RTM_DELNEIGH, 0,
         neigh(socket.AF_INET, 6, 0, 0, [("NDA_DST", "10.0.0.3")])),
    ]
    for request, msg_type, flags, (msg, fields) in cases:
        assert ours(request) == pyroute2(msg, msg_type, flags, **fields)


def test_dump_requests():
    dump = consts.NLM_F_DUMP
    assert ours(messages.link_dump()) == pyroute2(ifinfmsg(), consts.RTM_GETLINK, dump)
    for family in (socket.AF_UNSPEC, socket.AF_INET, socket.AF_INET6):
        assert ours(messages.addr_dump(family)) == pyroute2(ifaddrmsg(), consts.RTM_GETADDR, dump, family=family)
        assert ours(messages.route_dump(family)) == pyroute2(rtmsg(), consts.RTM_GETROUTE, dump, family=family)
    for family in (socket.AF_INET, consts.AF_BRIDGE):
        assert ours(messages.neigh_dump(family)) == pyroute2(ndmsg(), consts.RTM_GETNEIGH, dump, family=family)


def test_bad_prefix_is_refused_before_anything_is_sent():
    with pytest.raises(ValueError):
        messages.addr(2, "10.0.0.1/33")
    with pytest.raises(OSError):
        messages.route("10.0.0/8")


# -- decoders: what pyroute2 encodes as the kernel's replies -----------------------
def reply(msg, msg_type: int, **fields) -> tuple:
    data = pyroute2(msg, msg_type, 0, **fields)
    return msg_type, data, 16, len(data)


def test_link_dump_decoder_reads_every_field():
    veth = ifinfmsg()
    port = {"attrs": [("IFLA_BRPORT_STATE", 3), ("IFLA_BRPORT_MODE", 1)]}
    info = {"attrs": [("IFLA_INFO_KIND", "veth"), ("IFLA_INFO_SLAVE_KIND", "bridge"), ("IFLA_INFO_SLAVE_DATA", port)]}
    veth["attrs"] = [("IFLA_IFNAME", "nsv3"), ("IFLA_ADDRESS", "02:4c:0f:cd:17:c7"), ("IFLA_MTU", 1400),
                     ("IFLA_LINK", 2), ("IFLA_MASTER", 4), ("IFLA_LINKINFO", info)]
    lo = ifinfmsg()
    lo["attrs"] = [("IFLA_IFNAME", "lo"), ("IFLA_MTU", 65536), ("IFLA_IFALIAS", "nsnet:/var/lib/nsnet")]
    got = dumps.links([reply(veth, consts.RTM_NEWLINK, index=9, flags=consts.IFF_UP),
                       reply(lo, consts.RTM_NEWLINK, index=1)])
    assert got == [
        {"index": 9, "ifname": "nsv3", "kind": "veth", "master": 4, "up": True, "mtu": 1400,
         "mac": "02:4c:0f:cd:17:c7", "peer_index": 2, "peer_ns_gone": False, "alias": None, "hairpin": True},
        {"index": 1, "ifname": "lo", "kind": None, "master": None, "up": False, "mtu": 65536, "mac": None,
         "peer_index": None, "peer_ns_gone": False, "alias": "nsnet:/var/lib/nsnet",
         "hairpin": None}]


def test_address_and_route_decoders_read_both_families():
    replies = []
    for family, ip, prefixlen in ((socket.AF_INET, "10.0.0.2", 24), (socket.AF_INET6, "fd00::2", 64)):
        msg = ifaddrmsg()
        msg["attrs"] = [("IFA_ADDRESS", ip), ("IFA_LOCAL", ip)]
        replies.append(reply(msg, consts.RTM_NEWADDR, family=family, prefixlen=prefixlen, index=2))
    assert dumps.addrs(replies, {2: "eth0"}) == [{"ifname": "eth0", "cidr": "10.0.0.2/24", "family": 2},
                                                 {"ifname": "eth0", "cidr": "fd00::2/64", "family": 10}]
    replies = []
    for family, attrs, dst_len, table in (
            (socket.AF_INET, [("RTA_GATEWAY", "10.0.0.1"), ("RTA_OIF", 2)], 0, 254),
            (socket.AF_INET6, [("RTA_DST", "fd01::"), ("RTA_GATEWAY", "fd00::1"), ("RTA_OIF", 2)], 64, 254),
            (socket.AF_INET, [("RTA_DST", "10.0.0.0"), ("RTA_OIF", 2)], 24, 254),
            (socket.AF_INET, [("RTA_DST", "127.0.0.1"), ("RTA_OIF", 1)], 32, 255)):  # local table: left out
        msg = rtmsg()
        msg["attrs"] = attrs
        replies.append(reply(msg, consts.RTM_NEWROUTE, family=family, dst_len=dst_len, table=table,
                             proto=consts.RTPROT_STATIC, type=consts.RTN_UNICAST))
    assert dumps.routes(replies, {2: "eth0"}) == [
        {"dest": "0.0.0.0/0", "via": "10.0.0.1", "dev": "eth0", "proto": 4},
        {"dest": "fd01::/64", "via": "fd00::1", "dev": "eth0", "proto": 4},
        {"dest": "10.0.0.0/24", "via": None, "dev": "eth0", "proto": 4}]


def test_neighbour_decoder_reads_fdb_and_arp_entries():
    fdb = ndmsg()
    fdb["attrs"] = [("NDA_LLADDR", "02:00:00:00:00:01"), ("NDA_DST", "192.168.9.2")]
    arp = ndmsg()
    arp["attrs"] = [("NDA_DST", "10.0.0.3"), ("NDA_LLADDR", "02:00:00:00:00:03")]
    got = dumps.neighbours([
        reply(fdb, consts.RTM_NEWNEIGH, family=consts.AF_BRIDGE, ifindex=5, state=consts.NUD_PERMANENT,
              flags=consts.NTF_SELF),
        reply(arp, consts.RTM_NEWNEIGH, family=socket.AF_INET, ifindex=6, state=2)])
    assert got == [{"ifindex": 5, "ip": "192.168.9.2", "mac": "02:00:00:00:00:01", "state": 0x80, "flags": 2},
                   {"ifindex": 6, "ip": "10.0.0.3", "mac": "02:00:00:00:00:03", "state": 2, "flags": 0}]


def test_extended_ack_text_is_read():
    """An NLMSG_ERROR with a capped echo and NLMSGERR_ATTR_MSG, as the kernel sends it."""
    text = b"ipv4: Address already assigned\0"
    tlv = struct.pack("=HH", 4 + len(text), consts.NLMSGERR_ATTR_MSG) + text + b"\0" * (-len(text) & 3)
    echoed = struct.pack("=IHHII", 48, consts.RTM_NEWADDR, 0x605, 7, 0)
    body = struct.pack("=i", -17) + echoed + tlv
    data = struct.pack("=IHHII", 16 + len(body), consts.NLMSG_ERROR,
                       consts.NLM_F_CAPPED | consts.NLM_F_ACK_TLVS, 7, 0) + body
    err = error_of(data, 0)
    assert isinstance(err, RequestError) and err.code == 17
    assert err.args == (17, "ipv4: Address already assigned")
    assert str(err) == "File exists (ipv4: Address already assigned)"
    ack = struct.pack("=IHHII", 36, consts.NLMSG_ERROR, 0x100, 7, 0) + struct.pack("=i", 0) + echoed
    assert error_of(ack, 0) is None


def test_a_kernel_that_does_not_answer_is_an_error_not_a_hang():
    sock = NetlinkSocket(consts.NETLINK_ROUTE)  # unprivileged: nothing is sent
    try:
        sock.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("@ll", 0, 20000))
        with pytest.raises(RequestError) as waited:
            sock._acked(sock.seq + 1)  # an ack nobody will send
        assert waited.value.code == errno.ETIMEDOUT
    finally:
        sock.close()


def test_constants_match_pyroute2():
    from pyroute2.netlink import (
        NLM_F_ACK,
        NLM_F_CREATE,
        NLM_F_DUMP,
        NLM_F_EXCL,
        NLM_F_REPLACE,
        NLM_F_REQUEST,
        NLMSG_DONE,
        NLMSG_ERROR,
        rtnl,
    )

    for name in [n for n in dir(consts) if n.startswith("RTM_")]:
        assert getattr(consts, name) == getattr(rtnl, name), name
    for name, value in (("NLM_F_ACK", NLM_F_ACK), ("NLM_F_CREATE", NLM_F_CREATE), ("NLM_F_DUMP", NLM_F_DUMP),
                        ("NLM_F_EXCL", NLM_F_EXCL), ("NLM_F_REPLACE", NLM_F_REPLACE),
                        ("NLM_F_REQUEST", NLM_F_REQUEST), ("NLMSG_DONE", NLMSG_DONE), ("NLMSG_ERROR", NLMSG_ERROR)):
        assert getattr(consts, name) == value, name
    tables = {"IFLA_": ifinfmsg, "IFA_": ifaddrmsg, "RTA_": rtmsg, "NDA_": ndmsg}
    checked = 0
    for prefix, cls in tables.items():
        numbers = {name: i for i, (name, _) in enumerate(cls.nla_map)}
        for name in [n for n in dir(consts) if n.startswith(prefix) and n in numbers]:
            assert getattr(consts, name) == numbers[name], name
            checked += 1
    assert checked >= 15


def test_engine_and_kernel_import_no_pyroute2():
    """pyroute2 is a test oracle only: the engine and the kernel layer never load it."""
    code = ("import sys, nsnet.engine, nsnet.kernel.rtnl, nsnet.kernel.nft, nsnet.kernel.process; "
            "print(sorted(m for m in sys.modules if 'pyroute2' in m))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
