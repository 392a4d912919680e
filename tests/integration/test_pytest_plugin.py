"""The pytest plugin as its users get it: pytest run in a subprocess on test
files that only name the `nsnet_lab` fixture (no conftest: the pytest11 entry
point brings it), the etcd example among them; a test that leaves a process
behind fails; pytest -n runs labs side by side."""

import os
import subprocess
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir"]


def run_pytest(path, *args, timeout=240):
    return subprocess.run([*PYTEST, str(path), str(path), *args], capture_output=True, text=True, timeout=timeout,
                          cwd=str(path), env=dict(os.environ, COLUMNS="400"))  # summary lines not cut short


def test_the_etcd_example_passes():
    example = os.path.join(ROOT, "examples", "pytest")
    r = run_pytest(example, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "1 passed" in r.stdout


LAB_TESTS = '''
import pytest


def test_ping_and_partition(nsnet_lab):
    lab = nsnet_lab
    lab.network("n", subnet="10.70.0.0/24")
    a, b = lab.sandboxes("a", "b", network="n")
    assert lab.exec("a", "ping", "-c1", "-W2", b).returncode == 0
    with lab.partitioned(["a"]):
        assert lab.exec("a", "ping", "-c1", "-W1", b).returncode != 0
    assert lab.exec("a", "getent", "hosts", "b").stdout.split()[0] == b  # names resolve (DNS)


@pytest.mark.nsnet_topology("topo.yaml")
def test_from_a_file(nsnet_lab):
    assert nsnet_lab.exec("x1", "ping", "-c1", "-W2", nsnet_lab.ip("x2")).returncode == 0


@pytest.mark.parametrize("i", range(4))
def test_same_subnets_in_parallel(nsnet_lab, i):
    nsnet_lab.network("n", subnet="10.70.0.0/24")
    nsnet_lab.sandboxes("a", "b", network="n")
    assert nsnet_lab.exec("a", "ping", "-c1", "-W2", nsnet_lab.ip("b")).returncode == 0
'''

TOPO = "name: t\nnetworks:\n  tn: {subnet: 10.71.0.0/24}\nsandboxes:\n  x1: {networks: [tn]}\n  x2: {networks: [tn]}\n"


def test_labs_side_by_side_with_pytest_n(tmp_path):
    (tmp_path / "test_lab.py").write_text(LAB_TESTS)
    (tmp_path / "topo.yaml").write_text(TOPO)
    r = run_pytest(tmp_path, "-n", "2")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "6 passed" in r.stdout


LEAKY = '''
import subprocess


def test_leaves_a_process_behind(nsnet_lab):
    nsnet_lab.sandbox("a")
    # In the sandbox, under its final name, before the test ends (a busy machine is slow).
    proc = subprocess.Popen(["ip", "netns", "exec", nsnet_lab.netns("a"), "python3", "-c",
                             "import time; print('in', flush=True); time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "in"
'''


def test_a_test_that_leaks_fails(tmp_path):
    (tmp_path / "test_leaky.py").write_text(textwrap.dedent(LEAKY))
    r = run_pytest(tmp_path)
    assert r.returncode == 1
    assert "nsnet lab leaked: process" in r.stdout and "python3 -c import time" in r.stdout  # names it
    assert "1 passed, 1 error" in r.stdout


def test_a_lab_leaves_no_etc_netns_entries():
    """Sandboxes with DNS have /etc/netns/NAME as a link (to the shared
    resolv.conf): the lab's teardown unlinks them (rmtree refused links and
    left thousands behind)."""
    from nsnet.testing import Lab

    lab = Lab()
    try:
        lab.network("n", subnet="10.72.0.0/24")
        lab.sandboxes("a", "b", network="n")
        links = [e for e in os.listdir("/etc/netns") if e.startswith(lab.name + "-")]
        assert links and all(os.path.islink(f"/etc/netns/{e}") for e in links)
    finally:
        leaks = lab.close()
    assert leaks == []
    assert [e for e in os.listdir("/etc/netns") if e == lab.name or e.startswith(lab.name + "-")] == []
