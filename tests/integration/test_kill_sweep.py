"""kill -9 at any moment of a change leaves nothing that blocks or confuses the
next command (issue #14). Each sweep kills an nsnet command at every kill point
it has (before each kernel step, after the store's commit, after the work that
follows it: NSNET_KILL_AT) and at random moments from outside; after each kill
the next ordinary command succeeds, `doctor` finds nothing (or `--fix` repairs
it), the store matches the kernel, and the reverse command succeeds.
The figures of a full run are in docs/reliability.md.

A sandbox's plan has 6 kill points in `up` and 3 in `down`, and the topology
has 20 sandboxes: by default the sweeps of `up` and `down` try every 17th and
every 7th point (prime to 6 and 3: every kind of step is killed, each in
another sandbox) and the others every point; NSNET_SWEEP=full tries every
point of every sweep (~220 points, 15-30 minutes on a busy 2-core machine)."""

import os
import textwrap

import pytest

from .kill_support import PHASES, Tally, sweep, timed

SANDBOXES = 20
FULL = os.environ.get("NSNET_SWEEP") == "full"


def topology(tmp_path) -> str:
    """Two networks, 20 sandboxes, one on both, two published ports, a link and a route."""
    lines = ["name: sweep", "networks:", "  front: {subnet: 10.61.0.0/24}", "  back: {subnet: 10.62.0.0/24}",
             "sandboxes:"]
    for i in range(SANDBOXES - 2):
        lines.append(f"  s{i}: {{networks: [{'front' if i % 2 else 'back'}]}}")
    lines += ["  web:", "    networks: [front, back]", "    publish: ['8080:80', '8443:443']",
              "    routes: ['10.70.0.0/16 via 10.61.0.1']", "  lone: {}",
              "links:", "  - {a: lone, b: s0, subnet: 10.63.0.0/30}"]
    path = tmp_path / "sweep.yaml"
    path.write_text(textwrap.dedent("\n".join(lines)) + "\n")
    return str(path)


@pytest.fixture
def tally(request):
    t = Tally(request.node.name)
    PHASES.clear()
    yield t
    print("\n" + t.line() + "".join(f"\n  {note}" for note in t.notes))


def test_kill_sweep_up(host, tmp_path, tally):
    path = topology(tmp_path)
    points = sweep(host, tally, ["up", path], reverse=["down", path], every=1 if FULL else 17)
    assert points > SANDBOXES * 4
    timed(host, tally, ["up", path], reverse=["down", path])


def test_kill_sweep_down(host, tmp_path, tally):
    path = topology(tmp_path)
    assert host.cli("up", path).returncode == 0
    sweep(host, tally, ["down", path], reverse=["up", path], every=1 if FULL else 7)
    timed(host, tally, ["down", path], reverse=["up", path])


def _already(r) -> bool:
    """The killed change had committed: running it again finds it done."""
    return r.returncode == 4 and "already" in r.stderr and "not made by nsnet" not in r.stderr


def test_kill_sweep_connect_with_ports(host, tally):
    assert host.cli("network", "create", "n", "--subnet", "10.64.0.0/24").returncode == 0
    assert host.cli("network", "create", "m", "--subnet", "10.65.0.0/24").returncode == 0
    assert host.cli("sandbox", "create", "s", "--network", "m").returncode == 0
    connect = ["network", "connect", "n", "s", "-p", "8080:80", "-p", "9090:90/udp"]
    sweep(host, tally, connect, reverse=["network", "disconnect", "n", "s"], again_ok=_already)
    timed(host, tally, connect, reverse=["network", "disconnect", "n", "s"], again_ok=_already)


def test_kill_sweep_sandbox_rm(host, tally):
    assert host.cli("network", "create", "n", "--subnet", "10.66.0.0/24").returncode == 0
    assert host.cli("sandbox", "create", "peer").returncode == 0
    create = ["sandbox", "create", "s", "--network", "n", "-p", "8080:80"]
    assert host.cli(*create).returncode == 0
    assert host.cli("link", "add", "s", "peer", "--subnet", "10.67.0.0/30").returncode == 0

    def gone(r):
        return r.returncode == 3 and "not found" in r.stderr

    reverse = ["sandbox", "create", "s", "--network", "n", "-p", "8080:80"]
    sweep(host, tally, ["sandbox", "rm", "s"], reverse=reverse, again_ok=gone)
    timed(host, tally, ["sandbox", "rm", "s"], reverse=reverse, again_ok=gone)
