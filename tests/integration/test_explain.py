"""`explain` prints ip commands that really rebuild what exists: build a lab
with the engine, record the kernel, tear it down, replay the commands as
printed in a fresh host namespace, and compare; commands that forgot the
namespace playing the host would have changed a bystander instead."""

import subprocess

from nsnet.kernel import nsfs

from .helpers import Host, sh
from .snapshot import kernel_snapshot, ns_state


def _normalise(snap: dict, host_name: str) -> dict:
    return {("host" if ns == host_name else ns): state for ns, state in snap.items()}


def _bystander(name: str) -> dict:
    """What a namespace standing in for the machine's own network holds."""
    return {"kernel": ns_state(name), "nft": sh("ip", "netns", "exec", name, "nft", "list", "ruleset").stdout,
            "forwarding": sh("ip", "netns", "exec", name, "sysctl", "-n", "net.ipv4.ip_forward").stdout}


def test_explain_commands_rebuild_the_same_network_and_touch_only_the_host_namespace():
    """The commands run as printed, pasted into a shell whose own namespace
    stands for the real host (a bystander): they must rebuild the lab in the
    namespace that plays the host and leave the bystander as it was."""
    h = Host("x")
    bystander = f"{h.name}b"
    sh("ip", "netns", "add", bystander)
    try:
        e = h.engine
        e.network_create("devops", subnet="192.168.1.0/24")
        e.network_create("db", subnet="192.168.2.0/24", mtu=1400)
        e.sandbox_create("web", networks=["devops"])
        e.sandbox_create("ns", networks=[("devops", "192.168.1.20"), ("db", None)])
        e.sandbox_create("red")
        e.link_add("red", "web", subnet="10.9.0.0/30")
        e.route_add("red", "192.168.1.0/24", "10.9.0.2")
        e.network_connect("db", "web", publish=["8080:80", "127.0.0.1:5353:53/udp"])
        e.network_create("dual", subnet=["10.70.0.0/24", "fd00:70::/64"])
        e.sandbox_create("six", networks=[("dual", "fd00:70::6")], publish=["[::]:8443:443", "9000:90"])
        e.link_add("six", "red", subnet=["10.71.0.0/30", "fd00:71::/64"])
        e.route_add("red", "fd00:70::/64", "fd00:71::1")
        before = _normalise(kernel_snapshot(h), h.name)
        ruleset_before = sh("ip", "netns", "exec", h.name, "nft", "list", "ruleset").stdout
        commands = e.explain()
        assert commands[0].startswith(f"ip -n {h.name} link add nsbr-devops address 02:")
        assert any(c.startswith(f"ip netns exec {h.name} nft ") for c in commands)
        assert any(c.startswith(f"ip netns exec {h.name} sysctl -w ") for c in commands)
        assert e.firewall_commands()[0].startswith(f"ip netns exec {h.name} nft ")
        bystander_before = _bystander(bystander)
        # tear the original down (namespace names are global), keep the commands
        for ns in h.sandbox_namespaces():
            nsfs.delete(ns)
        sh("ip", "netns", "del", h.name)
        sh("ip", "netns", "add", h.name)
        sh("ip", "-n", h.name, "link", "set", "lo", "up")
        # nsenter joins only the network namespace: mounts made by `netns add`
        # must land in the machine's mount namespace, as with a plain `ip`.
        r = subprocess.run(["nsenter", f"--net=/run/netns/{bystander}", "sh", "-e", "-x", "-c", "\n".join(commands)],
                           text=True, capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr[-2000:]
        after = _normalise(kernel_snapshot(h), h.name)
        assert after == before
        assert sh("ip", "netns", "exec", h.name, "nft", "list", "ruleset").stdout == ruleset_before
        assert _bystander(bystander) == bystander_before
    finally:
        sh("ip", "netns", "del", bystander, check=False)
        h.destroy()


def test_explain_without_a_host_namespace_names_none():
    """The machine's own namespace plays the host: host commands name no namespace."""
    from nsnet import Engine

    h = Host("y")
    try:
        h.engine.network_create("n", subnet="10.61.0.0/24")
        h.engine.sandbox_create("s", networks=["n"], publish=["8080:80"])
        mine = h.engine.explain()
        with Engine(state_dir=h.state_dir, netns_prefix=h.prefix) as plain:  # the same state, read only
            theirs = plain.explain()
        assert theirs[0].startswith("ip link add nsbr-n ")
        assert any(c.startswith("nft ") for c in theirs) and not any(h.name + " " in c for c in theirs)
        # The same commands, but for `lo` of the namespace that plays the host
        # (made by `ip netns add`, it starts down; the real host's is up).
        mine = [c.replace(f"-n {h.name} ", "").replace(f"ip netns exec {h.name} ", "") for c in mine]
        assert mine.count("ip link set lo up") == 1
        assert [c for c in mine if c != "ip link set lo up"] == theirs
    finally:
        h.destroy()


def test_dry_run_changes_nothing(host):
    before = kernel_snapshot(host), host.engine.store.snapshot()
    r = host.cli("network", "create", "n", "--subnet", "10.60.0.0/24", "--dry-run")
    assert r.returncode == 0 and f"ip -n {host.name} link add nsbr-n address" in r.stdout
    r = host.cli("sandbox", "create", "s", "--network", "n", "--dry-run")
    assert r.returncode == 3  # the network does not exist: dry runs validate too
    assert (kernel_snapshot(host), host.engine.store.snapshot()) == before
