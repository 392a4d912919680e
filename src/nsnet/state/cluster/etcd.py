"""etcd v3 through its JSON gateway, with etcd3gw (works with Debian's etcd 3.4).

etcd3gw does the HTTP session, the base64 and the error mapping. The watch is
read here from the gateway's stream directly: etcd3gw's Watcher swallows a
broken stream, and the agent must notice an etcd restart at once.
"""

import base64
import json
import queue
import threading

from .kv import KV, ClusterUnavailable, Compacted, Compare, Delete, Event, Item, Put, Watch

TIMEOUT = 5.0  # seconds per request: a dead etcd is reported, not waited for
_TARGET = {"create": "CREATE", "mod": "MOD"}
_RESULT = {"==": "EQUAL", "!=": "NOT_EQUAL"}
_FIELD = {"create": "create_revision", "mod": "mod_revision"}


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _text(b64: str | None) -> str:
    return base64.b64decode(b64 or "").decode()


def _prefix_end(prefix: str) -> str:
    raw = bytearray(prefix.encode())
    raw[-1] += 1
    return raw.decode()


def _item(kv: dict) -> Item:
    return Item(_text(kv["key"]), _text(kv.get("value")), int(kv.get("create_revision", 0)),
                int(kv.get("mod_revision", 0)), int(kv.get("lease", 0)))


class EtcdKV(KV):
    def __init__(self, host: str, port: int, timeout: float = TIMEOUT):
        try:
            import etcd3gw
        except ImportError:  # an optional extra: the SQLite cluster store needs nothing
            raise ClusterUnavailable("an etcd store needs the etcd client, which is not installed: "
                                     "pip install 'nsnet[overlay]'")
        self.host, self.port = host, port
        self.url = f"etcd://{host}:{port}"
        self.client = etcd3gw.client(host=host, port=port, timeout=timeout, api_path="/v3/")
        self.client.session.trust_env = False  # straight to etcd: no *_proxy variables, no .netrc

    def _post(self, path: str, body: dict) -> dict:
        import requests
        from etcd3gw import exceptions

        try:
            return self.client.post(self.client.get_url(path), json=body)
        except exceptions.ConnectionFailedError as exc:
            raise ClusterUnavailable(f"cannot reach etcd at {self.host}:{self.port} ({_reason(exc)}); "
                                     "is etcd running? (--store / NSNET_STORE)")
        except exceptions.ConnectionTimeoutError:
            raise ClusterUnavailable(f"etcd at {self.host}:{self.port} did not answer within {TIMEOUT:g} s")
        except exceptions.Etcd3Exception as exc:
            raise ClusterUnavailable(f"etcd at {self.host}:{self.port} refused {path}: "
                                     f"{(exc.detail_text or str(exc)).strip()[:200]}")
        except requests.RequestException as exc:
            raise ClusterUnavailable(f"etcd at {self.host}:{self.port}: {exc.__class__.__name__}")
        except ValueError as exc:  # not JSON: something else listens on that port
            raise ClusterUnavailable(f"{self.host}:{self.port} does not look like etcd ({exc})")

    def get(self, key):
        kvs = self._post("/kv/range", {"key": _b64(key)}).get("kvs", [])
        return _item(kvs[0]) if kvs else None

    def range(self, prefix):
        reply = self._post("/kv/range", {"key": _b64(prefix), "range_end": _b64(_prefix_end(prefix))})
        return [_item(kv) for kv in reply.get("kvs", [])], int(reply["header"]["revision"])

    def txn(self, compares: list[Compare], ops: list) -> bool:
        body = {"compare": [{"key": _b64(c.key), "target": _TARGET[c.target], "result": _RESULT[c.op],
                             _FIELD[c.target]: c.value} for c in compares],
                "success": [_op(op) for op in ops], "failure": []}
        return bool(self._post("/kv/txn", body).get("succeeded", False))

    def grant(self, ttl):
        return int(self._post("/lease/grant", {"TTL": int(ttl), "ID": 0})["ID"])

    def keepalive(self, lease):
        result = self._post("/lease/keepalive", {"ID": lease}).get("result", {})
        return int(result.get("TTL", -1))

    def revoke(self, lease):
        self._post("/kv/lease/revoke", {"ID": lease})

    def watch(self, prefix, start_rev):
        return EtcdWatch(self, prefix, start_rev)

    def describe(self, verb, key, value=None):
        ep = f"--endpoints=http://{self.host}:{self.port}"
        if verb == "put":
            return f"etcdctl {ep} put {key} '{value}'"
        return f"etcdctl {ep} del {key}"

    def close(self):
        self.client.session.close()


