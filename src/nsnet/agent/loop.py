"""The agent's main loop: one session at a time against the cluster store
(docs/overlay.md, "Agent"): register this host under a lease, take a snapshot,
resync everything from it, then follow the watch from its revision. When the
store goes away the session ends and a new one starts with backoff; its full
resync repairs whatever changed meanwhile.

Encrypted overlays: each session first renews this host's WireGuard identity
(key pair, tunnel address) and registers it with the host; the WireGuard
device's peers follow the live hosts (engine.tunnel_sync), and a device whose
wireguard-go died is started again within a second.

SIGTERM / SIGINT end the loop; the lease is left to expire (a restart within
the TTL disturbs nothing). The WireGuard device stays up while an encrypted
network here needs it (its data plane, like VXLAN's, does not depend on the
agent); on exit the agent stops it only if none does.
"""

import signal
import sqlite3
import sys
import threading
import time

from ..errors import NsnetError
from ..state.cluster import ClusterUnavailable
from .own import reconcile_own
from .program import Programmer
from .view import ClusterView

POLL = 0.25  # the longest one watch read blocks: stop, keepalive and new local networks are seen this often
FULL_EVERY = 30.0  # seconds between full resyncs (kernel read back, own endpoints checked)
RETRY_AFTER = 5.0  # seconds before a network whose programming failed is tried again
TUNNEL_CHECK_EVERY = 1.0  # seconds between looks at the WireGuard device (is its wireguard-go alive?)
BACKOFF_MIN, BACKOFF_MAX = 0.2, 5.0


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} nsnet agent: {message}", file=sys.stderr, flush=True)


