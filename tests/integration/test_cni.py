"""nsnet as a CNI plugin, driven as runtimes drive it: through libcni (config
lists, capability args, prevResult chaining, cached results) and by raw calls
for spec 1.1's STATUS and GC. The container namespaces are made by the
'runtime' (the test), inside the test's host namespace."""

import json
import os
import subprocess

import pytest

from .cni_env import container_namespaces, single
from .helpers import in_ns, ping, sh, wait_until
from .outside import HOST_IP, OUTSIDE_IP
from .traffic import served


@pytest.fixture
def runtime(host):
    """Container namespaces, made (and removed) by the 'runtime'."""
    with container_namespaces(host, 3, lo_up=True) as paths:
        yield paths


def ns(path: str) -> str:
    return os.path.basename(path)


def pub_elements(host) -> str:
    return sh("ip", "netns", "exec", host.name, "nft", "list", "map", "inet", "nsnet", "pub_any_addr").stdout


def test_add_check_del_through_libcni(host, cni, runtime, bridge_nf):
    c0, c1, _ = runtime
    conf = cni.conf()
    ports = {"portMappings": [{"hostPort": 18080, "containerPort": 80, "protocol": "tcp"}]}
    code, res = cni.libcni("add", conf, c0, "ctr0", cap=ports)
    assert code == 0, res
    assert res["ips"] == [{"address": "10.88.0.2/24", "gateway": "10.88.0.1", "interface": 1}]
    host_end, container_end = res["interfaces"]
    assert host_end["name"].startswith("nsv") and "sandbox" not in host_end
    assert container_end["name"] == "eth0" and container_end["sandbox"] == c0
    assert container_end["mac"] in in_ns(ns(c0), "ip", "link", "show", "eth0").stdout
    assert res["routes"] == [{"dst": "0.0.0.0/0", "gw": "10.88.0.1"}]
    assert res["dns"] == {"nameservers": ["127.0.0.11"]}  # in the container's own namespace
    assert cni.libcni("cached", conf, c0, "ctr0") == (0, res)  # libcni cached what nsnet returned
    code, res1 = cni.libcni("add", conf, c1, "ctr1")
    assert code == 0 and res1["ips"][0]["address"] == "10.88.0.3/24", res1
    assert ping(ns(c0), "10.88.0.3") and ping(ns(c1), "10.88.0.1")
    assert served(ns(c0), host.name, "127.0.0.1", 18080, 80) is not None
    assert cni.libcni("check", conf, c0, "ctr0") == (0, {})  # CHECK gets the cached result as prevResult
    sh("ip", "-n", ns(c0), "link", "del", "eth0")  # drift: CHECK must notice
    code, err = cni.libcni("check", conf, c0, "ctr0")
    assert code == 1 and err["code"] == 999 and "no longer matches" in err["msg"]
    assert cni.libcni("del", conf, c0, "ctr0") == (0, {})
    assert cni.libcni("del", conf, c0, "ctr0") == (0, {})  # twice is fine
    assert os.path.exists(c0)  # the runtime's namespace is not nsnet's to remove
    assert "18080" not in pub_elements(host)
    subprocess.run(["ip", "netns", "del", ns(c1)])  # the runtime removed the container first
    assert cni.libcni("del", conf, c1, "ctr1") == (0, {})
    assert host.engine.store.snapshot()["sandboxes"] == []
    assert host.engine.store.snapshot()["endpoints"] == []
    assert wait_until(lambda: not any(link.startswith("nsv") for link in host.host_links()), timeout=10)
    assert os.listdir(os.path.join(cni.cache, "results")) == []


