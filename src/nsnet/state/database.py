"""state.db: its schema, opening it safely, and saying in one line what went
wrong with it.

A damaged store must never read as an empty one: SQLite takes a 0-byte file
for a new database, and a file cut short still answers every query that only
touches the pages that are left. So, before SQLite sees the file:

- `state.db.id` (the marker) is written once a store exists here: a missing or
  empty state.db next to it was truncated or removed, not never made;
- the header must be SQLite's, and the file as long as its header says.

`state.db.bak` is a copy of the store, refreshed when a connection that
changed the store closes (every CLI command that changed something), and after
a commit when it is older than BACKUP_EVERY seconds (long-lived engines): the
way back from damage (`cp state.db.bak state.db`). Every sqlite3 error leaves
as a StateError (or Conflict) naming the file and what to do; SQLite's own
"database is locked" never reaches a user: writers queue for the write lock
as long as the store moves (others commit), however many they are, and give
up with one line after the lock timeout without a commit by anyone
(NSNET_LOCK_TIMEOUT, default 30 s: a holder that is stuck).
"""

import os
import sqlite3
import time

from ..errors import Conflict, PermissionDenied, StateError

SCHEMA = """
CREATE TABLE IF NOT EXISTS networks (
    name TEXT PRIMARY KEY, driver TEXT NOT NULL, subnet TEXT, gateway TEXT,
    bridge TEXT, mtu INTEGER, options TEXT NOT NULL DEFAULT '{}',
    subnet6 TEXT, gateway6 TEXT,
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
    ip6 TEXT, is_gateway6 INTEGER NOT NULL DEFAULT 0,
    UNIQUE (network, sandbox, ifname));
CREATE UNIQUE INDEX IF NOT EXISTS endpoint_ip ON endpoints (network, ip);
CREATE TABLE IF NOT EXISTS links (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    a TEXT NOT NULL REFERENCES sandboxes(name), b TEXT NOT NULL REFERENCES sandboxes(name),
    ifname_a TEXT NOT NULL, ifname_b TEXT NOT NULL, ip_a TEXT, ip_b TEXT,
    ip6_a TEXT, ip6_b TEXT,
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
CREATE TABLE IF NOT EXISTS partition_groups (
    sandbox TEXT PRIMARY KEY REFERENCES sandboxes(name) ON DELETE CASCADE, grp INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS impairments (
    sandbox TEXT NOT NULL REFERENCES sandboxes(name) ON DELETE CASCADE, ifname TEXT NOT NULL DEFAULT '',
    spec TEXT NOT NULL, PRIMARY KEY (sandbox, ifname));
CREATE TABLE IF NOT EXISTS fault_tables (
    sandbox TEXT PRIMARY KEY REFERENCES sandboxes(name) ON DELETE CASCADE,
    active INTEGER NOT NULL, applied TEXT NOT NULL);
"""
# Columns added to tables of an older store (CREATE TABLE IF NOT EXISTS leaves
# an existing table as it is), then what reads them: IPv6 beside IPv4.
ADDED_COLUMNS = {
    "networks": (("subnet6", "TEXT"), ("gateway6", "TEXT")),
    "endpoints": (("ip6", "TEXT"), ("is_gateway6", "INTEGER NOT NULL DEFAULT 0")),
    "links": (("ip6_a", "TEXT"), ("ip6_b", "TEXT")),
}
AFTER_COLUMNS = "CREATE UNIQUE INDEX IF NOT EXISTS endpoint_ip6 ON endpoints (network, ip6);"
# Before version 4 a sandbox had one endpoint per network (UNIQUE (network, sandbox));
# now one per interface: SQLite changes a constraint only by copying the table.
ENDPOINTS_UNIQUE_BEFORE_4 = "UNIQUE (network, sandbox))"
SCHEMA_VERSION = 4  # PRAGMA user_version once SCHEMA is in place; bump it with SCHEMA
TABLES = ("networks", "sandboxes", "endpoints", "links", "routes", "ports", "meta", "topology_objects",
          "partition_groups", "impairments", "fault_tables")

