"""The local state's contract (nsnet.state.store.Store and its parts), no root."""

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from nsnet.errors import Conflict, StateError
from nsnet.state.processes import ProcessRecords
from nsnet.state.store import Store


@pytest.fixture
def store(tmp_path):
    s = Store(str(tmp_path / "state"))
    yield s
    s.close()


def add_lan(store, name="lan"):
    store.add_network(name, "bridge", "10.0.0.0/24", "10.0.0.1", f"nsbr-{name}", None, {"dns": True})


def test_opening_costs_nothing_until_the_database_is_used(tmp_path):
    where = tmp_path / "state"
    s = Store(str(where))
    assert isinstance(s.processes, ProcessRecords) and s.processes.names() == []
    assert not where.exists()  # neither the directory nor state.db yet
    s.close()
    assert s.networks() == [] and (where / "state.db").exists() and s.exists()
    s.close()


def test_rows_come_back_with_their_options_decoded(store):
    add_lan(store)
    store.add_sandbox("web", "h-web", {"k": 1})
    ep = store.add_endpoint("lan", "web", "eth0", "10.0.0.2", True, {"aliases": ["api"]})
    assert store.network("lan")["options"] == {"dns": True}
    assert store.sandbox("web")["options"] == {"k": 1} and store.sandbox("web")["mode"] == "netns"
    assert store.endpoint("lan", "web")["options"] == {"aliases": ["api"]}
    assert [e["id"] for e in store.endpoints(sandbox="web")] == [ep]
    assert store.endpoints(network="other") == [] and store.used_ips("lan") == ["10.0.0.2"]
    assert store.network("nope") is None and store.sandbox("nope") is None


def test_one_address_per_network(store):
    add_lan(store)
    store.add_sandbox("a", "h-a")
    store.add_sandbox("b", "h-b")
    store.add_endpoint("lan", "a", "eth0", "10.0.0.2", True)
    with pytest.raises(Conflict, match="UNIQUE constraint failed"):
        store.add_endpoint("lan", "b", "eth0", "10.0.0.2", True)


def test_a_failed_transaction_leaves_the_store_as_it_was(store):
    add_lan(store)
    before = store.snapshot()
    with pytest.raises(RuntimeError), store.transaction():
        store.add_sandbox("web", "h-web")
        with store.transaction():  # nested: joins the outer one
            store.topology_claim("lab", "sandbox", ["web"])
        raise RuntimeError("half-way")
    assert store.snapshot() == before
    with store.transaction():
        store.add_sandbox("web", "h-web")
    assert store.sandbox("web") is not None


def test_topology_ownership(store):
    with store.transaction():
        store.topology_claim("lab", "network", ["n1", "n2"])
        store.topology_claim("lab", "sandbox", ["s1"])
        store.topology_claim("other", "sandbox", ["s1", "s2"])  # s1 is lab's already: kept
    assert store.topology_owned("lab") == {"network": {"n1", "n2"}, "sandbox": {"s1"}}
    assert store.topology_owners()[("sandbox", "s1")] == "lab"
    assert set(store.topology_owners().values()) == {"lab", "other"}
    store.topology_release("other", "sandbox", ["s1"])  # not other's: nothing happens
    assert store.topology_owners()[("sandbox", "s1")] == "lab"
    store.topology_release("lab", "network", ["n1", "n2"])
    store.topology_release("lab", "sandbox", ["s1"])
    assert store.topology_owned("lab") == {"network": set(), "sandbox": set()}
    assert set(store.topology_owners().values()) == {"other"}
    assert store.snapshot()["topology_objects"] == [("sandbox", "s2", "other")]


def test_meta_facts(store):
    assert store.meta("ip_forward") is None
    store.set_meta("ip_forward", "0")
    assert store.meta("ip_forward") == "0"
    store.set_meta("ip_forward", None)
    assert store.meta("ip_forward") is None


def test_version_moves_when_another_connection_commits(store):
    first = store.version()
    assert store.version() == first
    other = Store(store.state_dir)
    add_lan(other)
    other.close()
    assert store.version() != first


def test_process_records_are_json_files(tmp_path):
    records = ProcessRecords(str(tmp_path))
    assert records.reserve("x", {"state": "exited"}, running=lambda r: False)
    with open(os.path.join(str(tmp_path), "processes", "x", "state.json")) as f:
        assert json.load(f) == {"state": "exited", "name": "x"}
    assert not [n for n in os.listdir(records.folder("x")) if n.startswith(".")]
    assert records.all() == [{"state": "exited", "name": "x"}]


def test_update_of_a_vanished_record_writes_nothing(tmp_path):
    records = ProcessRecords(str(tmp_path))
    assert records.update("ghost", state="exited") is None
    assert not os.path.exists(records.folder("ghost"))


def test_a_name_in_use_is_not_reserved_again(tmp_path):
    records = ProcessRecords(str(tmp_path))
    assert records.reserve("web", {"state": "running"}, running=lambda r: True)
    assert not records.reserve("web", {"state": "starting"}, running=lambda r: True)
    assert records.read("web")["state"] == "running"
    assert records.reserve("web", {"state": "starting"}, running=lambda r: False)  # its process is gone
    assert records.read("web")["state"] == "starting"


def test_the_store_reaches_the_same_process_records(store):
    ProcessRecords(store.state_dir).reserve("p", {"state": "exited"}, running=lambda r: False)
    assert store.processes.read("p")["name"] == "p"


