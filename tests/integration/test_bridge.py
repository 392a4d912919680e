import json

from .helpers import blocked, in_ns, ping, sh
from .traffic import roundtrip


def test_bridge_network_end_to_end(clean_host):
    h = clean_host
    r = h.cli("network", "create", "v-net-0", "--subnet", "192.168.15.0/24", "--gateway", "192.168.15.5",
              "--bridge", "v-net-0")
    assert r.returncode == 0, r.stderr
    assert "192.168.15.5/24" in sh("ip", "-n", h.name, "-o", "addr", "show", "dev", "v-net-0").stdout
    for name in ("red", "blue"):
        assert h.cli("sandbox", "create", name, "--network", "v-net-0").returncode == 0
    red, blue = h.prefix + "red", h.prefix + "blue"
    eps = {e["sandbox"]: e for e in json.loads(h.cli("--json", "network", "inspect", "v-net-0").stdout)["endpoints"]}
    assert eps["red"]["ip"] == "192.168.15.1" and eps["blue"]["ip"] == "192.168.15.2"
    assert ping(red, "192.168.15.2") and ping(red, "192.168.15.5")
    assert ping(h.name, "192.168.15.1")  # the host reaches its sandboxes
    assert "default via 192.168.15.5 dev eth0" in in_ns(red, "ip", "route").stdout
    assert roundtrip(blue, red, "192.168.15.2") == "PING 192.168.15.1"
    assert roundtrip(blue, red, "192.168.15.2", proto="udp") == "PING 192.168.15.1"
    # host side: veths are enslaved to the bridge and marked as ours
    brif = sh("ip", "-n", h.name, "-o", "link", "show", "master", "v-net-0").stdout
    assert brif.count("nsv") == 2
    assert h.cli("network", "rm", "v-net-0").returncode == 4  # in use
    assert h.cli("network", "disconnect", "v-net-0", "red").returncode == 0
    assert blocked(blue, "192.168.15.1")
    assert h.cli("network", "rm", "v-net-0", "--force").returncode == 0
    assert h.cli("sandbox", "rm", "red", "blue").returncode == 0


def test_default_subnet_skips_routes_present_in_host(host):
    sh("ip", "-n", host.name, "link", "add", "ntdummybr", "type", "bridge")
    sh("ip", "-n", host.name, "addr", "add", "172.17.0.1/16", "dev", "ntdummybr")
    sh("ip", "-n", host.name, "link", "set", "ntdummybr", "up")
    net = host.engine.network_create("auto")
    assert net["subnet"] == "172.18.0.0/16" and net["gateway"] == "172.18.0.1"
    assert host.cli("network", "create", "clash", "--subnet", "172.17.5.0/24").returncode == 4


def test_devops_db_multi_homed_sandbox(host):
    e = host.engine
    e.network_create("devops", subnet="192.168.1.0/24")
    e.network_create("db", subnet="192.168.2.0/24")
    e.sandbox_create("web1", networks=["devops"])
    e.sandbox_create("db1", networks=["db"])
    r = host.cli("sandbox", "create", "ns")
    assert r.returncode == 0
    assert host.cli("network", "connect", "devops", "ns", "--ifname", "ceth0").returncode == 0
    assert host.cli("network", "connect", "db", "ns", "--ifname", "ceth1", "--ip", "192.168.2.50").returncode == 0
    ns = host.prefix + "ns"
    assert ping(ns, "192.168.1.2") and ping(ns, "192.168.2.2")
    routes = in_ns(ns, "ip", "route").stdout
    assert "default via 192.168.1.1 dev ceth0" in routes and routes.count("default") == 1
    assert "192.168.2.50/24" in in_ns(ns, "ip", "-o", "addr", "show", "ceth1").stdout
    assert roundtrip(host.prefix + "db1", ns, "192.168.2.2") == "PING 192.168.2.50"


def test_mtu_applies_to_bridge_and_veths(host):
    host.engine.network_create("small", subnet="10.40.0.0/24", mtu=1400)
    host.engine.sandbox_create("s", networks=["small"])
    assert "mtu 1400" in in_ns(host.prefix + "s", "ip", "link", "show", "eth0").stdout
    assert "mtu 1400" in sh("ip", "-n", host.name, "link", "show", "nsbr-small").stdout


def test_sandbox_rm_frees_address_for_reuse(host):
    e = host.engine
    e.network_create("n", subnet="10.41.0.0/24")
    e.sandbox_create("a", networks=["n"])
    e.sandbox_create("b", networks=["n"])
    e.sandbox_rm("a")
    e.sandbox_create("c", networks=["n"])
    assert e.sandbox_inspect("c")["endpoints"][0]["ip"] == "10.41.0.2"
    assert ping(host.prefix + "c", "10.41.0.3")


def test_fixed_mac_on_an_endpoint(host):
    e = host.engine
    e.network_create("n", subnet="10.12.0.0/24")
    e.sandbox_create("a", networks=["n"])
    e.sandbox_create("b")
    e.network_connect("n", "b", mac="02:42:0a:0c:00:63")
    b = host.prefix + "b"
    assert "link/ether 02:42:0a:0c:00:63" in in_ns(b, "ip", "link", "show", "eth0").stdout
    assert ping(host.prefix + "a", "10.12.0.3")
    assert "02:42:0a:0c:00:63" in in_ns(host.prefix + "a", "ip", "neigh", "show", "10.12.0.3").stdout
    assert e.drift() == []
