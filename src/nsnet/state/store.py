"""The local state of one state directory, behind one interface (`Store`):

    the SQLite file state.db (WAL)   networks, sandboxes, endpoints, links,
                                     routes, published ports, small facts (meta)
                                     and which topology owns which object
    store.processes                  process records (JSON files, processes.py)
    store.intents                    write-ahead intents of changes in progress (intents.py)

The store is the truth for what should exist; the kernel for what does. Every
changing engine call runs inside `transaction()` (BEGIN IMMEDIATE), held across
its kernel steps: concurrent nsnet processes serialise instead of racing for
addresses or names, and a failed call leaves the store as it was. SQL lives
here, in faultrows.py (faults' rows) and in database.py (the schema, opening
the file) only. The SQLite file is opened on first use: reaching the process
records costs no database.
"""

import contextlib
import functools
import json
import os
import sqlite3
import time

from ..errors import PermissionDenied, StateError
from . import database
from .faultrows import FaultRows
from .intents import Intents
from .processes import ProcessRecords

TOPOLOGY_KINDS = ("network", "sandbox")  # links and routes belong to their sandboxes

_IP_COLUMN = {4: "ip", 6: "ip6"}  # an endpoint's address of each family


def _row(row: sqlite3.Row | None) -> dict | None:
    if row is None:
        return None
    out = dict(row)
    if "options" in out:  # the one JSON column
        out["options"] = json.loads(out["options"] or "{}")
    return out


