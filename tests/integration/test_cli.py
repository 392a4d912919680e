"""The command line against a real host: what its light paths import (the
start-up budget of issue #21), `ls -q`, and shell completion of names."""

import json
import os
import subprocess
import sys

from .helpers import NSNET

HEAVY = {"click", "rich", "pyroute2", "dataclasses", "argparse"}


def imported(host, *args) -> set[str]:
    r = subprocess.run([sys.executable, "-X", "importtime", NSNET, *args], env=host.env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    return {line.split("|")[-1].strip() for line in r.stderr.splitlines() if line.startswith("import time:")}


def test_everyday_commands_load_no_heavy_library(host):
    """`run -d`, `ps` and `ls`/changing commands stay off click, rich, pyroute2,
    dataclasses and argparse: together they would cost more than the whole
    25 ms budget (issue #21)."""
    assert host.cli("network", "create", "lan", "--subnet", "10.93.0.0/24").returncode == 0
    assert host.cli("sandbox", "create", "warm", "--network", "lan").returncode == 0  # first use: DNS server
    assert host.cli("sandbox", "create", "bare").returncode == 0
    for args in (["sandbox", "create", "s1", "--network", "lan"], ["network", "connect", "lan", "bare"],
                 ["sandbox", "ls"], ["network", "ls"], ["ps"], ["port"], ["publish", "s1", "18080:80"],
                 ["run", "-d", "--name", "job", "--network", "lan", "-p", "18081:80", "--", "sleep", "30"],
                 ["stop", "-t", "1", "job"], ["sandbox", "rm", "s1"]):
        heavy = {m for m in imported(host, *args) if m.split(".")[0] in HEAVY}
        assert not heavy, (args, sorted(heavy))


def test_listing_commands_load_no_netlink_code(host):
    """`sandbox ls` asks the kernel only whether each sandbox's namespace is
    pinned: a look at /run/netns, not netlink sockets and ctypes (~3 ms of a
    25 ms budget). The answer is still the kernel's: a namespace deleted
    behind nsnet's back shows as gone."""
    host.engine.network_create("lan", subnet="10.92.0.0/24")
    host.engine.sandbox_create("a1", networks=["lan"], publish=["18090:80"])
    host.engine.sandbox_create("b2")
    netlink = ("nsnet.kernel.rtnl", "nsnet.kernel.netlink", "nsnet.kernel.libc", "ctypes", "pyroute2")
    for args in (["sandbox", "ls"], ["network", "ls"], ["network", "inspect", "lan"], ["port"]):
        loaded = {m for m in imported(host, *args) if m.startswith(netlink)}
        assert not loaded, (args, sorted(loaded))
    subprocess.run(["ip", "netns", "del", host.prefix + "b2"], check=True)
    rows = {r["name"]: r["exists"] for r in json.loads(host.cli("sandbox", "ls", "--json").stdout)}
    assert rows == {"a1": True, "b2": False}


def test_quiet_ls_prints_names(host):
    host.engine.network_create("lan", subnet="10.94.0.0/24")
    host.engine.sandbox_create("a1", networks=["lan"])
    host.engine.sandbox_create("b2")
    assert host.cli("sandbox", "ls", "-q").stdout == "a1\nb2\n"
    assert host.cli("network", "ls", "--quiet").stdout == "lan\n"
    assert host.cli("network", "ls", "--json").stdout.lstrip().startswith("[")


def test_completion_of_commands_options_and_names(host):
    host.engine.network_create("lan", subnet="10.96.0.0/24")
    host.engine.sandbox_create("web1", networks=["lan"])
    host.engine.sandbox_create("web2")

    def complete(*words):
        r = host.cli("__complete", *words)
        assert r.returncode == 0 and r.stderr == ""
        return r.stdout.split()

    assert complete("net") == ["network"]
    assert "connect" in complete("network", "")
    assert complete("run", "--net") == ["--network"]
    assert complete("sandbox", "rm", "web") == ["web1", "web2"]
    assert complete("network", "connect", "") == ["lan"]
    assert complete("network", "connect", "lan", "") == ["web1", "web2"]
    assert complete("run", "--network", "l") == ["lan"]
    assert complete("exec", "web1", "") == []  # the command line: the shell's business
    assert complete("up", "") == ["__files__"]


def test_bash_completion_script(host):
    host.engine.sandbox_create("only1")
    env = dict(host.env, PATH=os.path.dirname(NSNET) + ":" + os.environ.get("PATH", ""))
    script = ('source <(nsnet completion bash)\n'
              'COMP_WORDS=(nsnet sandbox inspect on); COMP_CWORD=3; _nsnet_complete; echo "${COMPREPLY[*]}"\n'
              'COMP_WORDS=(nsnet netw); COMP_CWORD=1; _nsnet_complete; echo "${COMPREPLY[*]}"\n')
    r = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=30)
    assert r.stdout.splitlines() == ["only1", "network"], r.stderr
