"""The CNI protocol without root: the config read strictly, results in each
version, errors with the spec's codes."""

import json

import pytest

from nsnet.cni.commands import sandbox_name
from nsnet.cni.config import Request
from nsnet.cni.plugin import as_cni_error, run
from nsnet.cni.result import CniError, build, dns_of
from nsnet.errors import Conflict, InvalidInput, KernelError, NotFound

EP = {"ip": "10.88.0.2", "ifname": "eth0", "host_ifname": "nsv1", "is_gateway": 1}
NET = {"subnet": "10.88.0.0/24", "gateway": "10.88.0.1", "options": {"dns": True}}
ENV = {"CNI_CONTAINERID": "c1", "CNI_NETNS": "/run/netns/c1", "CNI_IFNAME": "eth0"}


def request(command="ADD", env=None, **conf):
    body = {"cniVersion": "1.0.0", "name": "n", "type": "nsnet", **conf}
    return Request(command, ENV | (env or {}), json.dumps(body))


def code_of(fn) -> int:
    with pytest.raises(CniError) as info:
        fn()
    return info.value.code


def test_results_in_the_form_of_each_version():
    res = build("1.0.0", NET, EP, "/run/netns/c", "aa:bb:cc:dd:ee:02", dns_of(NET, {"search": ["x"]}))
    assert res == {"cniVersion": "1.0.0",
                   "interfaces": [{"name": "nsv1"}, {"name": "eth0", "sandbox": "/run/netns/c",
                                                     "mac": "aa:bb:cc:dd:ee:02"}],
                   "ips": [{"address": "10.88.0.2/24", "gateway": "10.88.0.1", "interface": 1}],
                   "routes": [{"dst": "0.0.0.0/0", "gw": "10.88.0.1"}],
                   "dns": {"nameservers": ["127.0.0.11"], "search": ["x"]}}
    old = build("0.4.0", dict(NET, options={"dns": False}), dict(EP, is_gateway=0), "/run/netns/c", None,
                dns_of(dict(NET, options={"dns": False}), None))
    assert old["ips"][0]["version"] == "4" and "routes" not in old and "dns" not in old


def test_a_dual_stack_result_has_an_address_and_a_default_route_of_each_family():
    net = dict(NET, subnet6="fd00:88::/64", gateway6="fd00:88::1")
    ep = dict(EP, ip6="fd00:88::2", is_gateway6=1)
    res = build("1.1.0", net, ep, "/run/netns/c", None, dns_of(net, None))
    assert res["ips"] == [{"address": "10.88.0.2/24", "gateway": "10.88.0.1", "interface": 1},
                          {"address": "fd00:88::2/64", "gateway": "fd00:88::1", "interface": 1}]
    assert res["routes"] == [{"dst": "0.0.0.0/0", "gw": "10.88.0.1"}, {"dst": "::/0", "gw": "fd00:88::1"}]
    assert res["dns"] == {"nameservers": ["127.0.0.11", "::1"]}
    six = build("0.4.0", {"subnet6": "fd00:88::/64", "gateway6": "fd00:88::1", "options": {}},
                {"ip6": "fd00:88::2", "ifname": "eth0", "host_ifname": "nsv1", "is_gateway6": 1}, "/x", None)
    assert six["ips"] == [{"address": "fd00:88::2/64", "gateway": "fd00:88::1", "interface": 1, "version": "6"}]
    assert six["routes"] == [{"dst": "::/0", "gw": "fd00:88::1"}]


def test_a_previous_result_is_kept_and_converted():
    prev = {"interfaces": [{"name": "lo"}], "ips": [{"address": "127.0.0.1/8", "interface": 0, "version": "4"}],
            "routes": [{"dst": "10.0.0.0/8"}]}
    res = build("1.1.0", NET, EP, "/run/netns/c", None, None, prev)
    assert res["ips"] == [{"address": "127.0.0.1/8", "interface": 0},
                          {"address": "10.88.0.2/24", "gateway": "10.88.0.1", "interface": 2}]
    assert res["routes"][0] == {"dst": "10.0.0.0/8"} and len(res["interfaces"]) == 3


