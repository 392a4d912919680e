"""Two state dirs on one host namespace (#14 item 5): the host's nsnet table
names the state dir it belongs to, and a second state dir is refused at its
first network, firewall reload or race for the table, in one line, with
nothing of the first one's changed."""

import os
import shutil
import subprocess
import tempfile

import pytest

from nsnet import Engine
from nsnet.engine.firewall import table_owner
from nsnet.errors import Conflict
from nsnet.firewall import ruleset
from nsnet.kernel.rtnl import Kernel
from nsnet.steps import Nft

from .helpers import NSNET, blocked, in_ns, ping, sh


@pytest.fixture
def second(host):
    """Another state dir, with its own engine, for the same host namespace."""
    state = tempfile.mkdtemp(prefix=f"{host.name}-second-")
    eng = Engine(host_netns=host.name, state_dir=state)
    try:
        yield eng
    finally:
        eng.close()
        shutil.rmtree(state, ignore_errors=True)


def table(host) -> str:
    return sh("ip", "netns", "exec", host.name, "nft", "list", "table", "inet", "nsnet").stdout


def cli(host, state_dir, *args):
    env = dict(host.env, NSNET_STATE_DIR=state_dir)
    return subprocess.run([NSNET, *args], env=env, capture_output=True, text=True, timeout=60)


def test_the_second_state_dir_is_refused_at_its_first_network(host, second):
    eng = host.engine
    eng.network_create("n", subnet="10.80.0.0/24")
    eng.sandbox_create("a", networks=["n"], publish=["8080:80"])
    eng.sandbox_create("b", networks=["n"])
    before, links = table(host), host.host_links()
    assert f"nsnet state dir {os.path.realpath(host.state_dir)}" in before
    with pytest.raises(Conflict, match=f"managed by another nsnet state dir \\({os.path.realpath(host.state_dir)}\\)"):
        second.network_create("m", subnet="10.81.0.0/24")
    result = cli(host, second.settings.state_dir, "network", "create", "n2")
    assert result.returncode == 4 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "managed by another nsnet state dir" in result.stderr
    reload = cli(host, second.settings.state_dir, "firewall", "reload")
    assert reload.returncode == 4 and "another nsnet state dir" in reload.stderr, reload.stderr
    assert table(host) == before and host.host_links() == links
    assert second.network_rows() == []
    assert ping(host.prefix + "b", eng.endpoint_get("n", "a")["ip"])
    # The first one's table works on: its NAT and its published port are still there.
    assert "8080" in table(host) and "outbound NAT" in table(host)


def test_a_race_for_the_table_is_settled_by_the_kernel(host, second):
    """The look before planning sees no table; the owner set in the batch itself
    refuses the batch of the state dir that comes second."""
    host.engine.network_create("n", subnet="10.82.0.0/24")
    before = table(host)
    kernel = Kernel(host.name)
    try:
        theirs = ruleset.full([], [], table_owner(second.settings.state_dir))
        with pytest.raises(Conflict, match="another nsnet state dir manages nsnet's table"):
            Nft(theirs).apply(kernel)
        with pytest.raises(Conflict):
            Nft(ruleset.teardown(table_owner(second.settings.state_dir))).apply(kernel)
    finally:
        kernel.close()
    assert table(host) == before


def test_first_networks_of_two_state_dirs_at_once_one_wins(host, second):
    for round_ in range(3):
        procs = [subprocess.Popen([NSNET, "network", "create", f"w{i}", "--subnet", f"10.{83 + i}.0.0/24"],
                                  env=dict(host.env, NSNET_STATE_DIR=state), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
                 for i, state in enumerate((host.state_dir, second.settings.state_dir))]
        results = [(p.wait(60), p.communicate()[1]) for p in procs]
        codes = [code for code, _ in results]
        assert sorted(codes) == [0, 4], results
        loser_err = results[codes.index(4)][1]
        assert len(loser_err.strip().splitlines()) == 1 and "state dir" in loser_err, loser_err
        winner = codes.index(0)
        bridges = [name for name in host.host_links() if name.startswith("nsbr-")]
        assert bridges == [f"nsbr-w{winner}"]
        winner_dir = (host.state_dir, second.settings.state_dir)[winner]
        assert f"nsnet state dir {os.path.realpath(winner_dir)}" in table(host)
        # Once the winner's last network is gone, the host is free for either.
        assert cli(host, winner_dir, "network", "rm", f"w{winner}").returncode == 0
        assert "nsnet" not in sh("ip", "netns", "exec", host.name, "nft", "list", "tables").stdout, round_


def test_sandboxes_of_the_second_state_dir_do_not_reach_the_first_ones_networks(host, second):
    """What the second may still do (sandboxes and links of its own, no host
    networking) breaks nothing of the first's."""
    host.engine.network_create("n", subnet="10.86.0.0/24")
    host.engine.sandbox_create("a", networks=["n"])
    second.sandbox_create("x")
    second.sandbox_create("y")
    second.link_add("x", "y", subnet="10.87.0.0/30")
    x = second.netns_name("x")
    assert in_ns(x, "ip", "-o", "link").returncode == 0
    assert blocked(x, host.engine.endpoint_get("n", "a")["ip"])
    second.sandbox_rm("x")
    second.sandbox_rm("y")
    assert ping(host.name, host.engine.endpoint_get("n", "a")["ip"])
