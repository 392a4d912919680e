"""Write-ahead intents: a change's steps are logged before they run, its end is
logged after; the next change settles what a dead process left unfinished
(rolled back where the store never saw it), and leaves alone what a live one
is doing."""

import json
import os
import signal

import pytest

from nsnet import Engine, interrupt
from nsnet.engine import executor
from nsnet.engine.context import Context
from nsnet.errors import KernelError
from nsnet.state.intents import Intents
from nsnet.steps import CreateNetns, CreateVeth, Plan

from .fakes import FakeKernel

DEAD = 999999999  # a pid no process has


def nobody_alive(pid, start):
    return False


def everybody_alive(pid, start):
    return True


def test_a_finished_change_leaves_nothing_unfinished(tmp_path):
    log = Intents(str(tmp_path))
    log.begin("Sandboxes.create")
    log.write([CreateNetns("x").as_record()])
    log.clear()
    log.begin("Sandboxes.rm")
    log.clear()  # recorded nothing: writes nothing
    other = Intents(str(tmp_path))
    assert other.dead(nobody_alive) == []
    assert os.listdir(log.folder) == []  # a dead process's finished log is removed on the way


def test_the_unfinished_change_at_the_end_of_a_log_is_found(tmp_path):
    log = Intents(str(tmp_path))
    log.begin("Networks.create")
    log.write([CreateNetns("a").as_record()])
    log.clear()
    log.begin("Sandboxes.create")
    log.write([CreateNetns("b").as_record()])
    log.write([CreateVeth(None, "nsv1", "b", "eth0").as_record()])
    path = os.path.join(log.folder, os.listdir(log.folder)[0])
    with open(path, "a") as f:
        f.write('[2, {"step": "AddAddr')  # the kill cut a line short: its steps never ran
    assert Intents(str(tmp_path)).dead(everybody_alive) == []  # its process lives: not ours to settle
    (found,) = Intents(str(tmp_path)).dead(nobody_alive)
    assert found.change == "Sandboxes.create" and found.pid == os.getpid()
    assert [r["step"] for r in found.records] == ["CreateNetns", "CreateVeth"]
    assert found.records[0]["name"] == "b"


def test_what_json_cannot_hold_is_recorded_as_null(tmp_path):
    log = Intents(str(tmp_path))
    step = CreateNetns("x")
    step.callback = print  # a field of a kind no step has today
    log.begin("c")
    log.write([step.as_record()])
    with open(os.path.join(log.folder, os.listdir(log.folder)[0])) as f:
        assert json.loads(f.readline())["steps"][0]["callback"] is None


def killed_sandbox_create(state_dir, netns="h-x", veth="nsv9"):
    """The log a process killed in the middle of `sandbox create x --network n` leaves."""
    folder = os.path.join(state_dir, "intents")
    os.makedirs(folder, exist_ok=True)
    header = {"change": "Sandboxes.create", "seq": 1, "pid": DEAD, "time": 0,
              "steps": [CreateNetns(netns).as_record(),
                        CreateVeth(None, veth, netns, "eth0", master="nsbr-n").as_record()]}
    with open(os.path.join(folder, f"{DEAD}-1"), "w") as f:
        f.write(json.dumps(header) + "\n")


def test_the_next_change_rolls_back_what_a_dead_change_made(engine, kernel, tmp_path):
    engine.network_create("n", subnet="10.4.0.0/24")
    kernel.namespaces.add("h-x")
    kernel.host_links.add("nsv9")
    killed_sandbox_create(str(tmp_path))
    assert len(engine.unfinished()) == 1
    kernel.calls.clear()
    out = engine.sandbox_create("other")
    assert ("netns_delete", "h-x") in kernel.calls and ("link_del", None, "nsv9") in kernel.calls
    assert "h-x" not in kernel.namespaces and "nsv9" not in kernel.host_links
    assert any("Sandboxes.create" in w and "rolled back" in w for w in out["warnings"])
    assert engine.unfinished() == [] and not os.path.exists(os.path.join(tmp_path, "intents", f"{DEAD}-1"))


