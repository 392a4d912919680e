"""One Python Engine kept for a long time (a test harness, a partition/heal
loop): what it keeps between calls (netlink sockets into namespaces, interface
indexes) stays right while it, other processes and users change the kernel."""

from .helpers import blocked, in_ns, ping, sh, wait_until


def _ip(host, sandbox, network="n"):
    return host.engine.endpoint_get(network, sandbox)["ip"]


def test_disconnect_and_reconnect_100_times_in_one_engine(host):
    eng = host.engine
    eng.network_create("n", subnet="10.61.0.0/24")
    eng.sandbox_create("a", networks=["n"])
    eng.sandbox_create("b", networks=["n"])
    a, b = host.prefix + "a", host.prefix + "b"
    for i in range(100):
        eng.network_disconnect("n", "a")
        if i % 25 == 0:
            assert blocked(b, "10.61.0.2")
        eng.network_connect("n", "a")  # eth0 again, a new interface index: the kept one is stale
        if i % 10 == 0:
            assert ping(a, _ip(host, "b")) and ping(b, _ip(host, "a"))
    assert eng.drift() == []
    assert [ep["ifname"] for ep in eng.sandbox_inspect("a")["endpoints"]] == ["eth0"]
    assert sorted(host.host_links()) == sorted(["lo", "nsbr-n", *(ep["host_ifname"] for ep in eng.endpoint_rows())])


def test_a_sandbox_made_again_by_another_process_is_the_new_one(host):
    eng = host.engine
    eng.network_create("n", subnet="10.62.0.0/24")
    eng.network_create("m", subnet="10.63.0.0/24")
    eng.sandbox_create("a", networks=["n"])
    eng.sandbox_create("b", networks=["n", "m"])
    assert eng.sandbox_inspect("a")["endpoints"]
    # Another nsnet process removes the sandbox and makes one of the same name.
    assert host.cli("sandbox", "rm", "a").returncode == 0
    assert host.cli("sandbox", "create", "a", "--network", "n").returncode == 0
    # The engine's socket into the old namespace would still find the old eth0 there
    # (and keep the old namespace, and its host-side veth, alive).
    assert eng.drift(target="a") == []
    eng.network_connect("m", "a")
    assert ping(host.prefix + "a", _ip(host, "b", "m")) and ping(host.prefix + "b", _ip(host, "a", "m"))
    # The old namespace's veth goes when the kernel frees it (in the background, moments after
    # its deletion); kept alive by a socket of the engine's, it would stay for good.
    expected = sorted(["lo", "nsbr-n", "nsbr-m", *(ep["host_ifname"] for ep in eng.endpoint_rows())])
    assert wait_until(lambda: sorted(host.host_links()) == expected, timeout=10), host.host_links()


def test_a_namespace_replaced_behind_nsnets_back_is_drift_and_is_repaired(host):
    eng = host.engine
    eng.network_create("n", subnet="10.64.0.0/24")
    eng.sandbox_create("a", networks=["n"])
    eng.sandbox_create("b", networks=["n"])
    a = host.prefix + "a"
    assert ping(a, _ip(host, "b"))
    sh("ip", "netns", "del", a)
    sh("ip", "netns", "add", a)  # same name, another (empty) namespace
    drift = eng.drift(target="a")
    assert {d.step.kind for d in drift} >= {"veth_add", "addr_add"}
    assert eng.repair(target="a")["errors"] == []
    assert eng.drift() == []
    assert in_ns(a, "ip", "-o", "-4", "addr", "show", "dev", "eth0").stdout.count(f"inet {_ip(host, 'a')}/") == 1
    assert ping(a, _ip(host, "b")) and ping(host.prefix + "b", _ip(host, "a"))
