import pytest

from nsnet.cni.plugin import _ports, sandbox_name
from nsnet.cni.result import CniError, build

EP = {"ip": "10.88.0.2", "ifname": "eth0", "host_ifname": "nsv1", "is_gateway": 1}
NET = {"subnet": "10.88.0.0/24", "gateway": "10.88.0.1", "options": {"dns": True}}


def test_result_1_0_0_and_0_4_0():
    res = build("1.0.0", EP, NET, "/run/netns/c", "aa:bb:cc:dd:ee:01", "aa:bb:cc:dd:ee:02")
    assert res["ips"] == [{"address": "10.88.0.2/24", "gateway": "10.88.0.1", "interface": 1}]
    assert res["interfaces"] == [{"name": "nsv1", "mac": "aa:bb:cc:dd:ee:01"},
                                 {"name": "eth0", "mac": "aa:bb:cc:dd:ee:02", "sandbox": "/run/netns/c"}]
    assert res["dns"] == {"nameservers": ["10.88.0.1"]}
    old = build("0.4.0", dict(EP, is_gateway=0), dict(NET, options={"dns": False}), "/run/netns/c", None, None)
    assert old["ips"][0]["version"] == "4" and old["routes"] == [] and "dns" not in old


def test_port_mappings_and_names():
    conf = {"runtimeConfig": {"portMappings": [{"hostPort": 80, "containerPort": 8080},
                                               {"hostPort": 53, "containerPort": 53, "protocol": "UDP",
                                                "hostIP": "127.0.0.1"}]}}
    assert _ports(conf) == ["80:8080/tcp", "127.0.0.1:53:53/udp"]
    with pytest.raises(CniError):
        _ports({"runtimeConfig": {"portMappings": [{"hostPort": "x"}]}})
    assert sandbox_name("a" * 64) == "cni-" + "a" * 40
    assert sandbox_name("k8s_pod/1") == "cni-k8s_pod-1"