def _op(op) -> dict:
    if isinstance(op, Put):
        body = {"key": _b64(op.key), "value": _b64(op.value)}
        if op.lease:
            body["lease"] = op.lease
        return {"request_put": body}
    if isinstance(op, Delete):
        return {"request_delete_range": {"key": _b64(op.key)}}
    raise TypeError(op)


def _reason(exc) -> str:
    text = str(exc.detail_text or exc)
    for hint in ("Connection refused", "No route to host", "Name or service not known", "timed out"):
        if hint in text:
            return hint.lower()
    return text.strip().splitlines()[-1][:120] if text.strip() else "connection failed"


class EtcdWatch(Watch):
    """The gateway's /v3/watch stream, read by a daemon thread into a queue."""

    _BROKEN = object()

    def __init__(self, kv: EtcdKV, prefix: str, start_rev: int):
        import requests

        self.kv = kv
        self.queue: queue.Queue = queue.Queue()
        self.session = requests.Session()
        self.session.trust_env = False
        body = {"create_request": {"key": _b64(prefix), "range_end": _b64(_prefix_end(prefix)),
                                   "start_revision": int(start_rev)}}
        try:
            self.resp = self.session.post(kv.client.get_url("/watch"), json=body, stream=True,
                                          timeout=(TIMEOUT, None))
        except requests.RequestException as exc:
            self.session.close()
            raise ClusterUnavailable(f"cannot watch etcd at {kv.host}:{kv.port} ({exc.__class__.__name__})")
        self.thread = threading.Thread(target=self._read, name="etcd-watch", daemon=True)
        self.thread.start()

    def _read(self) -> None:
        error = "the watch stream ended (etcd stopped?)"
        try:
            for line in self.resp.iter_lines(chunk_size=None):
                if not line.strip():
                    continue
                result = json.loads(line).get("result", {})
                if result.get("canceled"):
                    compact = result.get("compact_revision")
                    error = Compacted(f"watch history compacted (revision {compact})") if compact else \
                        f"etcd canceled the watch ({result.get('cancel_reason', 'no reason given')})"
                    break
                events = [Event("delete" if ev.get("type") == "DELETE" else "put", _text(ev["kv"]["key"]),
                                None if ev.get("type") == "DELETE" else _text(ev["kv"].get("value")),
                                int(ev["kv"].get("mod_revision", 0)))
                          for ev in result.get("events", [])]
                if events:
                    self.queue.put(events)
        except Exception as exc:  # a reset connection, a half-read line: the stream is gone
            error = f"the watch stream broke ({exc.__class__.__name__})"
        self.queue.put((self._BROKEN, error))

    def next(self, timeout):
        try:
            got = self.queue.get(timeout=timeout)
        except queue.Empty:
            return []
        if isinstance(got, tuple) and got[0] is self._BROKEN:
            self.queue.put(got)  # stays broken
            err = got[1]
            raise err if isinstance(err, ClusterUnavailable) else \
                ClusterUnavailable(f"etcd at {self.kv.host}:{self.kv.port}: {err}")
        return got

    def cancel(self):
        import socket

        try:  # unblock the reading thread: shut the socket down under it
            sock = socket.fromfd(self.resp.raw.fileno(), socket.AF_INET, socket.SOCK_STREAM)
            sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        except Exception:
            pass
        self.resp.close()
        self.session.close()