def test_what_the_store_claims_is_kept(engine, kernel, tmp_path):
    engine.network_create("n", subnet="10.4.0.0/24")
    engine.sandbox_create("x", networks=["n"])  # the change committed before its process died
    ep = engine.store.endpoint("n", "x")
    killed_sandbox_create(str(tmp_path), veth=ep["host_ifname"])
    out = engine.sandbox_create("other")
    assert any("finished" in w for w in out["warnings"])  # nothing of it was a leftover
    assert "h-x" in kernel.namespaces and ep["host_ifname"] in kernel.host_links


def test_a_refused_change_clears_its_intent_and_an_unsettled_one_is_settled_next(engine, kernel, tmp_path):
    engine.network_create("n", subnet="10.4.0.0/24")
    kernel.fail_on = "route_add"
    with pytest.raises(KernelError):  # rolled back whole: nothing to settle
        engine.sandbox_create("s", networks=["n"])
    assert engine.unfinished() == []
    kernel.fail_on = None

    class Broken(Exception):
        pass

    def half_done(ex):  # a change that ran a plan and then failed without rolling it back
        ex.apply(Plan([CreateNetns("h-half")]))
        raise Broken()

    with pytest.raises(Broken):
        executor.run_change(engine._services[Context], False, half_done)
    (left,) = engine.unfinished()
    assert left.change.endswith("half_done") and left.path is None  # this process's own
    kernel.calls.clear()
    engine.sandbox_create("next")
    assert ("netns_delete", "h-half") in kernel.calls and engine.unfinished() == []


def test_sigterm_inside_a_change_rolls_back_between_two_steps(engine, kernel, monkeypatch):
    engine.network_create("n", subnet="10.4.0.0/24")
    calls = []

    def veth_add(*args):
        calls.append(args)
        interrupt._handler(signal.SIGTERM, None)  # SIGTERM arrives while the veth is made

    monkeypatch.setattr(kernel, "veth_add", veth_add)
    kernel.calls.clear()
    with pytest.raises(interrupt.Terminated):
        engine.sandbox_create("s", networks=["n"])
    assert calls and ("netns_delete", "h-s") in kernel.calls  # the next step never ran: all undone
    assert engine.store.sandbox("s") is None and engine.unfinished() == []
    assert not interrupt._pending


def test_sigterm_outside_a_change_ends_the_command_at_once():
    with pytest.raises(interrupt.Terminated):
        interrupt._handler(signal.SIGTERM, None)
    with pytest.raises(interrupt.Terminated):
        with interrupt.deferred():
            interrupt._handler(signal.SIGTERM, None)  # noted, raised when the block ends
            assert interrupt._pending


def test_the_kill_hook_kills_at_the_nth_point(engine, monkeypatch):
    killed = []
    monkeypatch.setattr(executor, "_kill_points", 0)
    monkeypatch.setattr(executor, "_kill_at", 3)  # as NSNET_KILL_AT=3 in the environment at start-up
    monkeypatch.setattr(os, "kill", lambda pid, sig: killed.append((pid, sig, executor._kill_points)))
    engine.network_create("n", subnet="10.4.0.0/24")  # bridge, address, sysctls, nft: 3rd is a step
    assert killed == [(os.getpid(), signal.SIGKILL, 3)]


def test_a_forked_child_logs_in_a_file_of_its_own(tmp_path, monkeypatch):
    log = Intents(str(tmp_path))
    log.begin("a")
    log.write([CreateNetns("x").as_record()])
    mine = set(os.listdir(log.folder))
    monkeypatch.setattr(os, "getpid", lambda: DEAD)  # as a child sees itself after fork()
    monkeypatch.setattr("nsnet.state.intents._self_start", lambda: 7)
    log.write([CreateNetns("y").as_record()])
    assert set(os.listdir(log.folder)) - mine == {f"{DEAD}-7"}


def test_an_engine_with_a_fake_kernel_never_needs_root_for_settling(tmp_path):
    kernel = FakeKernel()
    kernel.namespaces.add("h")
    with Engine(host_netns="h", state_dir=str(tmp_path), kernel=kernel) as eng:
        assert eng.settle() == []
