"""Engine validation against a fake kernel: bad input is refused before the
first kernel call and leaves the store exactly as it was."""

import pytest

from nsnet.errors import Conflict, InvalidInput, NotFound


@pytest.fixture
def lab(engine):
    engine.network_create("devops", subnet="192.168.1.0/24")
    engine.network_create("db", subnet="192.168.2.0/24")
    engine.network_create("dual", subnet=["10.1.0.0/24", "fd00:1::/64"])
    engine.sandbox_create("web", networks=[("devops", None), ("dual", None)])
    engine.sandbox_create("red")
    engine.sandbox_create("blue")
    return engine


BAD = [
    ("network_create", ("x",), {"subnet": "10.0.0.0/33"}, InvalidInput, "not a valid CIDR"),
    ("network_create", ("x",), {"subnet": "192.168.1.128/25"}, Conflict, "overlaps network 'devops'"),
    ("network_create", ("x",), {"subnet": "10.0.2.0/24"}, Conflict, "overlaps route 10.0.2.0/24"),
    ("network_create", ("x",), {"subnet": "10.9.0.0/24", "gateway": "10.9.1.1"}, InvalidInput, "gateway"),
    ("network_create", ("devops",), {}, Conflict, "already exists"),
    ("network_create", ("bad name",), {}, InvalidInput, "invalid characters"),
    ("network_create", ("x",), {"driver": "macvlan"}, InvalidInput, "unknown driver"),
    ("network_create", ("x",), {"mtu": 10}, InvalidInput, "mtu"),
    ("network_create", ("x",), {"bridge": "b" * 16}, InvalidInput, "too long"),
    ("network_create", ("x",), {"driver": "host", "subnet": "10.1.0.0/24"}, InvalidInput, "takes no"),
    ("network_rm", ("devops",), {}, Conflict, "has 1 sandbox"),
    ("network_rm", ("nope",), {}, NotFound, "not found"),
    ("network_connect", ("devops", "web"), {}, Conflict, "already connected"),
    ("network_connect", ("devops", "red"), {"ip": "192.168.1.2"}, Conflict, "already taken"),
    ("network_connect", ("devops", "red"), {"ip": "192.168.1.1"}, Conflict, "gateway"),
    ("network_connect", ("devops", "red"), {"ip": "192.168.3.7"}, InvalidInput, "not a usable address"),
    ("network_connect", ("devops", "red"), {"ifname": "x" * 20}, InvalidInput, "too long"),
    ("network_connect", ("nope", "red"), {}, NotFound, "network 'nope'"),
    ("network_connect", ("devops", "red"), {"mac": "02:00:00:00:00"}, InvalidInput, "not of the form"),
    ("network_connect", ("devops", "red"), {"mac": "03:00:00:00:00:01"}, InvalidInput, "not a unicast"),
    ("network_connect", ("devops", "nope"), {}, NotFound, "sandbox 'nope'"),
    ("network_disconnect", ("db", "web"), {}, Conflict, "not connected"),
    ("sandbox_create", ("web",), {}, Conflict, "already exists"),
    ("sandbox_create", ("x" * 60,), {}, InvalidInput, "too long"),
    ("sandbox_create", ("new",), {"networks": [("devops", "192.168.1.2")]}, Conflict, "already taken"),
    ("sandbox_create", ("new",), {"networks": [("devops", None), ("devops", None)]}, InvalidInput, "twice"),
    ("sandbox_rm", ("nope",), {}, NotFound, "not found"),
    ("link_add", ("red", "red"), {}, InvalidInput, "two different"),
    ("link_add", ("red", "blue"), {"subnet": "10.0.0.0/24", "ip_a": "10.0.0.1/24"}, InvalidInput, "either"),
    ("link_add", ("red", "blue"), {"ip_a": "10.0.0.1/24", "ip_b": "10.0.1.2/24"}, InvalidInput, "same subnet"),
    ("link_add", ("red", "blue"), {"ip_a": "10.0.0.1"}, InvalidInput, "both"),
    ("route_add", ("web", "10.5.0.0/16", "10.9.9.9"), {}, InvalidInput, "not on any network"),
    ("route_add", ("web", "default", "192.168.1.9"), {}, Conflict, "already has a default route"),
    ("route_add", ("web", "10.5.0.0/33", "192.168.1.9"), {}, InvalidInput, "not a valid CIDR"),
    ("route_rm", ("web", "10.5.0.0/16"), {}, NotFound, "no route"),
    # IPv6 (the lab's "dual" network: 10.1.0.0/24 and fd00:1::/64)
    ("network_create", ("x",), {"subnet": ["fd00:2::/64", "fd00:3::/64"]}, InvalidInput, "two IPv6 subnets"),
    ("network_create", ("x",), {"subnet": "fd00:1:0:0:8000::/65"}, Conflict, "overlaps network 'dual'"),
    ("network_create", ("x",), {"subnet": "fd00:2::/48"}, InvalidInput, "/64 or longer"),
    ("network_create", ("x",), {"subnet": "fd99::/64"}, Conflict, "overlaps route fd99::/64"),
    ("network_create", ("x",), {"subnet": "fd00:2::/64", "gateway": "10.0.0.1"}, InvalidInput, "no IPv4 subnet"),
    ("network_create", ("x",), {"subnet": "fd00:2::/64", "gateway": "fd00:3::1"}, InvalidInput, "gateway"),
    ("network_create", ("x",), {"driver": "host", "ipv6": True}, InvalidInput, "takes no"),
    ("network_connect", ("dual", "red"), {"ip": "fd00:1::2"}, Conflict, "already taken"),
    ("network_connect", ("dual", "red"), {"ip": "fd00:1::1"}, Conflict, "gateway"),
    ("network_connect", ("dual", "red"), {"ip": "fd00:1::"}, InvalidInput, "not a usable address"),
    ("network_connect", ("dual", "red"), {"ip": "fd00:2::5"}, InvalidInput, "not a usable address"),
    ("network_connect", ("devops", "red"), {"ip": "fd00:1::5"}, InvalidInput, "no IPv6 subnet"),
    ("network_connect", ("dual", "red"), {"ip": ["fd00:1::5", "fd00:1::6"]}, InvalidInput, "two IPv6"),
    ("link_add", ("red", "blue"), {"ip_a": "fd00:4::1/64", "ip_b": "10.4.0.2/24"}, InvalidInput, "same families"),
    ("link_add", ("red", "blue"), {"ip_a": "fd00:4::1/64", "ip_b": "fd00:5::2/64"}, InvalidInput, "same subnet"),
    ("route_add", ("web", "default", "fd00:1::9"), {}, Conflict, "already has a default route"),
    ("route_add", ("web", "10.5.0.0/16", "fd00:1::9"), {}, InvalidInput, "different families"),
    ("route_add", ("web", "fd00:5::/64", "fd00:7::9"), {}, InvalidInput, "not on any network"),
    # issue #15, item 12: accepted before
    ("sandbox_create", ("web\n",), {}, InvalidInput, "invalid characters"),
    ("network_create", ("x\n",), {}, InvalidInput, "invalid characters"),
    ("network_create", ("x",), {"subnet": "127.0.0.0/24"}, InvalidInput, "loopback range 127.0.0.0/8"),
    ("network_create", ("x",), {"subnet": "224.0.0.0/24"}, InvalidInput, "multicast range 224.0.0.0/4"),
    ("network_create", ("x",), {"subnet": "0.0.0.0/24"}, InvalidInput, "'this network' range 0.0.0.0/8"),
    ("network_connect", ("devops", "red"), {"ifname": "eth1\n"}, InvalidInput, "invalid characters"),
    ("link_add", ("red", "blue"), {"subnet": "192.168.1.0/30"}, Conflict, "overlaps network 'devops'"),
    ("link_add", ("red", "blue"), {"ip_a": "127.0.0.1/24", "ip_b": "127.0.0.2/24"}, InvalidInput, "loopback"),
    ("network_create", ("x",), {"subnet": "fe80::/64"}, InvalidInput, "link-local range fe80::/10"),
    ("link_add", ("red", "blue"), {"subnet": "fd00:1::/64"}, Conflict, "overlaps network 'dual'"),
]