@pytest.mark.parametrize("version", ["0.3.1", "0.4.0", "1.0.0"])
def test_results_in_each_version_libcni_reads(host, cni, runtime, version):
    conf = cni.conf(version=version)
    code, res = cni.libcni("add", conf, runtime[0], "ctr0")
    assert code == 0, res
    assert res["cniVersion"] == version
    ip = res["ips"][0]
    assert ip["address"] == "10.88.0.2/24" and ip["interface"] == 1
    assert ip.get("version") == (None if version == "1.0.0" else "4")
    if version != "0.3.1":  # CHECK came with 0.4.0
        assert cni.libcni("check", conf, runtime[0], "ctr0") == (0, {})
    assert cni.libcni("del", conf, runtime[0], "ctr0") == (0, {})
    assert host.engine.store.snapshot()["sandboxes"] == []


def test_spec_1_1_result_and_version(host, cni, runtime):
    conf = single(cni.conf(version="1.1.0"))
    code, res = cni.call("ADD", conf, netns=runtime[0])
    assert code == 0 and res["cniVersion"] == "1.1.0" and "version" not in res["ips"][0], res
    assert cni.call("CHECK", dict(conf, prevResult=res), netns=runtime[0]) == (0, None)
    assert cni.call("DEL", conf, netns=runtime[0]) == (0, None)
    for asked, answered in (("0.4.0", "0.4.0"), ("1.1.0", "1.1.0"), ("9.9.9", "1.1.0")):
        code, out = cni.call("VERSION", raw=json.dumps({"cniVersion": asked}))
        assert code == 0 and out == {"cniVersion": answered,
                                     "supportedVersions": ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]}
    assert cni.call("VERSION", raw="")[1]["cniVersion"] == "1.1.0"


def test_chained_with_the_reference_plugins(host, cni, runtime):
    """nsnet's result is the prevResult of tuning (sets a MAC) and bandwidth (shapes the
    host end, which it finds in nsnet's result); CHECK and DEL go through the chain."""
    conf = cni.conf(chain=[{"type": "tuning", "mac": "02:c0:ff:ee:00:01"},
                           {"type": "bandwidth", "ingressRate": 8000000, "ingressBurst": 100000}])
    code, res = cni.libcni("add", conf, runtime[0], "ctr0")
    assert code == 0, res
    assert res["interfaces"][1]["mac"] == "02:c0:ff:ee:00:01"
    assert "02:c0:ff:ee:00:01" in in_ns(ns(runtime[0]), "ip", "link", "show", "eth0").stdout
    host_end = res["interfaces"][0]["name"]
    assert "tbf" in sh("ip", "netns", "exec", host.name, "tc", "qdisc", "show", "dev", host_end).stdout
    assert cni.libcni("check", conf, runtime[0], "ctr0") == (0, {})
    assert ping(ns(runtime[0]), "10.88.0.1")
    assert cni.libcni("del", conf, runtime[0], "ctr0") == (0, {})
    assert host.engine.store.snapshot()["endpoints"] == []


def test_an_earlier_plugins_result_is_kept(host, cni, runtime):
    prev = {"cniVersion": "1.0.0", "interfaces": [{"name": "lo", "sandbox": runtime[0]}],
            "ips": [{"address": "127.0.0.1/8", "interface": 0}], "dns": {"search": ["example.org"]}}
    code, res = cni.call("ADD", single(cni.conf(), prevResult=prev), netns=runtime[0])
    assert code == 0, res
    assert [i["name"] for i in res["interfaces"]] == ["lo", "nsv1", "eth0"]
    assert res["ips"][1] == {"address": "10.88.0.2/24", "gateway": "10.88.0.1", "interface": 2}
    assert res["dns"] == {"search": ["example.org"], "nameservers": ["127.0.0.11"]}


