"""`explain` prints ip commands that really rebuild what exists: build a lab
with the engine, record the kernel, tear it down, replay the commands with
`ip -batch` in a fresh host namespace, and compare."""

import subprocess

from nsnet.kernel import nsfs

from .helpers import Host, sh
from .snapshot import kernel_snapshot


def _normalise(snap: dict, host_name: str) -> dict:
    return {("host" if ns == host_name else ns): state for ns, state in snap.items()}


def _batches(commands):
    """Consecutive commands for the same namespace form one `ip [-n NS] -batch`
    run (a batch file cannot carry the global -n option), in order."""
    runs = []
    for cmd in commands:
        words = cmd.split()
        if words[0] in ("nft", "sysctl"):  # firewall lines run as shell commands in the host
            runs.append(("shell", [cmd]))
            continue
        assert words[0] == "ip", cmd
        ns, rest = (words[2], words[3:]) if words[1] == "-n" else (None, words[1:])
        if rest[0] == "-6":  # IPv6 lines: a batch of their own, run with `ip -6`
            ns, rest = (ns, "-6"), rest[1:]
        if runs and runs[-1][0] == ns:
            runs[-1][1].append(" ".join(rest))
        else:
            runs.append((ns, [" ".join(rest)]))
    return runs


def replay(host_name: str, commands) -> None:
    """Run explain's commands in the (fresh) host namespace `host_name`."""
    for ns, lines in _batches(commands):
        # nsenter joins only the network namespace: mounts made by `netns add`
        # must land in the machine's mount namespace, as with a plain `ip`.
        six = ["-6"] if isinstance(ns, tuple) else []
        ns = ns[0] if isinstance(ns, tuple) else ns
        if ns == "shell":
            argv, stdin = ["nsenter", f"--net=/run/netns/{host_name}", "sh", "-c", lines[0]], None
        else:
            target = ["ip", "-n", ns] if ns else ["nsenter", f"--net=/run/netns/{host_name}", "ip"]
            argv, stdin = [*target, *six, "-batch", "-"], "\n".join(lines) + "\n"
        r = subprocess.run(argv, input=stdin, text=True, capture_output=True, timeout=30)
        assert r.returncode == 0, (lines, r.stderr)


def test_explain_commands_rebuild_the_same_network():
    h = Host("x")
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
        assert commands[0].startswith("ip link add nsbr-devops address 02:")
        # tear the original down (namespace names are global), keep the commands
        for ns in h.sandbox_namespaces():
            nsfs.delete(ns)
        sh("ip", "netns", "del", h.name)
        sh("ip", "netns", "add", h.name)
        sh("ip", "-n", h.name, "link", "set", "lo", "up")
        replay(h.name, commands)
        after = _normalise(kernel_snapshot(h), h.name)
        assert after == before
        assert sh("ip", "netns", "exec", h.name, "nft", "list", "ruleset").stdout == ruleset_before
    finally:
        h.destroy()


def test_dry_run_changes_nothing(host):
    before = kernel_snapshot(host), host.engine.store.snapshot()
    r = host.cli("network", "create", "n", "--subnet", "10.60.0.0/24", "--dry-run")
    assert r.returncode == 0 and "ip link add nsbr-n address" in r.stdout
    r = host.cli("sandbox", "create", "s", "--network", "n", "--dry-run")
    assert r.returncode == 3  # the network does not exist: dry runs validate too
    assert (kernel_snapshot(host), host.engine.store.snapshot()) == before
