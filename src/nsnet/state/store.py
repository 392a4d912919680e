"""The local state of one state directory, behind one interface (`Store`):

    the SQLite file state.db (WAL)   networks, sandboxes, endpoints, links,
                                     routes, published ports, small facts (meta)
                                     and which topology owns which object
    store.processes                  process records (JSON files, processes.py)

The store is the truth for what should exist; the kernel for what does. Every
changing engine call runs inside `transaction()` (BEGIN IMMEDIATE), held across
its kernel steps: concurrent nsnet processes serialise instead of racing for
addresses or names, and a failed call leaves the store as it was. SQL lives
in this module only. The SQLite file is opened on first use: reaching the
process records costs no database.
"""

import contextlib
import functools
import json
import os
import sqlite3

from ..errors import PermissionDenied
from .processes import ProcessRecords

SCHEMA = """
CREATE TABLE IF NOT EXISTS networks (
    name TEXT PRIMARY KEY, driver TEXT NOT NULL, subnet TEXT, gateway TEXT,
    bridge TEXT, mtu INTEGER, options TEXT NOT NULL DEFAULT '{}',
    created REAL NOT NULL DEFAULT ((julianday('now') - 2440587.5) * 86400.0));
CREATE TABLE IF NOT EXISTS sandboxes (
    name TEXT PRIMARY KEY, netns TEXT NOT NULL UNIQUE, mode TEXT NOT NULL DEFAULT 'netns',
    options TEXT NOT NULL DEFAULT '{}',
    created REAL NOT NULL DEFAULT ((julianday('now') - 2440587.5) * 86400.0));
CREATE TABLE IF NOT EXISTS endpoints (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    network TEXT NOT NULL REFERENCES networks(name),
    sandbox TEXT NOT NULL REFERENCES sandboxes(name),
    ifname TEXT, host_ifname TEXT, ip TEXT, is_gateway INTEGER NOT NULL DEFAULT 0,
    options TEXT NOT NULL DEFAULT '{}',
    UNIQUE (network, sandbox));
CREATE UNIQUE INDEX IF NOT EXISTS endpoint_ip ON endpoints (network, ip);
CREATE TABLE IF NOT EXISTS links (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    a TEXT NOT NULL REFERENCES sandboxes(name), b TEXT NOT NULL REFERENCES sandboxes(name),
    ifname_a TEXT NOT NULL, ifname_b TEXT NOT NULL, ip_a TEXT, ip_b TEXT,
    UNIQUE (a, b));
CREATE TABLE IF NOT EXISTS ports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sandbox TEXT NOT NULL REFERENCES sandboxes(name), network TEXT NOT NULL REFERENCES networks(name),
    sandbox_ip TEXT NOT NULL, host_ip TEXT NOT NULL DEFAULT '', host_port INTEGER NOT NULL,
    proto TEXT NOT NULL, sandbox_port INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS port_lookup ON ports (proto, host_port);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS routes (
    sandbox TEXT NOT NULL REFERENCES sandboxes(name), dest TEXT NOT NULL,
    via TEXT, dev TEXT, PRIMARY KEY (sandbox, dest));
CREATE INDEX IF NOT EXISTS endpoint_sandbox ON endpoints (sandbox);
CREATE INDEX IF NOT EXISTS link_a ON links (a);
CREATE INDEX IF NOT EXISTS link_b ON links (b);
CREATE INDEX IF NOT EXISTS port_sandbox ON ports (sandbox, network);
CREATE TABLE IF NOT EXISTS topology_objects (
    kind TEXT NOT NULL, name TEXT NOT NULL, topology TEXT NOT NULL,
    PRIMARY KEY (kind, name));
"""
TOPOLOGY_KINDS = ("network", "sandbox")  # links and routes belong to their sandboxes
TABLES = ("networks", "sandboxes", "endpoints", "links", "routes", "ports", "meta", "topology_objects")

JSON_COLUMNS = ("options",)


def _row(row: sqlite3.Row | None) -> dict | None:
    if row is None:
        return None
    out = dict(row)
    for col in JSON_COLUMNS:
        if col in out:
            out[col] = json.loads(out[col] or "{}")
    return out