def test_static_address_mac_and_ports(host, cni, runtime, outside, bridge_nf):
    conf = cni.conf()
    cap = {"ips": ["10.88.0.50/24"], "mac": "02:42:0a:58:00:32",
           "portMappings": [{"hostPort": 18081, "containerPort": 80, "protocol": "tcp"}]}
    code, res = cni.libcni("add", conf, runtime[0], "ctr0", cap=cap)
    assert code == 0, res
    assert res["ips"][0]["address"] == "10.88.0.50/24" and res["interfaces"][1]["mac"] == "02:42:0a:58:00:32"
    assert "02:42:0a:58:00:32" in in_ns(ns(runtime[0]), "ip", "link", "show", "eth0").stdout
    assert served(ns(runtime[0]), outside.name, HOST_IP, 18081, 80) == f"PING {OUTSIDE_IP}"  # ports kept
    # podman's form: CNI_ARGS
    code, res = cni.libcni("add", conf, runtime[1], "ctr1", args="IgnoreUnknown=1;K8S_POD_NAME=web;"
                                                                  "IP=10.88.0.51;MAC=02:42:0a:58:00:33")
    assert code == 0 and res["ips"][0]["address"] == "10.88.0.51/24", res
    assert res["interfaces"][1]["mac"] == "02:42:0a:58:00:33"
    assert ping(ns(runtime[0]), "10.88.0.51")
    before = host.engine.store.snapshot()
    for args, cap, code, text in (
            ("IP=10.88.0.51", None, 104, "already taken"),
            ("IP=10.99.0.5", None, 7, "no static address asked for is in network"),
            ("", {"ips": ["10.88.0.60", "10.88.0.61"]}, 7, "one address"),
            ("", {"ips": ["fd00::5/64"]}, 7, "has no IPv6 subnet"),
            ("", {"mac": "01:00:5e:00:00:01"}, 7, "not a unicast"),
            ("IP=10.88.0.62;FOO=1", None, 4, "unknown argument(s) FOO")):
        rc, err = cni.libcni("add", conf, runtime[2], "ctr2", args=args, cap=cap)
        assert rc == 1 and err["code"] == code and text in err["msg"], (args, cap, err)
        assert host.engine.store.snapshot() == before, (args, cap)


def test_one_container_on_two_networks_with_one_port(host, cni, runtime, outside, bridge_nf):
    """podman run --network a,b -p 18082:80: the same mapping comes with both ADDs."""
    a, b = cni.conf("a"), cni.conf("b", subnet="10.89.0.0/24")
    a_path, b_path = cni.write(a, "a.conflist"), cni.write(b, "b.conflist")
    cap = {"portMappings": [{"hostPort": 18082, "containerPort": 80, "protocol": "tcp"}]}
    c0 = runtime[0]
    assert cni.libcni("add", a_path, c0, "ctr0", "eth0", cap=cap)[0] == 0
    code, res = cni.libcni("add", b_path, c0, "ctr0", "eth1", cap=cap)
    assert code == 0 and res["ips"][0]["address"] == "10.89.0.2/24" and "routes" not in res, res
    assert served(ns(c0), outside.name, HOST_IP, 18082, 80) == f"PING {OUTSIDE_IP}"
    assert cni.libcni("del", a_path, c0, "ctr0", "eth0") == (0, {})
    assert "10.89.0.2" in pub_elements(host)  # the port moved to the other network's address
    assert served(ns(c0), outside.name, HOST_IP, 18082, 80) == f"PING {OUTSIDE_IP}"
    assert cni.libcni("del", b_path, c0, "ctr0", "eth1") == (0, {})
    assert "18082" not in pub_elements(host) and host.engine.store.snapshot()["sandboxes"] == []


