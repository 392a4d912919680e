import os

from nsnet.kernel import nsfs

from .helpers import in_ns, links, sh


def test_host_driver_runs_in_host_stack(host):
    host.engine.network_create("br", subnet="10.50.0.0/24")  # something visible in the host
    assert host.cli("network", "create", "hostnet", "--driver", "host").returncode == 0
    assert host.cli("sandbox", "create", "h1", "--network", "hostnet").returncode == 0
    out = host.cli("exec", "h1", "--", "ip", "-o", "link", "show").stdout
    assert "nsbr-br" in out  # the host's bridge is visible: same stack
    assert host.cli("network", "connect", "br", "h1").returncode == 4
    # `ip netns exec NS-h1` enters the same namespace as `nsnet exec h1`: the host's
    h1 = host.prefix + "h1"
    assert "nsbr-br" in in_ns(h1, "ip", "-o", "link", "show").stdout
    assert nsfs.same(nsfs.netns_path(h1), nsfs.netns_path(host.name))
    assert host.engine.drift() == []
    sh("ip", "netns", "del", h1)  # behind nsnet's back: drift, and repair pins it again
    assert [d.step.kind for d in host.engine.drift()] == ["netns_share_host"]
    assert host.engine.repair()["errors"] == [] and nsfs.same(nsfs.netns_path(h1), nsfs.netns_path(host.name))
    # leaving the host network: a namespace of its own again; joining it again: the host's
    assert host.cli("network", "disconnect", "hostnet", "h1").returncode == 0
    assert links(h1) == ["lo"] and not nsfs.same(nsfs.netns_path(h1), nsfs.netns_path(host.name))
    assert in_ns(h1, "ping", "-c1", "-W1", "127.0.0.1").returncode == 0  # lo is up
    assert host.cli("network", "connect", "hostnet", "h1").returncode == 0
    assert "nsbr-br" in in_ns(h1, "ip", "-o", "link", "show").stdout
    assert host.cli("sandbox", "rm", "h1").returncode == 0
    assert not os.path.exists(nsfs.netns_path(h1)) and "nsbr-br" in host.host_links()  # the host lives on
    r = host.cli("sandbox", "create", "h2", "--network", "hostnet", "--network", "br")
    assert r.returncode == 4 and not os.path.exists(nsfs.netns_path(host.prefix + "h2"))  # rolled back


def test_none_driver_only_loopback(host):
    assert host.cli("network", "create", "nonet", "--driver", "none").returncode == 0
    assert host.cli("sandbox", "create", "n1", "--network", "nonet").returncode == 0
    assert links(host.prefix + "n1") == ["lo"]
    assert in_ns(host.prefix + "n1", "ping", "-c1", "-W1", "127.0.0.1").returncode == 0
    assert host.cli("network", "rm", "nonet").returncode == 4
    assert host.cli("sandbox", "rm", "n1").returncode == 0
    assert host.cli("network", "rm", "nonet").returncode == 0
    assert "nonet" not in sh("ip", "-n", host.name, "link").stdout