MARKER_SUFFIX = ".id"
BACKUP_SUFFIX = ".bak"
BACKUP_EVERY = 60.0  # seconds
HEADER = b"SQLite format 3\x00"
DEFAULT_LOCK_TIMEOUT = 30.0
WAIT_SLICE = 0.25  # seconds SQLite waits for a lock in one go; between slices a writer looks for progress


def lock_timeout() -> float:
    try:
        return max(0.0, float(os.environ.get("NSNET_LOCK_TIMEOUT") or DEFAULT_LOCK_TIMEOUT))
    except ValueError:
        return DEFAULT_LOCK_TIMEOUT


def connect(path: str) -> sqlite3.Connection:
    """The store's connection, in WAL mode with the schema in place, after the
    file passed check_file. A busy answer SQLite gives at once (another process
    is setting up the same new file) is retried up to the lock timeout."""
    marker = check_file(path)
    timeout = lock_timeout()
    deadline = time.monotonic() + timeout
    while True:
        db = None
        try:
            db = sqlite3.connect(path, isolation_level=None, timeout=min(timeout, WAIT_SLICE))
            db.row_factory = sqlite3.Row
            _prepare(db, path, marker)
            break
        except sqlite3.Error as exc:
            if db is not None:
                db.close()
            if not is_busy(exc) or time.monotonic() >= deadline:
                raise failure(exc, path, timeout) from None
        import random  # only when the store is busy: a command nobody keeps waiting never loads it

        time.sleep(random.uniform(0.005, 0.05))
    try:
        write_marker(path)
    except OSError:
        pass  # a store nobody can write to: nothing to protect from truncation by us
    return db


def _prepare(db: sqlite3.Connection, path: str, marker: bool) -> None:
    if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    if db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
        return
    if marker and db.execute("SELECT 1 FROM sqlite_master WHERE name='networks'").fetchone() is None:
        raise StateError(f"state store {path} has no tables but {path}{MARKER_SUFFIX} says it held a store: "
                         f"{recovery(path)}")
    db.execute("BEGIN IMMEDIATE")
    try:
        for statement in SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
        for table, columns in ADDED_COLUMNS.items():
            have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
            for name, kind in columns:
                if name not in have:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
        db.execute(AFTER_COLUMNS)
        _endpoints_per_interface(db)
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _endpoints_per_interface(db: sqlite3.Connection) -> None:
    """An endpoints table of a store before version 4, copied into one that
    takes a second interface of a sandbox on the same network (its rows kept)."""
    sql = db.execute("SELECT sql FROM sqlite_master WHERE type='table' AND name='endpoints'").fetchone()[0]
    if ENDPOINTS_UNIQUE_BEFORE_4 not in sql:
        return
    create = next(st for st in SCHEMA.split(";") if "TABLE IF NOT EXISTS endpoints" in st)
    columns = ", ".join(row[1] for row in db.execute("PRAGMA table_info(endpoints)"))
    db.execute(create.replace("TABLE IF NOT EXISTS endpoints", "TABLE endpoints_v4"))
    db.execute(f"INSERT INTO endpoints_v4 ({columns}) SELECT {columns} FROM endpoints")
    db.execute("DROP TABLE endpoints")
    db.execute("ALTER TABLE endpoints_v4 RENAME TO endpoints")
    for index in [st for st in SCHEMA.split(";") if " ON endpoints " in st] + [AFTER_COLUMNS]:
        db.execute(index)


