import ipaddress

import pytest

from nsnet import ipam
from nsnet.errors import Conflict, InvalidInput


def test_parse_subnet_errors_name_the_problem():
    with pytest.raises(InvalidInput, match="not a valid CIDR"):
        ipam.parse_subnet("192.168.2.0/33")
    with pytest.raises(InvalidInput, match="host bits set"):
        ipam.parse_subnet("192.168.2.5/24")
    with pytest.raises(InvalidInput, match="prefix length"):
        ipam.parse_subnet("192.168.2.0")
    with pytest.raises(InvalidInput, match="host bits set"):
        ipam.parse_subnet("fd00::1/64")
    with pytest.raises(InvalidInput, match="/64 or longer"):
        ipam.parse_subnet("fd00::/48")
    with pytest.raises(InvalidInput, match="too small"):
        ipam.parse_subnet("fd00::/127")
    assert str(ipam.parse_subnet("FD00:0001::/64")) == "fd00:1::/64"


def test_parse_subnets_one_per_family():
    both = ipam.parse_subnets(["10.1.0.0/24", "fd00:1::/64"])
    assert {v: str(n) for v, n in both.items()} == {4: "10.1.0.0/24", 6: "fd00:1::/64"}
    assert list(ipam.parse_subnets("fd00:1::/64")) == [6]
    with pytest.raises(InvalidInput, match="two IPv6 subnets"):
        ipam.parse_subnets(["fd00:1::/64", "fd00:2::/64"])


def test_parse_ips_one_per_family():
    assert {v: str(a) for v, a in ipam.parse_ips("10.1.0.5,fd00:1::5").items()} == {4: "10.1.0.5", 6: "fd00:1::5"}
    assert {v: str(a) for v, a in ipam.parse_ips(["fd00:1::5"]).items()} == {6: "fd00:1::5"}
    assert ipam.parse_ips(None) == {}
    with pytest.raises(InvalidInput, match="two IPv4 addresses"):
        ipam.parse_ips(["10.1.0.5", "10.1.0.6"])
    with pytest.raises(InvalidInput, match="not a valid IP address"):
        ipam.parse_ips("10.1.0.5,nope")


def test_ipv6_allocation_uses_the_last_address_but_not_the_anycast_one():
    net = ipaddress.ip_network("fd00::/126")  # ::0 subnet-router anycast, ::1 gateway, ::2, ::3
    assert str(ipam.allocate(net, ["fd00::1"])) == "fd00::2"
    assert str(ipam.allocate(net, ["fd00::1", "fd00::2"])) == "fd00::3"
    with pytest.raises(Conflict, match="no free addresses"):
        ipam.allocate(net, ["fd00::1", "fd00::2", "fd00::3"])
    ipam.check_in_subnet(ipaddress.ip_address("fd00::3"), net, "--ip")
    for bad in ("fd00::", "fd00::4", "10.0.0.1"):
        with pytest.raises(InvalidInput):
            ipam.check_in_subnet(ipaddress.ip_address(bad), net, "--ip")


def test_ula_pool_is_a_stable_fd_48_and_picks_free_64s():
    prefix = ipam.ula_prefix("0123456789abcdef")
    assert prefix == ipam.ula_prefix("0123456789abcdef") != ipam.ula_prefix("another machine")
    assert prefix.prefixlen == 48 and str(prefix).startswith("fd")
    first = ipam.pick_subnet6([], prefix)
    assert first.prefixlen == 64 and first.subnet_of(prefix)
    assert ipam.pick_subnet6([first, ipaddress.ip_network("10.0.0.0/8")], prefix) == next(
        s for s in prefix.subnets(new_prefix=64) if s != first)


def test_default_route_of_each_family():
    assert ipam.parse_dest("default") == "0.0.0.0/0"
    assert ipam.parse_dest("default", 6) == "::/0"
    assert ipam.parse_dest("FD00:1::/64") == "fd00:1::/64"


def test_allocate_lowest_free_and_exhaustion():
    net = ipaddress.ip_network("10.0.0.0/29")
    assert str(ipam.allocate(net, ["10.0.0.1"])) == "10.0.0.2"
    assert str(ipam.allocate(net, ["10.0.0.1", "10.0.0.2", "10.0.0.4"])) == "10.0.0.3"
    with pytest.raises(Conflict, match="no free addresses"):
        ipam.allocate(net, [f"10.0.0.{i}" for i in range(1, 7)])


def test_pick_subnet_skips_taken():
    taken = [ipaddress.ip_network("172.17.0.0/16"), ipaddress.ip_network("172.18.5.0/24")]
    assert str(ipam.pick_subnet(taken)) == "172.19.0.0/16"


def test_check_in_subnet_rejects_network_and_broadcast():
    net = ipaddress.ip_network("10.0.0.0/24")
    for bad in ("10.0.0.0", "10.0.0.255", "10.0.1.1"):
        with pytest.raises(InvalidInput):
            ipam.check_in_subnet(ipaddress.ip_address(bad), net, "--ip")
