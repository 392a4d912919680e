import json
import os
import shutil
import subprocess

from .helpers import in_ns, links


def test_sandbox_lifecycle_via_cli(clean_host):
    h = clean_host
    r = h.cli("sandbox", "create", "red")
    assert r.returncode == 0, r.stderr
    ns = h.prefix + "red"
    assert ns in h.sandbox_namespaces()
    assert links(ns) == ["lo"]
    assert "UP" in in_ns(ns, "ip", "-o", "link", "show", "lo").stdout  # lo is up
    listed = json.loads(h.cli("--json", "sandbox", "ls").stdout)
    assert [s["name"] for s in listed] == ["red"] and listed[0]["exists"] is True
    inspected = json.loads(h.cli("--json", "sandbox", "inspect", "red").stdout)
    assert inspected["netns"] == ns
    assert {"ifname": "lo", "cidr": "127.0.0.1/8"} in inspected["kernel"]["addresses"]
    assert h.cli("sandbox", "rm", "red").returncode == 0
    assert h.sandbox_namespaces() == []


def test_exec_passes_stdio_and_exit_code(host):
    host.cli("sandbox", "create", "red", check=True)
    r = host.cli("exec", "red", "--", "sh", "-c", "cat; echo err >&2; exit 7", input="hello\n")
    assert (r.returncode, r.stdout, r.stderr) == (7, "hello\n", "err\n")
    r = host.cli("exec", "red", "--", "ls", "/sys/class/net")
    assert r.stdout.split() == ["lo"]  # /sys shows the sandbox's interfaces
    r = host.cli("exec", "red", "--", "no-such-command-xyz")
    assert r.returncode == 127 and "command not found" in r.stderr


def test_exec_applies_etc_netns_files(host):
    host.cli("sandbox", "create", "red", check=True)
    etc = f"/etc/netns/{host.prefix}red"
    os.makedirs(etc)
    try:
        with open(f"{etc}/hosts", "w") as f:
            f.write("10.9.9.9 only-in-red\n")
        r = host.cli("exec", "red", "--", "cat", "/etc/hosts")
        assert r.stdout == "10.9.9.9 only-in-red\n"
        with open("/etc/hosts") as f:
            assert "only-in-red" not in f.read()  # the host's file is untouched
    finally:
        shutil.rmtree(etc)


def test_two_engines_never_see_each_other(host):
    from .helpers import Host

    other = Host("b")
    try:
        host.engine.sandbox_create("red")
        other.engine.sandbox_create("red")  # same name, different engine: no clash
        assert host.engine.sandbox_inspect("red")["netns"] != other.engine.sandbox_inspect("red")["netns"]
        other.engine.sandbox_rm("red")
        assert [s["name"] for s in host.engine.sandbox_ls()] == ["red"]
        assert host.engine.sandbox_ls()[0]["exists"]
    finally:
        other.destroy()


def test_an_adopted_namespace_is_not_nsnets_to_make(host):
    """A runtime's namespace (lo left down, as `ip netns add` leaves it): drift and
    explain neither report nor propose `ip netns add` for it."""
    path = f"/run/netns/{host.name}rt"
    subprocess.run(["ip", "netns", "add", os.path.basename(path)], check=True)
    try:
        host.engine.network_create("n", subnet="10.15.0.0/24")
        host.engine.sandbox_adopt("ctr", path)
        host.engine.network_connect("n", "ctr")
        assert host.engine.drift(target="ctr") == []
        assert not any("netns add" in line for line in host.engine.explain("ctr"))
        host.engine.sandbox_rm("ctr")
        assert os.path.exists(path)
    finally:
        subprocess.run(["ip", "netns", "del", os.path.basename(path)])
