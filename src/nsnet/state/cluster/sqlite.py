"""The cluster store's embedded backend: etcd's key-value model in one SQLite file.

Revisions, compares, leases and a replayable event log, so the same cluster
logic (and the same contract tests) run on it as on etcd. Several processes on
one machine may share the file (WAL; BEGIN IMMEDIATE around every write).
Leases expire lazily: every write and every watch poll first deletes the keys
of leases past their deadline, logging delete events as etcd does.
"""

import contextlib
import os
import random
import sqlite3
import threading
import time

from ..database import is_busy, lock_timeout
from .kv import KV, ClusterUnavailable, Compacted, Compare, Delete, Event, Item, Put, Watch

SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, create_rev INTEGER NOT NULL,
                               mod_rev INTEGER NOT NULL, lease INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS events (rev INTEGER NOT NULL, seq INTEGER PRIMARY KEY AUTOINCREMENT,
                                   type TEXT NOT NULL, key TEXT NOT NULL, value TEXT);
CREATE TABLE IF NOT EXISTS leases (id INTEGER PRIMARY KEY AUTOINCREMENT, ttl INTEGER NOT NULL,
                                   deadline REAL NOT NULL);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta VALUES ('revision', 1), ('compacted', 0);
"""
KEEP_EVENTS = 10000  # history kept for watches that fall behind
POLL = 0.02  # seconds between watch polls


class SqliteKV(KV):
    def __init__(self, path: str):
        self.path = path
        self.url = f"sqlite://{path}"
        try:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            self.db = self._connect()
        except (OSError, sqlite3.Error) as exc:
            raise ClusterUnavailable(f"cannot open cluster store {path}: {exc}")
        self.lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, timeout=lock_timeout(), check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(SCHEMA)
        return db

    def _rev(self, db) -> int:
        return db.execute("SELECT value FROM meta WHERE name='revision'").fetchone()[0]

    @contextlib.contextmanager
    def _locked(self):
        """This connection to ourselves; sqlite3 errors leave as one line."""
        with self.lock:
            try:
                yield
            except sqlite3.Error as exc:
                if is_busy(exc):
                    raise ClusterUnavailable(f"cluster store {self.path} is locked by another process "
                                             f"(waited {lock_timeout():.0f} s)") from None
                raise ClusterUnavailable(f"cluster store {self.path}: {exc}") from None

    def _begin(self, db) -> None:
        """BEGIN IMMEDIATE, retried within the lock timeout when SQLite answers busy at once."""
        deadline = time.monotonic() + lock_timeout()
        while True:
            try:
                db.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not is_busy(exc) or time.monotonic() >= deadline:
                    raise
            time.sleep(random.uniform(0.005, 0.05))

    def _write(self, fn):
        """Run fn(db, next_rev) in one IMMEDIATE transaction after expiring leases."""
        with self._locked():
            db = self.db
            self._begin(db)
            try:
                rev = self._expire(db, self._rev(db))
                result, changed = fn(db, rev + 1)
                if changed:
                    rev += 1
                db.execute("UPDATE meta SET value=? WHERE name='revision'", (rev,))
                self._trim(db)
                db.execute("COMMIT")
                return result
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    def _expire(self, db, rev: int) -> int:
        dead = [r[0] for r in db.execute("SELECT id FROM leases WHERE deadline < ?", (time.time(),))]
        for lease in dead:
            keys = [r[0] for r in db.execute("SELECT key FROM kv WHERE lease=?", (lease,))]
            if keys:
                rev += 1
                for key in keys:
                    db.execute("DELETE FROM kv WHERE key=?", (key,))
                    db.execute("INSERT INTO events (rev, type, key) VALUES (?, 'delete', ?)", (rev, key))
            db.execute("DELETE FROM leases WHERE id=?", (lease,))
        return rev

    def expire_due(self) -> None:
        """Delete the keys of expired leases now (a cheap read when none is due)."""
        with self._locked():
            due = self.db.execute("SELECT 1 FROM leases WHERE deadline < ? LIMIT 1", (time.time(),)).fetchone()
        if due:
            self._write(lambda db, rev: (None, False))

    def _trim(self, db) -> None:
        last = db.execute("SELECT max(seq) FROM events").fetchone()[0] or 0
        if last % 1000 == 0 and last > KEEP_EVENTS:
            cut = db.execute("SELECT rev FROM events WHERE seq=?", (last - KEEP_EVENTS,)).fetchone()
            if cut:
                db.execute("DELETE FROM events WHERE rev <= ?", (cut[0],))
                db.execute("UPDATE meta SET value=? WHERE name='compacted'", (cut[0],))

    def get(self, key):
        with self._locked():
            row = self.db.execute("SELECT key, value, create_rev, mod_rev, lease FROM kv WHERE key=?",
                                  (key,)).fetchone()
        return Item(*row) if row else None

    def range(self, prefix):
        self.expire_due()
        with self._locked():
            self.db.execute("BEGIN")
            try:
                rows = self.db.execute("SELECT key, value, create_rev, mod_rev, lease FROM kv "
                                       "WHERE substr(key, 1, ?) = ? ORDER BY key", (len(prefix), prefix)).fetchall()
                rev = self._rev(self.db)
            finally:
                self.db.execute("COMMIT")
        return [Item(*r) for r in rows], rev

    def txn(self, compares: list[Compare], ops: list) -> bool:
        def apply(db, rev):
            for c in compares:
                row = db.execute("SELECT key, value, create_rev, mod_rev, lease FROM kv WHERE key=?",
                                 (c.key,)).fetchone()
                if not c.holds(Item(*row) if row else None):
                    return False, False
            for op in ops:
                if isinstance(op, Put):
                    row = db.execute("SELECT create_rev FROM kv WHERE key=?", (op.key,)).fetchone()
                    db.execute("INSERT OR REPLACE INTO kv VALUES (?,?,?,?,?)",
                               (op.key, op.value, row[0] if row else rev, rev, op.lease))
                    db.execute("INSERT INTO events (rev, type, key, value) VALUES (?, 'put', ?, ?)",
                               (rev, op.key, op.value))
                elif isinstance(op, Delete) and db.execute("DELETE FROM kv WHERE key=?", (op.key,)).rowcount:
                    db.execute("INSERT INTO events (rev, type, key) VALUES (?, 'delete', ?)", (rev, op.key))
            return True, bool(ops)

        return self._write(apply)

    def grant(self, ttl):
        def apply(db, rev):
            cur = db.execute("INSERT INTO leases (ttl, deadline) VALUES (?, ?)", (int(ttl), time.time() + ttl))
            return cur.lastrowid, False

        return self._write(apply)

    def keepalive(self, lease):
        def apply(db, rev):
            row = db.execute("SELECT ttl FROM leases WHERE id=?", (lease,)).fetchone()
            if row is None:
                return -1, False
            db.execute("UPDATE leases SET deadline=? WHERE id=?", (time.time() + row[0], lease))
            return row[0], False

        return self._write(apply)

    def revoke(self, lease):
        def apply(db, rev):
            db.execute("UPDATE leases SET deadline=0 WHERE id=?", (lease,))
            return None, False

        self._write(apply)
        self.expire_due()

    def watch(self, prefix, start_rev):
        return SqliteWatch(self, prefix, start_rev)

    def describe(self, verb, key, value=None):
        if verb == "put":
            return f"# cluster store {self.path}: put {key} '{value}'"
        return f"# cluster store {self.path}: del {key}"

    def close(self):
        self.db.close()


class SqliteWatch(Watch):
    def __init__(self, kv: SqliteKV, prefix: str, start_rev: int):
        self.kv, self.prefix, self.next_rev = kv, prefix, start_rev
        self.cancelled = threading.Event()
        with kv._locked():
            compacted = kv.db.execute("SELECT value FROM meta WHERE name='compacted'").fetchone()[0]
        if start_rev <= compacted:
            raise Compacted(f"watch history compacted (revision {compacted})")

    def next(self, timeout):
        deadline = time.monotonic() + timeout
        while not self.cancelled.is_set():
            self.kv.expire_due()  # expired leases fire their deletes
            with self.kv._locked():
                rows = self.kv.db.execute(
                    "SELECT rev, type, key, value FROM events WHERE rev >= ? AND substr(key, 1, ?) = ? ORDER BY seq",
                    (self.next_rev, len(self.prefix), self.prefix)).fetchall()
            if rows:
                self.next_rev = rows[-1][0] + 1
                return [Event(t, k, v, r) for r, t, k, v in rows]
            left = deadline - time.monotonic()
            if left <= 0:
                return []
            self.cancelled.wait(min(POLL, left))
        raise ClusterUnavailable("watch cancelled")

    def cancel(self):
        self.cancelled.set()