class Store:
    def __init__(self, state_dir: str):
        self.state_dir = state_dir
        self.path = os.path.join(state_dir, "state.db")
        self.processes = ProcessRecords(state_dir)
        self._ip_hints: dict[str, int] = {}
        self._hint_version = None
        self._depth = 0

    @functools.cached_property
    def db(self) -> sqlite3.Connection:
        """The connection, opened on first use (then a plain attribute)."""
        try:
            os.makedirs(self.state_dir, mode=0o755, exist_ok=True)
        except PermissionError:
            raise PermissionDenied(f"cannot create state directory {self.state_dir} (run as root?)")
        db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        db.executescript(SCHEMA)
        return db

    def close(self) -> None:
        if "db" in self.__dict__:
            self.__dict__.pop("db").close()

    def exists(self) -> bool:
        """Is the database file there? (False once the state directory was removed.)"""
        return os.path.exists(self.path)

    def version(self) -> int:
        """A number that moves whenever another connection commits (PRAGMA data_version)."""
        return self.db.execute("PRAGMA data_version").fetchone()[0]

    @contextlib.contextmanager
    def transaction(self, commit: bool = True):
        """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on an exception or when
        `commit` is False (a dry run); nested uses join the outer transaction."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self.db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._rollback()
            raise
        else:
            if commit:
                self.db.execute("COMMIT")
            else:
                self._rollback()
        finally:
            self._depth = 0

    def _rollback(self) -> None:
        self.db.execute("ROLLBACK")
        self._ip_hints.clear()  # they may name addresses the rollback freed

    def _one(self, sql, *args):
        return _row(self.db.execute(sql, args).fetchone())

    def _where(self, table: str, **equal):
        """Rows of `table` (by id) whose columns equal the given non-None values."""
        wanted = {col: value for col, value in equal.items() if value is not None}
        clause = " AND ".join(f"{col}=?" for col in wanted) or "1=1"
        return self._all(f"SELECT * FROM {table} WHERE {clause} ORDER BY id", *wanted.values())

    def _all(self, sql, *args):
        return [_row(r) for r in self.db.execute(sql, args).fetchall()]

    # networks
    def network(self, name):
        return self._one("SELECT * FROM networks WHERE name=?", name)

    def networks(self):
        return self._all("SELECT * FROM networks ORDER BY created, name")

    def add_network(self, name, driver, subnet, gateway, bridge, mtu, options):
        self.db.execute(
            "INSERT INTO networks (name, driver, subnet, gateway, bridge, mtu, options) "
            "VALUES (?,?,?,?,?,?,?)",
            (name, driver, subnet, gateway, bridge, mtu, json.dumps(options)),
        )

    def remove_network(self, name):
        self.db.execute("DELETE FROM networks WHERE name=?", (name,))

    # sandboxes
    def sandbox(self, name):
        return self._one("SELECT * FROM sandboxes WHERE name=?", name)

    def sandboxes(self):
        return self._all("SELECT * FROM sandboxes ORDER BY created, name")

    def add_sandbox(self, name, netns, options=None):
        self.db.execute(
            "INSERT INTO sandboxes (name, netns, options) VALUES (?,?,?)",
            (name, netns, json.dumps(options or {})),
        )

    def set_sandbox_mode(self, name, mode):
        self.db.execute("UPDATE sandboxes SET mode=? WHERE name=?", (mode, name))

    def remove_sandbox(self, name):
        self.db.execute("DELETE FROM sandboxes WHERE name=?", (name,))

    # endpoints
    def endpoints(self, network=None, sandbox=None):
        return self._where("endpoints", network=network, sandbox=sandbox)

    def endpoint(self, network, sandbox):
        return self._one("SELECT * FROM endpoints WHERE network=? AND sandbox=?", network, sandbox)

    def used_ips(self, network):
        rows = self.db.execute("SELECT ip FROM endpoints WHERE network=? AND ip IS NOT NULL", (network,))
        return [r[0] for r in rows]

    def add_endpoint(self, network, sandbox, ifname, ip, is_gateway, options=None) -> int:
        cur = self.db.execute(
            "INSERT INTO endpoints (network, sandbox, ifname, ip, is_gateway, options) VALUES (?,?,?,?,?,?)",
            (network, sandbox, ifname, ip, int(is_gateway), json.dumps(options or {})),
        )
        return cur.lastrowid

    def set_endpoint_host_ifname(self, endpoint_id, host_ifname):
        self.db.execute("UPDATE endpoints SET host_ifname=? WHERE id=?", (host_ifname, endpoint_id))

    def set_endpoint_gateway(self, endpoint_id):
        self.db.execute("UPDATE endpoints SET is_gateway=1 WHERE id=?", (endpoint_id,))

    def remove_endpoint(self, endpoint_id):
        self.db.execute("DELETE FROM endpoints WHERE id=?", (endpoint_id,))
        self._ip_hints.clear()

    def ip_taken(self, network, ip) -> bool:
        return self.db.execute("SELECT 1 FROM endpoints WHERE network=? AND ip=?", (network, ip)).fetchone() is not None

    # IPAM hints: per network, an address below which every one is taken, so an
    # attach need not read all of a network's addresses (O(N) per attach). Kept
    # while no other connection commits (PRAGMA data_version) and nothing is
    # freed or rolled back through this one.
    def free_ip_hint(self, network) -> int | None:
        version = self.version()
        if version != self._hint_version:
            self._ip_hints.clear()
            self._hint_version = version
        return self._ip_hints.get(network)

    def set_free_ip_hint(self, network, value: int) -> None:
        self._ip_hints[network] = value

    # direct links
    def links(self, sandbox=None):
        if sandbox is None:
            return self._all("SELECT * FROM links ORDER BY id")
        return self._all("SELECT * FROM links WHERE a=? OR b=? ORDER BY id", sandbox, sandbox)

    def link(self, a, b):
        return self._one("SELECT * FROM links WHERE (a=? AND b=?) OR (a=? AND b=?)", a, b, b, a)

    def add_link(self, a, b, ifname_a, ifname_b, ip_a, ip_b):
        self.db.execute(
            "INSERT INTO links (a, b, ifname_a, ifname_b, ip_a, ip_b) VALUES (?,?,?,?,?,?)",
            (a, b, ifname_a, ifname_b, ip_a, ip_b),
        )

    def remove_link(self, link_id):
        self.db.execute("DELETE FROM links WHERE id=?", (link_id,))

    # routes
    def routes(self, sandbox=None):
        if sandbox is None:
            return self._all("SELECT * FROM routes ORDER BY sandbox, dest")
        return self._all("SELECT * FROM routes WHERE sandbox=? ORDER BY dest", sandbox)

    def route(self, sandbox, dest):
        return self._one("SELECT * FROM routes WHERE sandbox=? AND dest=?", sandbox, dest)

    def add_route(self, sandbox, dest, via, dev):
        self.db.execute("INSERT INTO routes (sandbox, dest, via, dev) VALUES (?,?,?,?)", (sandbox, dest, via, dev))

    def remove_route(self, sandbox, dest):
        self.db.execute("DELETE FROM routes WHERE sandbox=? AND dest=?", (sandbox, dest))

    # published ports
    def ports(self, sandbox=None, network=None):
        return self._where("ports", sandbox=sandbox, network=network)

    def ports_on(self, proto, host_port):
        return self._all("SELECT * FROM ports WHERE proto=? AND host_port=?", proto, host_port)

    def add_port(self, sandbox, network, sandbox_ip, host_ip, host_port, proto, sandbox_port):
        self.db.execute(
            "INSERT INTO ports (sandbox, network, sandbox_ip, host_ip, host_port, proto, sandbox_port) "
            "VALUES (?,?,?,?,?,?,?)", (sandbox, network, sandbox_ip, host_ip, host_port, proto, sandbox_port))

    def remove_port(self, port_id):
        self.db.execute("DELETE FROM ports WHERE id=?", (port_id,))

    def remove_ports(self, sandbox, network):
        self.db.execute("DELETE FROM ports WHERE sandbox=? AND network=?", (sandbox, network))

    # small key/value facts (e.g. the host's ip_forward before nsnet changed it)
    def meta(self, key):
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key, value):
        if value is None:
            self.db.execute("DELETE FROM meta WHERE key=?", (key,))
        else:
            self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?,?)", (key, value))

    # which topology owns which network and sandbox (topology files' `up` / `down`)
    def topology_owners(self) -> dict[tuple[str, str], str]:
        """{(kind, name): topology} for every claimed object."""
        return {(k, n): t for k, n, t in self.db.execute("SELECT kind, name, topology FROM topology_objects")}

    def topology_owned(self, topology: str) -> dict[str, set[str]]:
        out = {kind: set() for kind in TOPOLOGY_KINDS}
        for kind, name in self.db.execute("SELECT kind, name FROM topology_objects WHERE topology=?", (topology,)):
            out.setdefault(kind, set()).add(name)
        return out

    def topology_claim(self, topology: str, kind: str, names) -> None:
        self.db.executemany("INSERT OR IGNORE INTO topology_objects (kind, name, topology) VALUES (?,?,?)",
                            [(kind, name, topology) for name in names])

    def topology_release(self, topology: str, kind: str, names) -> None:
        self.db.executemany("DELETE FROM topology_objects WHERE kind=? AND name=? AND topology=?",
                            [(kind, name, topology) for name in names])

    def topologies(self) -> list[str]:
        return [row[0] for row in self.db.execute("SELECT DISTINCT topology FROM topology_objects ORDER BY 1")]

    def snapshot(self) -> dict:
        """Every row of every table: tests compare it before/after a refused call."""
        return {t: [tuple(r) for r in self.db.execute(f"SELECT * FROM {t} ORDER BY rowid")] for t in TABLES}