def check_file(path: str) -> bool:
    """Raise StateError if state.db at `path` is damaged; True if the marker says
    a store was made there, False for a fresh start."""
    marker = os.path.exists(path + MARKER_SUFFIX)
    try:
        with open(path, "rb") as f:
            header = f.read(100)
            size = os.fstat(f.fileno()).st_size
    except FileNotFoundError:
        if marker:
            raise StateError(f"state store {path} is missing but {path}{MARKER_SUFFIX} says one was made here: "
                             f"{recovery(path)}")
        return False
    except IsADirectoryError:
        raise StateError(f"state store {path} is a directory, not a database file: move it away")
    except PermissionError:
        raise PermissionDenied(f"cannot read state store {path} (run as root?)")
    except OSError as exc:
        raise StateError(f"cannot read state store {path}: {exc.strerror or exc}")
    if size == 0:
        if marker:
            raise StateError(f"state store {path} is empty (0 bytes) but {path}{MARKER_SUFFIX} says it held a store: "
                             f"{recovery(path)}")
        return marker
    if not header.startswith(HEADER):
        raise StateError(f"state store {path} is not an SQLite database (overwritten?): {recovery(path)}")
    if len(header) == 100:
        page_size = int.from_bytes(header[16:18], "big")
        page_size = 65536 if page_size == 1 else page_size
        pages = int.from_bytes(header[28:32], "big")
        header_valid = header[24:28] == header[92:96]  # the page count is current (SQLite's own rule)
        if header_valid and pages * page_size > size:
            raise StateError(f"state store {path} is cut short ({size} of {pages * page_size} bytes): "
                             f"{recovery(path)}")
    return marker


def recovery(path: str) -> str:
    """How to get back to a working store, in a few words."""
    backup = path + BACKUP_SUFFIX
    try:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(os.stat(backup).st_mtime))
    except OSError:
        return (f"no backup ({backup}) exists; move {path}* away to start afresh "
                "(nsnet then no longer knows the objects it made)")
    return f"stop nsnet commands, then `cp {backup} {path}` (a copy from {when}) and check the result"


def write_marker(path: str) -> None:
    """Record that a store exists at `path` (written once; atomically)."""
    marker = path + MARKER_SUFFIX
    if os.path.exists(marker):
        return
    tmp = f"{marker}.{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(f"nsnet state store, made {time.strftime('%Y-%m-%dT%H:%M:%S')}\n")
    os.replace(tmp, marker)


def backup_due(path: str) -> bool:
    try:
        age = time.time() - os.stat(path + BACKUP_SUFFIX).st_mtime
    except FileNotFoundError:
        return True
    return age >= BACKUP_EVERY


def backup(db: sqlite3.Connection, path: str) -> None:
    """Copy the store (one consistent snapshot) to state.db.bak, atomically.
    No fsync (it cost 5-10 ms here): the copy is a way back from a damaged
    file, not from a power cut, which WAL itself survives."""
    tmp = f"{path}{BACKUP_SUFFIX}.{os.getpid()}"
    target = sqlite3.connect(tmp, isolation_level=None)
    try:
        target.execute("PRAGMA synchronous=OFF")
        target.execute("PRAGMA journal_mode=OFF")
        db.backup(target)
    finally:
        target.close()
    os.replace(tmp, path + BACKUP_SUFFIX)


BUSY = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def is_busy(exc: sqlite3.Error) -> bool:
    return (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in BUSY


def failure(exc: sqlite3.Error, path: str, waited: float | None = None):
    """The NsnetError to raise for a sqlite3 error on the store at `path`."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    if isinstance(exc, sqlite3.IntegrityError):
        return Conflict(f"the state store refused the change ({exc})")
    if code in BUSY:
        waited = lock_timeout() if waited is None else waited
        return StateError(f"state store {path} is locked by another process (waited {waited:g} s); "
                          "try again when it is done (NSNET_LOCK_TIMEOUT sets the wait)")
    if code == sqlite3.SQLITE_READONLY:
        return StateError(f"state store {path} is read-only ({exc}): make it and its directory writable")
    if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return StateError(f"state store {path} is damaged ({exc}): {recovery(path)}")
    if code == sqlite3.SQLITE_CANTOPEN:
        return StateError(f"cannot open state store {path} ({exc}): check that it and its directory are writable")
    if code == sqlite3.SQLITE_PERM:
        return PermissionDenied(f"state store {path}: {exc} (run as root?)")
    return StateError(f"state store {path}: {exc}")
