"""One executor per change: dry runs record, work after the commit runs once and
only for a committed change, and its failure is a warning, not a failed change."""

import pytest

from nsnet import Engine
from nsnet.engine.executor import Executor
from nsnet.errors import InvalidInput, KernelError
from nsnet.steps import AddAddress, CreateBridge, CreateNetns, DeleteNetns, Plan

from .fakes import FakeKernel


def resolv_writes(kernel, netns):
    return [c for c in kernel.calls if c[0] == "netns_etc" and c[1] == netns]


def test_a_dry_run_leaves_no_work_for_the_next_change(engine, kernel):
    engine.network_create("n", subnet="10.4.0.0/24")
    engine.sandbox_create("s", networks=["n"], dry_run=True)
    engine.sandbox_create("other", networks=["n"])
    assert resolv_writes(kernel, "h-s") == [] and resolv_writes(kernel, "h-other") != []


def test_a_failed_change_leaves_no_work_for_the_next_change(engine, kernel):
    engine.network_create("n", subnet="10.4.0.0/24")
    kernel.fail_on = "route_add"
    with pytest.raises(KernelError):
        engine.sandbox_create("s", networks=["n"])
    kernel.fail_on = None
    engine.sandbox_create("other")
    assert resolv_writes(kernel, "h-s") == []


class ReadOnlyEtc(FakeKernel):
    def netns_etc(self, netns, shared, files, owner_mark, present=True):
        raise OSError(30, f"Read-only file system: '/etc/netns/{netns}'")


def test_work_after_the_commit_fails_as_a_warning(tmp_path):
    kernel = ReadOnlyEtc()
    kernel.namespaces.add("h")
    with Engine(host_netns="h", state_dir=str(tmp_path), kernel=kernel) as eng:
        eng.network_create("n", subnet="10.4.0.0/24")
        eng.sandbox_create("s")
        out = eng.network_connect("n", "s")
        assert out["ip"] == "10.4.0.2" and "Read-only file system" in out["warnings"][0]
        assert eng.store.endpoint("n", "s") is not None  # committed all the same


def test_dry_run_records_applied_and_best_effort_plans_in_order():
    ex = Executor(None, dry_run=True)
    ex.apply(Plan([CreateNetns("a")]))
    assert ex.best_effort(Plan([DeleteNetns("b")])) == []
    assert ex.commands == ["ip netns add a", "ip -n a link set lo up", "ip netns del b"]
    ran = []
    ex.after_commit("k", ran.append, 1)
    assert ran == []  # run_change never runs it for a dry run


def test_after_commit_runs_one_job_per_key_with_the_first_argument():
    ex = Executor(FakeKernel())
    seen = []
    ex.after_commit("dns", seen.append, {})["a"] = 1
    ex.after_commit("dns", seen.append, {})["b"] = 2
    assert ex.run_after_commit() == [] and seen == [{"a": 1, "b": 2}]


def test_best_effort_collects_errors_and_goes_on():
    k = FakeKernel(fail_on="bridge_add")
    errors = Executor(k).best_effort(Plan([CreateBridge("br0"), AddAddress(None, "br0", "10.0.0.1/24")]))
    assert errors == ["fake failure in bridge_add"] and k.verbs() == ["addr_add"]


def test_vni_is_for_overlay_networks_only(engine):
    with pytest.raises(InvalidInput, match="--vni is only for --driver overlay"):
        engine.network_create("x", subnet="10.9.0.0/24", vni=5)


def test_a_bridge_attach_loads_nothing_of_the_overlay(tmp_path):
    """The overlay driver is registered, but its Steps and the cluster store are
    imported on first use: ~1 ms of every `run -d` that never touches an overlay."""
    import os
    import subprocess
    import sys

    here = os.path.dirname(__file__)
    code = (f"import sys; sys.path.insert(0, {here!r}); from fakes import FakeKernel; from nsnet import Engine\n"
            f"k = FakeKernel(); k.namespaces.add('h')\n"
            f"e = Engine(host_netns='h', state_dir={str(tmp_path)!r}, kernel=k)\n"
            "e.network_create('n', subnet='10.4.0.0/24'); e.sandbox_create('s', networks=['n']); e.network_ls()\n"
            "print(sorted(m for m in sys.modules if m in ('nsnet.steps.overlay', 'nsnet.steps.cluster', "
            "'nsnet.steps.wireguard') "
            "or m.startswith('nsnet.state.cluster')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "[]\n"


def test_a_change_that_fails_undoes_its_earlier_plans_too(engine, kernel):
    """The default network made in a sandbox's change goes with the sandbox when
    the change fails after the network's plan was applied."""
    kernel.fail_on = "route_add"
    with pytest.raises(KernelError):
        engine.sandbox_create("s", networks=["default"])
    kernel.fail_on = None
    assert engine.store.network("default") is None and engine.store.sandbox("s") is None
    assert "nsbr-default" not in kernel.host_links  # made in the change, then undone with it
    assert ("bridge_add", "nsbr-default", None) in kernel.calls
