"""Cluster state for overlay networks: one interface (ClusterStore), two
backends (etcd v3, SQLite).

    --store etcd://HOST:PORT[/PREFIX]     etcd v3 (its JSON gateway, via etcd3gw)
    --store sqlite:///PATH/cluster.db     one machine; several hosts may share the file
    (unset)                               sqlite in the state directory (single-host overlays)
"""

import os
import re

from ...errors import InvalidInput
from .kv import ClusterUnavailable
from .store import ClusterStore

_ETCD = re.compile(r"^etcd://(?P<host>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(?P<port>\d{1,5})(?P<prefix>/[\w./-]*)?$")


def default_url(state_dir: str) -> str:
    return f"sqlite://{os.path.join(state_dir, 'cluster.db')}"


def parse_url(url: str) -> tuple[str, dict]:
    """('etcd', {host, port, prefix}) or ('sqlite', {path, prefix}); InvalidInput otherwise."""
    text = (url or "").strip()
    match = _ETCD.match(text)
    if match:
        port = int(match["port"])
        if not 0 < port < 65536:
            raise InvalidInput(f"--store {url}: port {port} is out of range")
        prefix = (match["prefix"] or "").strip("/")
        return "etcd", {"host": match["host"].strip("[]"), "port": port,
                        "prefix": f"/{prefix}/" if prefix else "/nsnet/"}
    if text.startswith("sqlite://") and len(text) > len("sqlite://"):
        return "sqlite", {"path": text[len("sqlite://"):], "prefix": "/nsnet/"}
    raise InvalidInput(f"--store '{url}' is not a store address (use etcd://HOST:PORT or sqlite:///PATH)")


def open_store(url: str) -> ClusterStore:
    kind, where = parse_url(url)
    if kind == "etcd":
        from .etcd import EtcdKV

        return ClusterStore(EtcdKV(where["host"], where["port"]), where["prefix"])
    from .sqlite import SqliteKV

    return ClusterStore(SqliteKV(where["path"]), where["prefix"])


__all__ = ["ClusterStore", "ClusterUnavailable", "default_url", "open_store", "parse_url"]
