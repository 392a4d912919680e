"""Which topology owns which network and sandbox: a small table of our own in
the engine's SQLite file (links and routes belong to their sandboxes)."""

SCHEMA = """CREATE TABLE IF NOT EXISTS topology_objects (
    kind TEXT NOT NULL, name TEXT NOT NULL, topology TEXT NOT NULL,
    PRIMARY KEY (kind, name))"""
KINDS = ("network", "sandbox")


def ensure(db) -> None:
    db.execute(SCHEMA)


def all_owners(db) -> dict[tuple[str, str], str]:
    """{(kind, name): topology} for every claimed object."""
    return {(k, n): t for k, n, t in db.execute("SELECT kind, name, topology FROM topology_objects")}


def owned(db, topology: str) -> dict[str, set[str]]:
    out = {kind: set() for kind in KINDS}
    for kind, name in db.execute("SELECT kind, name FROM topology_objects WHERE topology=?", (topology,)):
        out.setdefault(kind, set()).add(name)
    return out


def claim(db, topology: str, kind: str, names) -> None:
    db.executemany("INSERT OR IGNORE INTO topology_objects (kind, name, topology) VALUES (?,?,?)",
                   [(kind, name, topology) for name in names])


def release(db, topology: str, kind: str, names) -> None:
    db.executemany("DELETE FROM topology_objects WHERE kind=? AND name=? AND topology=?",
                   [(kind, name, topology) for name in names])


def topologies(db) -> list[str]:
    return [row[0] for row in db.execute("SELECT DISTINCT topology FROM topology_objects ORDER BY 1")]
