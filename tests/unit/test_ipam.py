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
    with pytest.raises(InvalidInput, match="IPv4"):
        ipam.parse_subnet("fd00::/64")


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
