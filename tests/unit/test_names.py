import pytest

from nsnet.errors import InvalidInput
from nsnet.names import bridge_name, check_hostname, check_ifname, check_name, default_link_ifname, host_veth_name


@pytest.mark.parametrize("bad", ["", "a b", "-x", "x/y", "a" * 49, "é"])
def test_bad_names_are_refused(bad):
    with pytest.raises(InvalidInput):
        check_name("sandbox", bad)


def test_good_names_pass():
    assert check_name("network", "devops_1.a-b") == "devops_1.a-b"


def test_ifname_limit_is_15_bytes():
    assert check_ifname("a" * 15)
    with pytest.raises(InvalidInput, match="too long"):
        check_ifname("a" * 16)
    with pytest.raises(InvalidInput):
        check_ifname("a/b")


def test_kernel_names_fit_ifnamsiz():
    assert bridge_name("devops") == "nsbr-devops"
    long = bridge_name("a-very-long-network-name")
    assert long.startswith("nsbr-") and len(long) == 15
    assert long != bridge_name("a-very-long-network-namf")
    assert host_veth_name(255) == "nsvff"
    assert len(default_link_ifname("x" * 40)) <= 15


@pytest.mark.parametrize("good", ["web", "db-1.example.org", "A" * 63, "a." * 31 + "ab", "1x"])
def test_good_hostnames_pass(good):
    assert check_hostname(good) == good


@pytest.mark.parametrize("bad", ["", "a_b", "-a", "a-", "a..b", ".a", "a.", "a" * 64, "a." * 32 + "a", "é", "a b"])
def test_bad_hostnames_are_refused(bad):
    with pytest.raises(InvalidInput):
        check_hostname(bad)