# -- a damaged store: one clear error, never an empty state -------------------------------------------------

def made(tmp_path, rows: int = 300) -> Store:
    """A store with enough rows to span many pages, closed (WAL checkpointed)."""
    s = Store(str(tmp_path / "state"))
    with s.transaction():
        add_lan(s)
        for i in range(rows):
            s.add_sandbox(f"sandbox-{i:04d}-{'x' * 40}", f"h-{i}")
    s.close()
    return s


def reopened(s: Store) -> Store:
    return Store(s.state_dir)


def overwrite(path: str) -> None:
    with open(path, "r+b") as f:
        f.write(b"garbage!" * 64)


@pytest.mark.parametrize("damage, words", [
    (lambda p: os.truncate(p, 0), r"is empty \(0 bytes\)"),
    (lambda p: os.truncate(p, os.path.getsize(p) // 2), "is cut short"),
    (overwrite, "is not an SQLite database"),
    (os.unlink, "is missing"),
])
def test_damage_is_named_not_read_as_empty(tmp_path, damage, words):
    s = made(tmp_path)
    damage(s.path)
    fresh = reopened(s)
    with pytest.raises(StateError, match=words) as caught:
        fresh.sandboxes()
    assert "\n" not in str(caught.value) and "state.db.bak" in str(caught.value)  # the way back
    with pytest.raises(StateError):  # and again: nothing was "repaired" into an empty store
        fresh.sandboxes()


def test_a_directory_in_place_of_the_database(tmp_path):
    os.makedirs(tmp_path / "state" / "state.db")
    with pytest.raises(StateError, match="is a directory"):
        Store(str(tmp_path / "state")).networks()


def test_pages_damaged_in_the_middle(tmp_path):
    s = made(tmp_path, rows=2000)
    with open(s.path, "r+b") as f:
        f.seek(os.path.getsize(s.path) // 4096 // 2 * 4096)  # the middle: the sandboxes' rows, not the schema's
        f.write(os.urandom(20 * 4096))
    with pytest.raises(StateError, match=r"damaged|not an SQLite"):
        reopened(s).sandboxes()


def test_the_backup_is_a_way_back(tmp_path):
    s = made(tmp_path)
    assert os.path.exists(s.path + ".bak")  # the first commit made one
    os.truncate(s.path, 0)
    os.replace(s.path + ".bak", s.path)  # what the error message says to do (cp)
    assert len(reopened(s).sandboxes()) == 300


def test_a_store_from_before_the_marker_is_adopted(tmp_path):
    s = made(tmp_path)
    os.unlink(s.path + ".id")
    assert len(reopened(s).sandboxes()) == 300
    assert os.path.exists(s.path + ".id")


def test_a_lock_held_elsewhere_ends_in_one_line(tmp_path, monkeypatch):
    s = made(tmp_path, rows=1)
    monkeypatch.setenv("NSNET_LOCK_TIMEOUT", "0.2")
    holder = sqlite3.connect(s.path, isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("INSERT INTO meta (key, value) VALUES ('x', 'y')")
    try:
        fresh = reopened(s)
        with pytest.raises(StateError, match="locked by another process") as caught:
            with fresh.transaction():
                pass
        assert "database is locked" not in str(caught.value)
    finally:
        holder.close()
    with fresh.transaction():  # once the other process let go
        fresh.set_meta("x", "z")
    assert fresh.meta("x") == "z"


def test_a_writer_waits_beyond_the_lock_timeout_while_others_commit(tmp_path, monkeypatch):
    """A queue of writers longer than the lock timeout: the lock changes hands,
    the store moves, so the last in line waits its turn (the timeout is for a
    holder that is stuck, not for a long queue)."""
    s = made(tmp_path, rows=1)
    monkeypatch.setenv("NSNET_LOCK_TIMEOUT", "0.5")
    started = threading.Event()
    done = []

    def queue_ahead():  # 8 changes of 0.2 s back to back: 1.6 s of lock held, a commit after each
        others = Store(s.state_dir)
        for i in range(8):
            with others.transaction():
                started.set()
                others.set_meta(f"ahead-{i}", "x")
                time.sleep(0.2)
        done.append(others.meta("ahead-7"))
        others.close()

    ahead = threading.Thread(target=queue_ahead)
    ahead.start()
    try:
        started.wait(5)
        waiter = reopened(s)
        with waiter.transaction():  # before: "locked by another process (waited 0 s)" after 0.5 s
            waiter.set_meta("last", "x")
    finally:
        ahead.join()
    assert waiter.meta("last") == "x" and done == ["x"]


WRITER = """
import sys
from nsnet.state.store import Store
s = Store(sys.argv[1])
for i in range(15):
    with s.transaction():
        s.set_meta(f"{sys.argv[2]}-{i}", "x")
s.close()
"""


def test_writers_of_a_fresh_store_queue_instead_of_failing(tmp_path):
    """Processes opening a store that does not exist yet, and writing at once:
    every transaction lands (no "database is locked", no half-made schema)."""
    where = str(tmp_path / "state")
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, where, f"p{n}"], stderr=subprocess.PIPE, text=True)
             for n in range(8)]
    errors = [p.communicate(timeout=60)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, errors
    s = Store(where)
    assert len(s.snapshot()["meta"]) == 8 * 15
    s.close()
