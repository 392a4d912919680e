import json

from .helpers import blocked, in_ns, ping, wait_until
from .traffic import roundtrip


def test_red_blue_cable_with_subnet(clean_host):
    h = clean_host
    h.cli("sandbox", "create", "red", check=True)
    h.cli("sandbox", "create", "blue", check=True)
    r = h.cli("link", "add", "red", "blue", "--subnet", "192.168.15.0/24")
    assert r.returncode == 0, r.stderr
    red, blue = h.prefix + "red", h.prefix + "blue"
    assert ping(red, "192.168.15.2") and ping(blue, "192.168.15.1")
    rows = json.loads(h.cli("--json", "link", "ls").stdout)
    assert rows[0]["ip_a"] == "192.168.15.1/24" and rows[0]["ip_b"] == "192.168.15.2/24"
    assert h.cli("link", "rm", "red", "blue").returncode == 0
    assert blocked(red, "192.168.15.2")
    assert "veth" not in in_ns(red, "ip", "-o", "link").stdout
    h.cli("sandbox", "rm", "red", "blue", check=True)


def test_static_addresses_and_interface_names(host):
    host.cli("sandbox", "create", "red", check=True)
    host.cli("sandbox", "create", "blue", check=True)
    r = host.cli("link", "add", "red", "blue", "--ip-a", "10.20.0.1/30", "--ip-b", "10.20.0.2/30",
                 "--ifname-a", "veth-red", "--ifname-b", "veth-blue")
    assert r.returncode == 0, r.stderr
    out = in_ns(host.prefix + "red", "ip", "-o", "addr", "show", "dev", "veth-red").stdout
    assert "10.20.0.1/30" in out
    assert ping(host.prefix + "blue", "10.20.0.1")
    assert roundtrip(host.prefix + "blue", host.prefix + "red", "10.20.0.2") == "PING 10.20.0.1"
    assert roundtrip(host.prefix + "blue", host.prefix + "red", "10.20.0.2", proto="udp") == "PING 10.20.0.1"


def test_sandbox_rm_removes_its_links(host):
    for name in ("a", "b"):
        host.engine.sandbox_create(name)
    host.engine.link_add("a", "b", subnet="10.30.0.0/24")
    host.engine.sandbox_rm("a")
    assert host.engine.link_ls() == []
    assert wait_until(lambda: "veth-a" not in in_ns(host.prefix + "b", "ip", "-o", "link").stdout)


def test_sandbox_rm_cuts_cables_when_a_process_is_still_inside(host):
    """A process inside keeps the namespace alive after rm: nsnet must then delete
    the veths itself, or the old address would stay reachable."""
    import subprocess

    host.engine.network_create("n", subnet="10.31.0.0/24")
    host.engine.sandbox_create("a", networks=["n"])
    host.engine.sandbox_create("b", networks=["n"])
    holder = subprocess.Popen(["ip", "netns", "exec", host.prefix + "a", "sleep", "30"])
    try:
        assert wait_until(lambda: host.engine.kernel.netns_in_use(host.prefix + "a"))
        host.engine.sandbox_rm("a")
        assert blocked(host.prefix + "b", "10.31.0.2")
        assert "nsv1" not in host.host_links()
    finally:
        holder.kill()
        holder.wait()