def test_two_interfaces_of_one_container_on_one_network(host, cni, runtime, outside):
    """eth0 and eth1 of one container on the same network are two attachments:
    each has its address (and its port); DEL with CNI_IFNAME removes that one only."""
    conf = cni.conf()
    c0 = runtime[0]
    assert cni.libcni("add", conf, c0, "ctr0", "eth0")[0] == 0
    assert cni.libcni("del", conf, c0, "ctr0", "eth1") == (0, {})  # another attachment: none such
    ports = {"portMappings": [{"hostPort": 8461, "containerPort": 80, "protocol": "tcp"}]}
    code, second = cni.libcni("add", conf, c0, "ctr0", "eth1", cap=ports)
    assert code == 0, second
    first = cni.libcni("cached", conf, c0, "ctr0", "eth0")[1]
    assert [i["name"] for i in second["interfaces"] if "sandbox" in i] == ["eth1"]
    ip0, ip1 = (r["ips"][0]["address"].split("/")[0] for r in (first, second))
    assert ip0 != ip1 and "routes" not in second  # eth0's network gives the default route already
    assert in_ns(ns(c0), "ip", "-o", "-4", "addr", "show", "eth1").stdout.count(f"inet {ip1}/24") == 1
    assert ping(ns(c0), "10.88.0.1") and ping(host.name, ip1) and ping(host.name, ip0)
    assert ip1 in pub_elements(host) and served(ns(c0), outside.name, HOST_IP, 8461, 80) == f"PING {OUTSIDE_IP}"
    assert cni.libcni("check", conf, c0, "ctr0", "eth1") == (0, {})

    assert cni.libcni("del", conf, c0, "ctr0", "eth1") == (0, {})
    assert "eth1" not in in_ns(ns(c0), "ip", "-o", "link").stdout
    assert [(e["ifname"], e["ip"]) for e in host.engine.endpoint_rows(network="cninet")] == [("eth0", ip0)]
    assert host.engine.port_ls() == [] and "8461" not in pub_elements(host)
    assert ping(ns(c0), "10.88.0.1") and cni.libcni("check", conf, c0, "ctr0", "eth0") == (0, {})
    assert cni.libcni("del", conf, c0, "ctr0", "eth0") == (0, {})
    assert host.engine.store.snapshot()["sandboxes"] == []


def test_a_repeated_add_and_a_missed_del(host, cni, runtime):
    conf = cni.conf()
    c0, c1 = runtime[0], runtime[1]
    code, first = cni.libcni("add", conf, c0, "ctr0")
    assert code == 0, first
    assert cni.call("ADD", single(conf), netns=c0)[1]["ips"] == first["ips"]  # the same attachment again
    subprocess.run(["ip", "netns", "del", ns(c0)])  # the runtime lost the container: no DEL came
    code, again = cni.libcni("add", conf, c1, "ctr0")  # the container id comes back in a new namespace
    assert code == 0 and again["ips"] == first["ips"] and again["interfaces"][1]["sandbox"] == c1, again
    assert ping(ns(c1), "10.88.0.1")
    assert [s["netns"] for s in host.engine.sandbox_ls()] == [c1]


def test_status(host, cni, runtime):
    conf = single(cni.conf(version="1.1.0"))
    assert cni.call("STATUS", conf) == (0, None)
    code, err = cni.call("STATUS", dict(conf, cniVersion="1.0.0"))
    assert code == 1 and err["code"] == 1 and "STATUS" in err["msg"]
    code, err = cni.call("STATUS", conf, env={"NSNET_HOST_NETNS": f"{host.name}-gone"})
    assert code == 1 and err["code"] == 50 and "does not exist" in err["msg"], err
    blocked = os.path.join(cni.dir, "not-a-dir")
    open(blocked, "w").close()
    code, err = cni.call("STATUS", dict(conf, stateDir=os.path.join(blocked, "state")))
    assert code == 1 and err["code"] == 50 and "state" in err["msg"], err
    assert cni.call("ADD", conf, netns=runtime[0])[0] == 0
    bridge = host.engine.get_network("cninet")["bridge"]
    sh("ip", "-n", host.name, "link", "del", bridge)
    code, err = cni.call("STATUS", conf)
    assert code == 1 and err["code"] == 51 and bridge in err["msg"], err