class Store(FaultRows):
    def __init__(self, state_dir: str):
        self.state_dir = state_dir
        self.path = os.path.join(state_dir, "state.db")
        self.processes = ProcessRecords(state_dir)
        self.intents = Intents(state_dir)
        self._ip_hints: dict[str, int] = {}
        self._hint_version = None
        self._depth = 0
        self._unsaved = False  # committed since state.db.bak was last refreshed by us
        self._backup_check = 0.0  # monotonic time of the next look at the backup's age
        self._lock_timeout = database.lock_timeout()

    @functools.cached_property
    def db(self) -> sqlite3.Connection:
        """The connection, opened on first use (then a plain attribute). Only
        this module runs SQL on it."""
        try:
            os.makedirs(self.state_dir, mode=0o755, exist_ok=True)
        except PermissionError:
            raise PermissionDenied(f"cannot create state directory {self.state_dir} (run as root?)")
        except OSError as exc:
            raise StateError(f"cannot create state directory {self.state_dir}: {exc.strerror or exc}")
        return database.connect(self.path)

    def close(self) -> None:
        """Refresh the backup if this connection changed the store, then close."""
        self.intents.close()
        if self._unsaved:
            self._backup()
        db = self.__dict__.pop("db", None)
        if db is not None:
            db.close()

    def exists(self) -> bool:
        """Is the database file there? (False once the state directory was removed.)"""
        return os.path.exists(self.path)

    def version(self) -> int:
        """A number that moves whenever another connection commits (PRAGMA data_version)."""
        return self._run("PRAGMA data_version").fetchone()[0]

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
        self._begin()
        self._depth = 1
        try:
            yield
        except BaseException:
            self._rollback()
            raise
        else:
            if commit:
                try:
                    self.db.execute("COMMIT")
                except sqlite3.Error as exc:
                    self._rollback()
                    raise self._failure(exc) from None
                self._unsaved = True
                if time.monotonic() >= self._backup_check:  # a long-lived engine: now and then
                    self._backup_check = time.monotonic() + database.BACKUP_EVERY
                    if database.backup_due(self.path):
                        self._backup()
            else:
                self._rollback()
        finally:
            self._depth = 0

    def _begin(self) -> None:
        """BEGIN IMMEDIATE. While others hold the write lock, wait in slices
        (database.WAIT_SLICE): without limit while the store moves (another
        process committed since the last look: PRAGMA data_version), so any
        number of processes queue; up to the lock timeout without a commit by
        anyone (a holder that is stuck), then one line."""
        db = self.db
        seen, deadline = None, 0.0
        while True:
            try:
                db.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.Error as exc:
                if not database.is_busy(exc):
                    raise self._failure(exc) from None
                busy = exc
            now = time.monotonic()
            try:
                version = db.execute("PRAGMA data_version").fetchone()[0]
            except sqlite3.Error:
                version = seen
            if version != seen or seen is None:
                seen, deadline = version, now + self._lock_timeout
            elif now >= deadline:
                raise database.failure(busy, self.path, self._lock_timeout) from None
            import random  # only when the store is busy: a command that waits for nobody never loads it

            time.sleep(random.uniform(0.005, 0.05))

    def _rollback(self) -> None:
        self._ip_hints.clear()  # they may name addresses the rollback freed
        try:
            self.db.execute("ROLLBACK")
        except sqlite3.Error as exc:
            if self.db.in_transaction:  # else SQLite rolled back itself (I/O error, corruption...)
                raise self._failure(exc) from None

    def _backup(self) -> None:
        """Refresh state.db.bak (~1 ms); a failed copy never fails the change."""
        self._unsaved = False
        try:
            database.backup(self.db, self.path)
        except (OSError, sqlite3.Error):
            pass

    def _failure(self, exc: sqlite3.Error):
        return database.failure(exc, self.path)

    # every statement goes through these: sqlite3 errors leave as one-line NsnetErrors
    def _run(self, sql, args=()):
        try:
            return self.db.execute(sql, args)
        except sqlite3.Error as exc:
            raise self._failure(exc) from None

    def _many(self, sql, rows) -> None:
        try:
            self.db.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise self._failure(exc) from None

    def _rows(self, sql, *args) -> list:
        try:
            return self.db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise self._failure(exc) from None

    def _one(self, sql, *args):  # a key's row: at most one
        rows = self._rows(sql, *args)
        return _row(rows[0]) if rows else None

    def _all(self, sql, *args):
        return [_row(r) for r in self._rows(sql, *args)]

    def _where(self, table: str, **equal):
        """Rows of `table` (by id) whose columns equal the given non-None values."""
        wanted = {col: value for col, value in equal.items() if value is not None}
        clause = " AND ".join(f"{col}=?" for col in wanted) or "1=1"
        return self._all(f"SELECT * FROM {table} WHERE {clause} ORDER BY id", *wanted.values())

    # networks
    def network(self, name):
        return self._one("SELECT * FROM networks WHERE name=?", name)

    def networks(self):
        return self._all("SELECT * FROM networks ORDER BY created, name")

    def add_network(self, name, driver, subnet, gateway, bridge, mtu, options, subnet6=None, gateway6=None):
        self._run(
            "INSERT INTO networks (name, driver, subnet, gateway, bridge, mtu, options, subnet6, gateway6) "
            "VALUES (?,?,?,?,?,?,?,?,?)",
            (name, driver, subnet, gateway, bridge, mtu, json.dumps(options), subnet6, gateway6),
        )

    def remove_network(self, name):
        self._run("DELETE FROM networks WHERE name=?", (name,))

    # sandboxes
    def sandbox(self, name):
        return self._one("SELECT * FROM sandboxes WHERE name=?", name)

    def sandbox_of_netns(self, netns):
        return self._one("SELECT * FROM sandboxes WHERE netns=?", netns)

    def sandboxes(self):
        return self._all("SELECT * FROM sandboxes ORDER BY created, name")

    def add_sandbox(self, name, netns, options=None):
        self._run(
            "INSERT INTO sandboxes (name, netns, options) VALUES (?,?,?)",
            (name, netns, json.dumps(options or {})),
        )

    def set_sandbox_mode(self, name, mode):
        self._run("UPDATE sandboxes SET mode=? WHERE name=?", (mode, name))

    def remove_sandbox(self, name):
        self._run("DELETE FROM sandboxes WHERE name=?", (name,))

    # endpoints
    def endpoints(self, network=None, sandbox=None):
        return self._where("endpoints", network=network, sandbox=sandbox)

    def endpoint(self, network, sandbox, ifname=None):
        """The sandbox's endpoint on `network` with interface `ifname` (None: its first there)."""
        if ifname is not None:
            return self._one("SELECT * FROM endpoints WHERE network=? AND sandbox=? AND ifname=?",
                             network, sandbox, ifname)
        return self._one("SELECT * FROM endpoints WHERE network=? AND sandbox=? ORDER BY id LIMIT 1",
                         network, sandbox)

    def endpoint_count(self, network) -> int:
        return self._rows("SELECT COUNT(*) FROM endpoints WHERE network=?", network)[0][0]

    def used_ips(self, network, version: int = 4):
        column = _IP_COLUMN[version]
        return [r[0] for r in self._rows(f"SELECT {column} FROM endpoints WHERE network=? AND {column} IS NOT NULL",
                                         network)]

    def add_endpoint(self, network, sandbox, ifname, ip, is_gateway, options=None, ip6=None,
                     is_gateway6=False) -> int:
        cur = self._run(
            "INSERT INTO endpoints (network, sandbox, ifname, ip, is_gateway, options, ip6, is_gateway6) "
            "VALUES (?,?,?,?,?,?,?,?)",
            (network, sandbox, ifname, ip, int(is_gateway), json.dumps(options or {}), ip6, int(is_gateway6)),
        )
        return cur.lastrowid

    def set_endpoint_host_ifname(self, endpoint_id, host_ifname):
        self._run("UPDATE endpoints SET host_ifname=? WHERE id=?", (host_ifname, endpoint_id))

    def set_endpoint_gateway(self, endpoint_id, version: int = 4):
        column = "is_gateway" if version == 4 else "is_gateway6"
        self._run(f"UPDATE endpoints SET {column}=1 WHERE id=?", (endpoint_id,))

    def remove_endpoint(self, endpoint_id):
        self._run("DELETE FROM endpoints WHERE id=?", (endpoint_id,))
        self._ip_hints.clear()

    def ip_taken(self, network, ip) -> bool:
        column = _IP_COLUMN[6 if ":" in ip else 4]
        return self._one(f"SELECT 1 AS taken FROM endpoints WHERE network=? AND {column}=?", network, ip) is not None

    # IPAM hints: per network and family, an address below which every one is
    # taken, so an attach need not read all of a network's addresses (O(N) per
    # attach). Kept while no other connection commits (PRAGMA data_version) and
    # nothing is freed or rolled back through this one.
    def free_ip_hint(self, network, family: int = 4) -> int | None:
        version = self.version()
        if version != self._hint_version:
            self._ip_hints.clear()
            self._hint_version = version
        return self._ip_hints.get((network, family))

    def set_free_ip_hint(self, network, value: int, family: int = 4) -> None:
        self._ip_hints[(network, family)] = value

    # direct links
    def links(self, sandbox=None):
        if sandbox is None:
            return self._all("SELECT * FROM links ORDER BY id")
        return self._all("SELECT * FROM links WHERE a=? OR b=? ORDER BY id", sandbox, sandbox)

    def link(self, a, b):
        return self._one("SELECT * FROM links WHERE (a=? AND b=?) OR (a=? AND b=?)", a, b, b, a)

    def add_link(self, a, b, ifname_a, ifname_b, ip_a, ip_b, ip6_a=None, ip6_b=None):
        self._run(
            "INSERT INTO links (a, b, ifname_a, ifname_b, ip_a, ip_b, ip6_a, ip6_b) VALUES (?,?,?,?,?,?,?,?)",
            (a, b, ifname_a, ifname_b, ip_a, ip_b, ip6_a, ip6_b),
        )

    def remove_link(self, link_id):
        self._run("DELETE FROM links WHERE id=?", (link_id,))

    # routes
    def routes(self, sandbox=None):
        if sandbox is None:
            return self._all("SELECT * FROM routes ORDER BY sandbox, dest")
        return self._all("SELECT * FROM routes WHERE sandbox=? ORDER BY dest", sandbox)

    def route(self, sandbox, dest):
        return self._one("SELECT * FROM routes WHERE sandbox=? AND dest=?", sandbox, dest)

    def add_route(self, sandbox, dest, via, dev):
        self._run("INSERT INTO routes (sandbox, dest, via, dev) VALUES (?,?,?,?)", (sandbox, dest, via, dev))

    def remove_route(self, sandbox, dest):
        self._run("DELETE FROM routes WHERE sandbox=? AND dest=?", (sandbox, dest))

    # published ports
    def ports(self, sandbox=None, network=None, sandbox_ip=None):
        return self._where("ports", sandbox=sandbox, network=network, sandbox_ip=sandbox_ip)

    def ports_on(self, proto, host_port):
        return self._all("SELECT * FROM ports WHERE proto=? AND host_port=?", proto, host_port)

    def add_port(self, sandbox, network, sandbox_ip, host_ip, host_port, proto, sandbox_port):
        self._run(
            "INSERT INTO ports (sandbox, network, sandbox_ip, host_ip, host_port, proto, sandbox_port) "
            "VALUES (?,?,?,?,?,?,?)", (sandbox, network, sandbox_ip, host_ip, host_port, proto, sandbox_port))

    def remove_port(self, port_id):
        self._run("DELETE FROM ports WHERE id=?", (port_id,))

    def remove_ports(self, sandbox, network, sandbox_ip):
        self._run("DELETE FROM ports WHERE sandbox=? AND network=? AND sandbox_ip=?", (sandbox, network, sandbox_ip))

    # small key/value facts (e.g. the host's ip_forward before nsnet changed it)
    def meta(self, key):
        rows = self._rows("SELECT value FROM meta WHERE key=?", key)
        return rows[0][0] if rows else None

    def set_meta(self, key, value):
        if value is None:
            self._run("DELETE FROM meta WHERE key=?", (key,))
        else:
            self._run("INSERT OR REPLACE INTO meta (key, value) VALUES (?,?)", (key, value))

    # which topology owns which network and sandbox (topology files' `up` / `down`)
    def topology_owners(self) -> dict[tuple[str, str], str]:
        """{(kind, name): topology} for every claimed object."""
        return {(k, n): t for k, n, t in self._rows("SELECT kind, name, topology FROM topology_objects")}

    def topology_owned(self, topology: str) -> dict[str, set[str]]:
        out = {kind: set() for kind in TOPOLOGY_KINDS}
        for kind, name in self._rows("SELECT kind, name FROM topology_objects WHERE topology=?", topology):
            out.setdefault(kind, set()).add(name)
        return out

    def topology_claim(self, topology: str, kind: str, names) -> None:
        self._many("INSERT OR IGNORE INTO topology_objects (kind, name, topology) VALUES (?,?,?)",
                            [(kind, name, topology) for name in names])

    def topology_release(self, topology: str, kind: str, names) -> None:
        self._many("DELETE FROM topology_objects WHERE kind=? AND name=? AND topology=?",
                            [(kind, name, topology) for name in names])

    def snapshot(self) -> dict:
        """Every row of every table: tests compare it before/after a refused call."""
        return {t: [tuple(r) for r in self._rows(f"SELECT * FROM {t} ORDER BY rowid")] for t in database.TABLES}