class Agent:
    def __init__(self, engine, address: str, name: str | None, ttl: int):
        self.engine = engine
        self.address, self.name, self.ttl = address, name, int(ttl)
        self.stop = threading.Event()
        self.programmer = Programmer(engine.kernel)
        self.retry_at: dict[str, float] = {}
        self.host: dict = {}
        self.tunnel_synced = None  # (encrypted networks here, peers) the device was last brought to
        self.tunnel_check_at = 0.0
        self.wg_unavailable: str | None = None  # why this host cannot join encrypted overlays (logged once)

    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stop.set())
        self.host = self.engine.overlay_host_set(self.address, self.name)
        log(f"host {self.host['name']} advertises {self.host['address']} (registration ttl {self.ttl} s); "
            f"cluster store {self.engine.settings.cluster_store or 'sqlite in ' + self.engine.settings.state_dir}")
        backoff = BACKOFF_MIN
        while not self.stop.is_set():
            try:
                self.session()
                backoff = BACKOFF_MIN
            except ClusterUnavailable as exc:
                log(f"{exc}; retrying in {backoff:.1f} s")
                self.stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
            except (NsnetError, OSError, sqlite3.Error) as exc:  # the kernel or the local store said no
                log(f"error: {exc}; starting over in {BACKOFF_MAX:.0f} s")
                self.stop.wait(BACKOFF_MAX)
        self.release_tunnel()
        log(f"stopped; this host's registration expires in {self.ttl} s unless an agent comes back")
        return 0

    def identity(self) -> dict | None:
        """This host's WireGuard identity, renewed (None: no WireGuard tools here)."""
        try:
            wg = self.engine.tunnel_identity()
        except ClusterUnavailable:
            raise
        except NsnetError as exc:
            if self.wg_unavailable != str(exc):
                log(f"encrypted overlays are not available on this host: {exc}")
                self.wg_unavailable = str(exc)
            self.host.pop("wg", None)
            return None
        if self.host.get("wg") != wg:
            log(f"WireGuard: public key {wg['key']}, tunnel address {wg['tunnel']}, port {wg['port']}")
        self.host["wg"] = wg
        return wg

    def session(self) -> None:
        cluster = self.engine.cluster
        wg = self.identity()
        lease = cluster.register(self.host["name"], self.host["address"], self.ttl, wg)
        state, rev = cluster.snapshot()
        view = ClusterView(state, cluster.prefix)
        self.resync(view)
        log(f"registered; in sync with revision {rev} ({len(view.networks)} network(s), "
            f"{len(view.hosts)} live host(s))")
        watch = cluster.watch(rev + 1)
        try:
            keepalive_at = time.monotonic() + self.ttl / 3
            full_at = time.monotonic() + FULL_EVERY
            while not self.stop.is_set():
                events = watch.next(POLL)
                self.react(view, view.apply(events) if events else None)
                now = time.monotonic()
                if now >= keepalive_at:
                    if not cluster.keepalive(lease):
                        log("the registration had expired; registering again")
                        lease = cluster.register(self.host["name"], self.host["address"], self.ttl, wg)
                    keepalive_at = now + self.ttl / 3
                if now >= full_at:
                    self.resync(view)
                    full_at = now + FULL_EVERY
        finally:
            watch.cancel()

    # -- what to do about it ------------------------------------------------------------
    def local_networks(self) -> dict[str, dict]:
        return {n["name"]: n for n in self.engine.network_rows(driver="overlay")}

    def resync(self, view: ClusterView) -> None:
        """Everything from the view: local copies of deleted networks go, every
        network's entries are compared with the kernel's, own endpoints checked."""
        local = self.local_networks()
        for name in [n for n in local if n not in view.networks]:
            self.forget(name)
        local = self.local_networks()
        for name, net in local.items():
            self.sync(name, net, view, read_kernel=True)
        self.programmer.forget({(n, net["created"]) for n, net in local.items()})
        for note in reconcile_own(self.engine, view, self.host):
            log(note)
        self.sync_tunnel(view, local, force=True)

    def react(self, view: ClusterView, changes) -> None:
        local = self.local_networks()
        if changes:
            for name in changes.networks:
                if name not in view.networks and name in local:
                    self.forget(name)
            local = self.local_networks()
        targets = {n for n, net in local.items() if (n, net["created"]) not in self.programmer.programmed}
        if changes:
            targets |= set(local) if changes.hosts else changes.endpoints & set(local)
        now = time.monotonic()
        for name in sorted(targets):
            if self.retry_at.get(name, 0) <= now:
                self.sync(name, local[name], view)
        self.programmer.forget({(n, net["created"]) for n, net in local.items()})
        force = False
        if now >= self.tunnel_check_at:  # a wireguard-go that died is noticed within a second
            self.tunnel_check_at = now + TUNNEL_CHECK_EVERY
            force = bool(self.engine.tunnel_check())
        self.sync_tunnel(view, local, force)

    # -- the WireGuard device of encrypted overlays -----------------------------------------
    def sync_tunnel(self, view: ClusterView, local: dict, force: bool = False) -> None:
        """Bring the device to the live hosts as peers (when they or the encrypted
        networks here changed, or `force`: a resync, a device found dead)."""
        if not self.host.get("wg"):
            return
        encrypted = sorted(n for n, net in local.items() if net["options"].get("encrypted"))
        peers = view.peers(self.host["name"])
        wanted = (encrypted, peers)
        if wanted == self.tunnel_synced and not force:
            return
        try:
            result = self.engine.tunnel_sync(peers=peers)
        except NsnetError as exc:
            log(f"WireGuard device: {exc}")
            self.tunnel_synced = None
            return
        self.tunnel_synced = wanted
        done = [what for what, happened in (("started", result.get("started") and encrypted),
                                            ("stopped", result.get("stopped"))) if happened]
        done += [f"{len(result.get(k) or [])} peer(s) {k}" for k in ("added", "removed") if result.get(k)]
        if done:
            log(f"WireGuard device {result.get('device')}: {', '.join(done)}; {len(peers)} peer(s) in all")

    def release_tunnel(self) -> None:
        try:
            if self.engine.tunnel_release().get("stopped"):
                log("WireGuard device stopped: no encrypted overlay here needs it")
        except NsnetError as exc:
            log(f"WireGuard device: {exc}")

    def sync(self, name: str, net: dict, view: ClusterView, read_kernel: bool = False) -> None:
        record = view.networks.get(name)
        if record is None or record.get("vni") != net["options"].get("vni"):
            return  # gone, or a stale local copy: `network rm` here sorts it out
        desired = view.desired(name, self.host["name"])
        changed, errors = self.programmer.sync((name, net["created"]), net["options"]["vxlan"], desired,
                                               read_kernel, bridge=net["bridge"])
        if changed and not errors:
            log(f"network {name}: {changed} change(s); {len(desired)} remote endpoint(s) programmed")
        for error in errors:
            log(f"network {name}: {error}")
        if errors:
            self.retry_at[name] = time.monotonic() + RETRY_AFTER
        else:
            self.retry_at.pop(name, None)

    def forget(self, name: str) -> None:
        try:
            result = self.engine.overlay_forget(name)
        except NsnetError as exc:
            log(f"network {name} left the cluster store, but its local copy stays: {exc}")
            return
        log(f"network {name} left the cluster store; removed it here")
        for error in result.get("errors", []):
            log(f"network {name}: {error}")