def test_gc_removes_what_the_runtime_does_not_list(host, cni, runtime):
    conf = single(cni.conf(version="1.1.0"))
    ports = {"portMappings": [{"hostPort": 18083, "containerPort": 80}]}
    for i, path in enumerate(runtime):
        extra = {"runtimeConfig": ports} if i == 1 else {}
        assert cni.call("ADD", dict(conf, **extra), container=f"ctr{i}", netns=path)[0] == 0
    host.engine.sandbox_create("cli", networks=["cninet"])  # the CLI's own: GC must not touch it
    valid = [{"containerID": "ctr0", "ifname": "eth0"}, {"containerID": "ctr9", "ifname": "eth0"}]
    assert cni.call("GC", dict(conf, **{"cni.dev/valid-attachments": valid}), container="", ifname="") == (0, None)
    left = {ep["sandbox"]: ep["ip"] for ep in host.engine.network_inspect("cninet")["endpoints"]}
    assert left == {"cni-ctr0": "10.88.0.2", "cli": "10.88.0.5"}
    assert host.engine.port_ls() == [] and "18083" not in pub_elements(host)
    assert {s["name"] for s in host.engine.sandbox_ls()} == {"cni-ctr0", "cli"}
    assert cni.call("ADD", conf, container="ctr1", netns=runtime[1])[1]["ips"][0]["address"] == "10.88.0.3/24"
    assert cni.call("GC", dict(conf, name="nonet", **{"cni.dev/valid-attachments": []})) == (0, None)
    code, err = cni.call("GC", dict(conf, **{"cni.dev/valid-attachments": [{"containerID": 1}]}))
    assert code == 1 and err["code"] == 7


# (environment changes, config changes, raw stdin, expected code, text in the message)
BAD = [
    ({}, None, "{not json", 6, "cannot decode"),
    ({}, None, "[]", 6, "JSON object"),
    ({}, {"cniVersion": "9.9.9"}, None, 1, "not supported"),
    ({}, {"cniVersion": None}, None, 1, "missing"),
    ({}, {"name": None}, None, 7, "no 'name'"),
    ({}, {"name": 42}, None, 7, "name must be a string"),
    ({}, {"name": "bad name"}, None, 7, "invalid characters"),
    ({}, {"subnet": 42}, None, 7, "subnet must be a string"),
    ({}, {"subnet": "10.88.0.0/33"}, None, 7, "not a valid CIDR"),
    ({}, {"internal": "no"}, None, 7, "internal must be true or false"),
    ({}, {"masquerade": 1}, None, 7, "masquerade must be true or false"),
    ({}, {"mtu": "1500"}, None, 7, "mtu must be an integer"),
    ({}, {"mtu": 10}, None, 7, "mtu 10 is out of range"),
    ({}, {"dns": True}, None, 7, "dns must be an object"),
    ({}, {"dns": "8.8.8.8"}, None, 7, "dns must be an object"),
    ({}, {"ipam": {"type": "host-local"}}, None, 2, "ipam"),
    ({}, {"stateDir": "state"}, None, 7, "absolute path"),
    ({}, {"runtimeConfig": "x"}, None, 7, "runtimeConfig must be an object"),
    ({}, {"runtimeConfig": {"portMappings": {"hostPort": 80}}}, None, 7, "portMappings must be a list"),
    ({}, {"runtimeConfig": {"portMappings": [1]}}, None, 7, "is not an object"),
    ({}, {"runtimeConfig": {"portMappings": [{"hostPort": "80", "containerPort": 80}]}}, None, 7, "integer"),
    ({}, {"runtimeConfig": {"portMappings": [{"hostPort": True, "containerPort": 80}]}}, None, 7, "integer"),
    ({}, {"runtimeConfig": {"portMappings": [{"containerPort": 80}]}}, None, 7, "needs hostPort"),
    ({}, {"runtimeConfig": {"portMappings": [{"hostPort": 70000, "containerPort": 80}]}}, None, 7, "range"),
    ({}, {"runtimeConfig": {"portMappings": [{"hostPort": 80, "containerPort": 80, "protocol": "sctp"}]}},
     None, 7, "not tcp or udp"),
    ({}, {"runtimeConfig": {"mac": "zz"}}, None, 7, "not of the form"),
    ({}, {"runtimeConfig": {"ips": ["nope"]}}, None, 7, "not an IP address"),
    ({}, {"runtimeConfig": {"aliases": {"cninet": "web"}}}, None, 7, "list of names"),
    ({}, {"runtimeConfig": {"aliases": {"cninet": ["no_underscores"]}}}, None, 7, "not a valid DNS name"),
    ({"CNI_NETNS": ""}, None, None, 4, "CNI_NETNS is not set"),
    ({"CNI_NETNS": "relative"}, None, None, 4, "must be a path"),
    ({"CNI_NETNS": "/run/netns/nt-nope"}, None, None, 3, "does not exist"),
    ({"CNI_IFNAME": ""}, None, None, 4, "CNI_IFNAME is not set"),
    ({"CNI_IFNAME": "x" * 16}, None, None, 4, "too long"),
    ({"CNI_CONTAINERID": ""}, None, None, 4, "CNI_CONTAINERID is not set"),
    ({"CNI_ARGS": "junk"}, None, None, 4, "not KEY=VALUE"),
    ({"CNI_COMMAND": "FOO"}, None, None, 4, "unknown CNI_COMMAND"),
    ({"CNI_COMMAND": ""}, None, None, 4, "CNI_COMMAND is not set"),
    ({"CNI_COMMAND": "CHECK"}, None, None, 7, "CHECK needs prevResult"),
    ({"CNI_COMMAND": "CHECK"}, {"prevResult": {}}, None, 3, "has no interface eth0"),
    ({"CNI_COMMAND": "CHECK"}, {"cniVersion": "0.3.1"}, None, 1, "does not allow CHECK"),
    ({"CNI_COMMAND": "GC"}, None, None, 7, "valid-attachments"),
]