@pytest.mark.parametrize("method,args,kwargs,exc,text", BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_bad_input_changes_nothing(lab, kernel, method, args, kwargs, exc, text):
    before = lab.store.snapshot()
    calls = len(kernel.calls)
    with pytest.raises(exc, match=text) as info:
        getattr(lab, method)(*args, **kwargs)
    assert "\n" not in str(info.value)
    assert lab.store.snapshot() == before
    assert len(kernel.calls) == calls, "a refused call touched the kernel"


def test_host_and_none_are_exclusive(engine):
    engine.network_create("hostnet", driver="host")
    engine.network_create("bridged", subnet="10.3.0.0/24")
    engine.sandbox_create("s", networks=[("hostnet", None)])
    assert engine.sandbox_inspect("s", live=False)["mode"] == "host"
    with pytest.raises(Conflict, match="cannot be combined"):
        engine.network_connect("bridged", "s")
    assert engine.exec_netns("s") == "h"  # runs in the host namespace
    with pytest.raises(Conflict, match="only one is allowed"):
        engine.network_create("hostnet2", driver="host")


def test_kernel_failure_rolls_back_store(engine, kernel):
    engine.network_create("n", subnet="10.4.0.0/24")
    before = engine.store.snapshot()
    kernel.fail_on = "route_add"
    with pytest.raises(Exception, match="fake failure"):
        engine.sandbox_create("s", networks=[("n", None)])
    assert engine.store.snapshot() == before
    assert "netns_delete" in kernel.verbs()


def test_dry_run_returns_commands_and_changes_nothing(engine, kernel):
    engine.network_create("n", subnet="10.4.0.0/24")
    before = engine.store.snapshot()
    calls = len(kernel.calls)
    out = engine.sandbox_create("s", networks=[("n", "10.4.0.9")], dry_run=True)
    assert out["dry_run"] is True
    assert "ip -n h-s addr add 10.4.0.9/24 dev eth0" in out["commands"]
    assert engine.store.snapshot() == before and len(kernel.calls) == calls


def test_first_network_gets_default_route_and_disconnect_moves_it(engine, kernel):
    engine.network_create("a", subnet="10.5.0.0/24")
    engine.network_create("b", subnet="10.6.0.0/24")
    engine.sandbox_create("s", networks=[("a", None), ("b", None)])
    routes = [c for c in kernel.calls if c[0] == "route_add"]
    assert routes == [("route_add", "h-s", "0.0.0.0/0", "10.5.0.1", None)]
    engine.network_disconnect("a", "s")
    assert [c for c in kernel.calls if c[0] == "route_add"][-1] == ("route_add", "h-s", "0.0.0.0/0", "10.6.0.1", None)


def test_addresses_are_freed_and_reused(engine):
    engine.network_create("n", subnet="10.7.0.0/24")
    engine.sandbox_create("s1", networks=["n"])
    engine.sandbox_create("s2", networks=["n"])
    engine.sandbox_rm("s1")
    engine.sandbox_create("s3", networks=["n"])
    ips = {ep["sandbox"]: ep["ip"] for ep in engine.store.endpoints()}
    assert ips == {"s2": "10.7.0.3", "s3": "10.7.0.2"}


def test_default_subnet_avoids_host_routes_and_other_networks(engine):
    engine.network_create("one")
    engine.network_create("two")
    subnets = [n["subnet"] for n in engine.network_ls()]
    assert subnets == ["172.17.0.0/16", "172.18.0.0/16"]


def test_dns_config_askers_aliases_and_resolv_conf(engine, kernel):
    engine.network_create("devops", subnet="192.168.1.0/24")
    engine.network_create("db", subnet="192.168.2.0/24", internal=True)
    engine.network_create("quiet", subnet="192.168.3.0/24", dns=False)
    engine.sandbox_create("web1", networks=["devops"])
    engine.sandbox_create("ns", networks=["devops"])
    engine.network_connect("db", "ns", aliases=["database", "DB.local"])
    engine.sandbox_create("q", networks=["quiet"])
    engine.sandbox_create("d", networks=["db", "devops"])
    cfg = engine.dns_config()
    assert set(cfg["networks"]) == {"devops", "db"}
    assert cfg["networks"]["devops"]["records"] == {"web1": ["192.168.1.2"], "ns": ["192.168.1.3"],
                                                    "d": ["192.168.1.4"]}
    assert cfg["networks"]["db"]["records"] == {"ns": ["192.168.2.2"], "database": ["192.168.2.2"],
                                                "db.local": ["192.168.2.2"], "d": ["192.168.2.3"]}
    assert cfg["networks"]["db"]["forward"] is False  # internal: nothing goes upstream
    # Who asks sees the networks it is on, the one with its default route first.
    assert cfg["sandboxes"] == {"web1": {"netns": "h-web1", "networks": ["devops"]},
                                "ns": {"netns": "h-ns", "networks": ["devops", "db"]},
                                "d": {"netns": "h-d", "networks": ["db", "devops"]}}
    # Each asker's /etc/netns entry is a link to the one shared resolv.conf; q resolves nothing of ours.
    assert kernel.files["h-ns"] == kernel.files["h-web1"] == engine.settings.state_dir + "/dns/etc"
    assert kernel.files.get("h-q") is None
    assert ("resolver_sockets", "h-ns", "127.0.0.11", 53) in kernel.calls
    engine.sandbox_rm("ns")
    assert kernel.files["h-ns"] is None


def test_dns_config_has_both_families_and_ipv6_only_sandboxes_ask_too(engine):
    engine.network_create("dual", subnet=["192.168.5.0/24", "fd00:5::/64"])
    engine.network_create("six", subnet="fd00:6::/64")
    engine.sandbox_create("a", networks=["dual"])
    engine.sandbox_create("b", networks=["six"])
    cfg = engine.dns_config()
    assert cfg["networks"]["dual"]["records"] == {"a": ["192.168.5.2", "fd00:5::2"]}
    assert cfg["networks"]["six"]["records"] == {"b": ["fd00:6::2"]}
    assert cfg["sandboxes"]["b"] == {"netns": "h-b", "networks": ["six"], "ipv6": True}


@pytest.mark.parametrize("alias", ["-x", "a..b", "a_b", "x" * 64, ""])
def test_bad_alias_is_refused(engine, alias):
    engine.network_create("n", subnet="10.8.0.0/24")
    engine.sandbox_create("s")
    before = engine.store.snapshot()
    with pytest.raises(InvalidInput, match="not a valid DNS name"):
        engine.network_connect("n", "s", aliases=[alias])
    assert engine.store.snapshot() == before


def test_a_fixed_mac_is_set_and_explained(lab, kernel):
    lab.network_connect("devops", "red", mac="02:AA:BB:CC:DD:01")
    veth = next(c for c in kernel.calls if c[0] == "veth_add" and c[3] == "h-red")
    assert veth[-1] == "02:aa:bb:cc:dd:01"  # made with it, no second request
    assert lab.store.endpoint("devops", "red")["options"]["mac"] == "02:aa:bb:cc:dd:01"
    assert "peer name eth0 address 02:aa:bb:cc:dd:01 netns h-red" in " ".join(lab.explain("red"))


def test_without_a_fixed_mac_an_endpoint_has_the_mac_of_its_address(lab, kernel):
    """02:42 + the IPv4 address (as Docker): a sandbox re-created with the same
    address keeps its MAC, so its peers' ARP caches stay right."""
    lab.network_connect("devops", "red", ip="192.168.1.20")
    veth = next(c for c in kernel.calls if c[0] == "veth_add" and c[3] == "h-red")
    assert veth[-1] == "02:42:c0:a8:01:14"
    assert "address 02:42:c0:a8:01:14" in " ".join(lab.explain("red"))


def test_changing_calls_show_their_own_parameters(engine):
    """help(eng.sandbox_create) and IDEs see the service method's parameters plus dry_run."""
    import inspect

    params = inspect.signature(engine.sandbox_create).parameters
    assert list(params)[:3] == ["name", "networks", "publish"]
    assert params["dry_run"].kind is inspect.Parameter.KEYWORD_ONLY and params["dry_run"].default is False
    assert "dry_run" in inspect.signature(engine.network_connect).parameters
    assert engine.network_create.__doc__ is not None


def test_methods_read_on_the_class_are_the_methods(engine):
    """Engine.network_connect on the class (help(Engine), inspect, the bench's
    check that network_connect takes publish=) is a function of (engine, ...):
    it raised TypeError ('not a callable object') and stopped `make bench`."""
    import inspect

    from nsnet import Engine

    params = inspect.signature(Engine.network_connect).parameters
    assert list(params)[:3] == ["engine", "network", "sandbox"] and "publish" in params and "dry_run" in params
    assert list(inspect.signature(Engine.sandbox_ls).parameters) == ["engine"]
    assert Engine.network_create.__name__ == "network_create" and Engine.network_create.__doc__
    Engine.network_create(engine, "n", subnet="10.9.0.0/24")  # called with an engine, as any method
    assert [n["name"] for n in Engine.network_ls(engine)] == ["n"]
