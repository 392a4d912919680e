from .helpers import in_ns, links, sh


def test_host_driver_runs_in_host_stack(host):
    host.engine.network_create("br", subnet="10.50.0.0/24")  # something visible in the host
    assert host.cli("network", "create", "hostnet", "--driver", "host").returncode == 0
    assert host.cli("sandbox", "create", "h1", "--network", "hostnet").returncode == 0
    out = host.cli("exec", "h1", "--", "ip", "-o", "link", "show").stdout
    assert "nsbr-br" in out  # the host's bridge is visible: same stack
    assert host.cli("network", "connect", "br", "h1").returncode == 4


def test_none_driver_only_loopback(host):
    assert host.cli("network", "create", "nonet", "--driver", "none").returncode == 0
    assert host.cli("sandbox", "create", "n1", "--network", "nonet").returncode == 0
    assert links(host.prefix + "n1") == ["lo"]
    assert in_ns(host.prefix + "n1", "ping", "-c1", "-W1", "127.0.0.1").returncode == 0
    assert host.cli("network", "rm", "nonet").returncode == 4
    assert host.cli("sandbox", "rm", "n1").returncode == 0
    assert host.cli("network", "rm", "nonet").returncode == 0
    assert "nonet" not in sh("ip", "-n", host.name, "link").stdout