@pytest.mark.parametrize("env,change,raw,code,text", BAD, ids=[f"{i}-{b[4]}" for i, b in enumerate(BAD)])
def test_every_failure_is_error_json(host, cni, runtime, env, change, raw, code, text):
    conf = single(cni.conf(version="1.1.0"))
    for key, value in (change or {}).items():
        if value is None:
            conf.pop(key)
        else:
            conf[key] = value
    cni_env = {"CNI_COMMAND": "ADD", "CNI_NETNS": runtime[0], "CNI_IFNAME": "eth0", "CNI_CONTAINERID": "x"} | env
    rc, err = cni.call(cni_env.pop("CNI_COMMAND"), conf, raw=raw, env=cni_env)
    assert rc == 1 and err is not None, "an error must be JSON on stdout"
    assert err["code"] == code and text in err["msg"], err
    assert "\n" not in err["msg"]
    snap = host.engine.store.snapshot()
    assert snap["sandboxes"] == [] and snap["networks"] == []  # nothing changed
    assert in_ns(ns(runtime[0]), "ip", "-o", "link").stdout.count("eth0") == 0


def doc_configs() -> list[dict]:
    path = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "cni.md")
    with open(path) as f:
        blocks = f.read().split("```json\n")[1:]
    return [json.loads(block.split("```")[0]) for block in blocks]


def test_the_documented_configs_load_and_attach(host, cni, runtime):
    """Every JSON block of docs/cni.md is loaded and validated by libcni (which asks
    the plugin's VERSION) and attaches a container through it."""
    configs = doc_configs()
    assert len(configs) >= 2
    for i, conf in enumerate(configs):
        conf["plugins"][0]["stateDir"] = host.state_dir  # the test's own store
        path = cni.write(conf, f"doc{i}.conflist")
        code, out = cni.libcni("load", path)
        assert code == 0 and out["name"] == conf["name"], out
        code, out = cni.libcni("validate", path)
        assert code == 0, out
        assert set(conf["plugins"][0]["capabilities"]) <= set(out["capabilities"])
        code, res = cni.libcni("add", path, runtime[i], f"doc{i}")
        assert code == 0 and res["ips"][0]["address"].startswith(conf["plugins"][0]["subnet"][:5]), res
        assert cni.libcni("check", path, runtime[i], f"doc{i}") == (0, {})
        assert cni.libcni("del", path, runtime[i], f"doc{i}") == (0, {})