def test_the_config_is_read_strictly():
    req = request(subnet="10.88.0.0/24", internal=False, mtu=1400, dnsServer=False,
                  runtimeConfig={"portMappings": [{"hostPort": 80, "containerPort": 8080},
                                                  {"hostPort": 53, "containerPort": 53, "protocol": "UDP",
                                                   "hostIP": "127.0.0.1"}],
                                 "aliases": {"n": ["web"], "other": ["x"]}, "mac": "02:AA:00:00:00:01"})
    assert req.network == {"subnet": "10.88.0.0/24", "internal": False, "mtu": 1400, "dns": False}
    assert req.ports == ["80:8080/tcp", "127.0.0.1:53:53/udp"]
    assert req.aliases == ["web"] and req.mac == "02:aa:00:00:00:01"
    for bad in ({"internal": "no"}, {"masquerade": 0}, {"mtu": True}, {"dns": True}, {"stateDir": "x"},
                {"runtimeConfig": {"portMappings": [{"hostPort": 1.5, "containerPort": 80}]}}):
        assert code_of(lambda b=bad: request(**b)) == 7, bad
    assert code_of(lambda: request(ipam={})) == 2


def test_static_addresses():
    v4 = {"subnet": "10.88.0.0/24"}
    dual = {"subnet": "10.88.0.0/24", "subnet6": "fd00::/64"}
    req = request(env={"CNI_ARGS": "IgnoreUnknown=1;K8S_POD_NAME=x;IP=10.88.0.9"})
    assert req.static_ips(v4) == ["10.88.0.9"]
    assert request().static_ips(v4) is None
    assert request(runtimeConfig={"ips": ["10.99.0.1", "10.88.0.7/24"]}).static_ips(v4) == ["10.88.0.7"]
    assert code_of(lambda: request(runtimeConfig={"ips": ["10.99.0.1"]}).static_ips(v4)) == 7
    assert code_of(lambda: request(runtimeConfig={"ips": ["fd00::1"]}).static_ips(v4)) == 7  # no IPv6 subnet
    # One address per family on a dual-stack network.
    both = request(runtimeConfig={"ips": ["10.88.0.9/24", "fd00::9/64"]})
    assert both.static_ips(dual) == ["10.88.0.9", "fd00::9"] and both.static_ips(v4) == ["10.88.0.9"]
    assert code_of(lambda: request(runtimeConfig={"ips": ["fd00::9", "fd00::8"]}).static_ips(dual)) == 7
    assert code_of(lambda: request(env={"CNI_ARGS": "FOO=1"})) == 4


def test_dual_stack_network_config():
    req = request(subnet=["10.88.0.0/24", "fd00::/64"], gateway=["10.88.0.1", "fd00::1"], ipv6=True)
    assert req.network == {"subnet": ["10.88.0.0/24", "fd00::/64"], "gateway": ["10.88.0.1", "fd00::1"],
                           "ipv6": True}
    for bad in ({"subnet": []}, {"subnet": ["10.88.0.0/24", 6]}, {"gateway": [True]}, {"ipv6": "yes"}):
        assert code_of(lambda b=bad: request(**b)) == 7, bad


def test_environment_and_versions():
    assert code_of(lambda: request(env={"CNI_NETNS": ""})) == 4
    assert request("DEL", env={"CNI_NETNS": ""}).netns == ""  # DEL may come without a namespace
    assert code_of(lambda: request("CHECK", cniVersion="0.3.1")) == 1
    assert code_of(lambda: request("GC")) == 1  # GC came with 1.1.0
    assert code_of(lambda: request("STATUS", cniVersion="1.0.0")) == 1
    assert code_of(lambda: Request("ADD", ENV, '{"name": "n"}')) == 1
    assert code_of(lambda: Request("ADD", ENV, "nope")) == 6
    assert run("VERSION", {}, '{"cniVersion": "0.4.0"}') == {
        "cniVersion": "0.4.0", "supportedVersions": ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]}
    assert run("VERSION", {}, "garbage")["cniVersion"] == "1.1.0"


def test_errors_map_to_spec_codes():
    assert as_cni_error(InvalidInput("x")).code == 7
    assert as_cni_error(NotFound("x")).code == 3
    assert as_cni_error(Conflict("x")).code == 104
    assert as_cni_error(KernelError("x", 17)).code == 106
    import sqlite3

    assert as_cni_error(sqlite3.OperationalError("database is locked")).code == 11
    assert as_cni_error(PermissionError("denied")).code == 5
    err = as_cni_error(ZeroDivisionError("division by zero"))
    assert err.code == 999 and err.msg == "unexpected error: ZeroDivisionError: division by zero"


def test_sandbox_names():
    assert sandbox_name("a" * 64) == "cni-" + "a" * 40
    assert sandbox_name("ctr0") == "cni-ctr0"
    odd = sandbox_name("k8s_pod/1")
    assert odd.startswith("cni-k8s_pod-1-") and odd != sandbox_name("k8s_pod:1")
    assert len(sandbox_name("x" * 100)) <= 48 and sandbox_name("x" * 100) != sandbox_name("x" * 101)
