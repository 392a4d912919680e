"""Bad input through the CLI: a one-line error, the right exit code, no
traceback, and neither the kernel nor the store changes."""

import os
import subprocess

import pytest

from .helpers import NSNET
from .snapshot import full_snapshot

CASES = [
    (["sandbox", "create", "bad/name"], 2, "invalid characters"),
    (["sandbox", "create", "x" * 60], 2, "too long"),
    (["sandbox", "create", "red"], 4, "already exists"),
    (["sandbox", "create", "new", "--network", "nope"], 3, "network 'nope' not found"),
    (["sandbox", "create", "new", "--network", "n:10.70.0.2"], 4, "already taken"),
    (["sandbox", "rm", "ghost"], 3, "not found"),
    (["network", "create", "n"], 4, "already exists"),
    (["network", "create", "m", "--subnet", "10.70.0.0/33"], 2, "not a valid CIDR"),
    (["network", "create", "m", "--subnet", "10.70.0.0/16"], 4, "overlaps network 'n'"),
    (["network", "create", "m", "--subnet", "10.71.0.0/24", "--gateway", "10.72.0.1"], 2, "gateway"),
    (["network", "create", "m", "--bridge", "averyveryverylongname"], 2, "too long"),
    (["network", "create", "m", "--driver", "weird"], 2, "unknown driver"),
    (["network", "rm", "n"], 4, "attached"),
    (["network", "connect", "n", "red"], 4, "already connected"),
    (["network", "connect", "n", "blue", "--ip", "10.70.0.200/24x"], 2, "not a valid IP"),
    (["network", "connect", "n", "blue", "--ip", "10.70.0.1"], 4, "gateway"),
    (["network", "connect", "n", "blue", "--ifname", "a-name-that-is-too-long"], 2, "too long"),
    (["network", "disconnect", "n", "blue"], 4, "not connected"),
    (["link", "add", "red", "ghost"], 3, "not found"),
    (["link", "add", "red", "blue", "--subnet", "10.80.0.0/24", "--ifname-a", "eth0"], 4, "already has"),
    (["route", "add", "red", "10.1.0.0/16", "via", "10.99.0.1"], 2, "not on any network"),
    (["route", "add", "red", "10.1.0.0/16", "by", "10.70.0.1"], 2, "expected 'via'"),
    (["exec", "ghost", "--", "true"], 3, "not found"),
]


@pytest.fixture(scope="module")
def lab():
    from .helpers import Host

    h = Host("e")
    h.engine.network_create("n", subnet="10.70.0.0/24")
    h.engine.sandbox_create("red", networks=["n"])
    h.engine.sandbox_create("blue")
    try:
        yield h
    finally:
        h.destroy()


@pytest.mark.parametrize("args,code,text", CASES, ids=[" ".join(c[0])[:40] for c in CASES])
def test_bad_input(lab, args, code, text):
    before = full_snapshot(lab)
    r = lab.cli(*args)
    assert r.returncode == code, (r.returncode, r.stderr)
    assert text in r.stderr
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("nsnet: error: ")
    assert "Traceback" not in r.stderr
    assert full_snapshot(lab) == before


def test_not_root_is_refused_cleanly(lab):
    before = full_snapshot(lab)
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
                        NSNET, "network", "create", "x"], env=lab.env, capture_output=True, text=True)
    assert r.returncode == 5 and "needs root" in r.stderr and r.stderr.count("\n") == 1
    assert full_snapshot(lab) == before


def test_unknown_host_namespace(lab):
    env = dict(os.environ, NSNET_HOST_NETNS="nt-does-not-exist", NSNET_STATE_DIR=lab.state_dir)
    r = subprocess.run([NSNET, "sandbox", "create", "q"], env=env, capture_output=True, text=True)
    assert r.returncode == 3 and "host network namespace" in r.stderr
