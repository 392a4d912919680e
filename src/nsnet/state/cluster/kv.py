"""The small key-value contract both cluster backends implement: etcd v3 (the
real multi-host store) and SQLite (one machine; same semantics, for tests and
single-host overlays).

It is etcd's model, cut down to what nsnet needs: keys with create/mod
revisions, all-or-nothing transactions guarded by revision compares, leases
(keys that vanish when their lease is not kept alive) and a watch that replays
every change after a revision.
"""

from dataclasses import dataclass

from ...errors import NsnetError


class ClusterUnavailable(NsnetError):
    """The cluster store cannot be reached (or answered nonsense)."""

    exit_code = 8


class Compacted(ClusterUnavailable):
    """A watch asked for history the store has dropped: resync from a snapshot."""


@dataclass(frozen=True)
class Item:
    key: str
    value: str
    create: int  # revision that created the key
    mod: int  # revision of its last change
    lease: int = 0


@dataclass(frozen=True)
class Event:
    type: str  # "put" | "delete"
    key: str
    value: str | None
    rev: int


@dataclass(frozen=True)
class Compare:
    """key's `target` ('create' | 'mod') revision `op` ('==' | '!=') `value`.
    ('create', '==', 0) means "the key does not exist"."""

    key: str
    target: str
    op: str
    value: int

    def holds(self, item: Item | None) -> bool:
        have = 0 if item is None else (item.create if self.target == "create" else item.mod)
        return have == self.value if self.op == "==" else have != self.value


def absent(key: str) -> Compare:
    return Compare(key, "create", "==", 0)


def present(key: str) -> Compare:
    return Compare(key, "create", "!=", 0)


def same(key: str, item: Item) -> Compare:
    """The key is the one that was read (not deleted and created again since)."""
    return Compare(key, "create", "==", item.create)


def unchanged(key: str, item: Item | None) -> Compare:
    """The key is as it was when read (still absent if it was)."""
    return absent(key) if item is None else Compare(key, "mod", "==", item.mod)


@dataclass(frozen=True)
class Put:
    key: str
    value: str
    lease: int = 0


@dataclass(frozen=True)
class Delete:
    key: str


class Watch:
    """A stream of events after a revision. next() returns the events that
    arrived within `timeout` seconds (maybe none) and raises ClusterUnavailable
    when the stream broke; cancel() may be called from another thread."""

    def next(self, timeout: float) -> list[Event]:
        raise NotImplementedError

    def cancel(self) -> None:
        raise NotImplementedError


class KV:
    url = ""

    def get(self, key: str) -> Item | None:
        raise NotImplementedError

    def range(self, prefix: str) -> tuple[list[Item], int]:
        """Every key under `prefix` and the store's revision, read at one revision."""
        raise NotImplementedError

    def txn(self, compares: list[Compare], ops: list) -> bool:
        """Apply all `ops` (Put / Delete) if every compare holds; False otherwise."""
        raise NotImplementedError

    def grant(self, ttl: int) -> int:
        raise NotImplementedError

    def keepalive(self, lease: int) -> int:
        """Refresh a lease: its TTL in seconds, or -1 if it has expired."""
        raise NotImplementedError

    def revoke(self, lease: int) -> None:
        raise NotImplementedError

    def watch(self, prefix: str, start_rev: int) -> Watch:
        raise NotImplementedError

    def describe(self, verb: str, key: str, value: str | None = None) -> str:
        """The command-line equivalent of one write (for --dry-run / explain)."""
        raise NotImplementedError

    def close(self) -> None:
        pass
