"""A sandbox may be on one network through several interfaces (a CNI runtime's
eth0 and eth1): one endpoint each, told apart by the interface name."""

import sqlite3

import pytest

from nsnet.errors import Conflict
from nsnet.state import database
from nsnet.state.store import Store


def test_a_second_interface_on_the_same_network(engine):
    engine.network_create("net", subnet="10.5.0.0/24")
    engine.sandbox_create("web", networks=["net"])
    with pytest.raises(Conflict, match=r"already connected to network 'net' .*needs an interface name"):
        engine.network_connect("net", "web")
    second = engine.network_connect("net", "web", ifname="eth1", publish=["8080:80"])
    assert (second["ifname"], second["ip"], second["is_gateway"]) == ("eth1", "10.5.0.3", 0)
    assert engine.endpoint_get("net", "web", "eth1")["ip"] == "10.5.0.3"
    assert engine.endpoint_get("net", "web")["ifname"] == "eth0"  # the first, without a name

    with pytest.raises(Conflict, match=r"has 2 interfaces on network 'net' \(eth0, eth1\): name the one"):
        engine.network_disconnect("net", "web")
    with pytest.raises(Conflict, match="not connected to network 'net' with interface eth2"):
        engine.network_disconnect("net", "web", ifname="eth2")
    engine.network_disconnect("net", "web", ifname="eth1")
    assert [(e["ifname"], e["ip"]) for e in engine.endpoint_rows(sandbox="web")] == [("eth0", "10.5.0.2")]
    assert engine.port_ls() == []  # eth1's port went with it
    engine.network_disconnect("net", "web")  # the only one left: no name needed


def test_ports_of_one_interface_go_with_it(engine):
    engine.network_create("net", subnet="10.5.0.0/24")
    engine.sandbox_create("web", networks=["net"], publish=["8080:80"])
    engine.network_connect("net", "web", ifname="eth1", publish=["8081:81"])
    engine.network_disconnect("net", "web", ifname="eth0")
    assert [(p["host_port"], p["sandbox_ip"]) for p in engine.port_ls()] == [(8081, "10.5.0.3")]


def test_a_store_of_version_3_takes_a_second_interface(tmp_path):
    """A state.db made when endpoints were UNIQUE (network, sandbox) keeps its
    rows (and ids) and takes a second interface once opened."""
    path = tmp_path / "state.db"
    old = database.SCHEMA.replace("UNIQUE (network, sandbox, ifname))", database.ENDPOINTS_UNIQUE_BEFORE_4)
    assert old != database.SCHEMA
    db = sqlite3.connect(path)
    db.executescript(old + database.AFTER_COLUMNS + "PRAGMA user_version=3;")
    db.execute("INSERT INTO networks (name, driver, subnet, gateway, bridge) VALUES "
               "('n', 'bridge', '10.0.0.0/24', '10.0.0.1', 'nsbr-n')")
    db.execute("INSERT INTO sandboxes (name, netns) VALUES ('s', 'h-s')")
    db.execute("INSERT INTO endpoints (id, network, sandbox, ifname, ip) VALUES (7, 'n', 's', 'eth0', '10.0.0.2')")
    db.commit()
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO endpoints (network, sandbox, ifname, ip) VALUES ('n', 's', 'eth1', '10.0.0.3')")
    db.close()
    store = Store(str(tmp_path))
    try:
        assert store.endpoint("n", "s")["id"] == 7
        assert store.add_endpoint("n", "s", "eth1", "10.0.0.3", False) == 8
        assert [e["ifname"] for e in store.endpoints(network="n")] == ["eth0", "eth1"]
        with pytest.raises(Conflict):  # the address index came back with the table
            store.add_endpoint("n", "s", "eth2", "10.0.0.3", False)
        names = {r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE tbl_name='endpoints'")}
        assert {"endpoint_ip", "endpoint_ip6", "endpoint_sandbox"} <= names
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == database.SCHEMA_VERSION
    finally:
        store.close()
