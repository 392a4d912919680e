"""What every engine service uses: the settings, and the store, the kernel and
the cluster store, each opened on first use (read-only commands never load
netlink code; commands that never touch an overlay never open the cluster store)."""

import os

from ..errors import NotFound, PermissionDenied
from ..plain import PlainData
from ..state.store import Store

DEFAULT_STATE_DIR = "/var/lib/nsnet"


class Settings(PlainData):
    def __init__(self, host_netns: str | None = None, state_dir: str = DEFAULT_STATE_DIR,
                 netns_prefix: str = "", cluster_store: str | None = None):
        self.host_netns = host_netns
        self.state_dir = state_dir
        self.netns_prefix = netns_prefix
        self.cluster_store = cluster_store  # etcd://HOST:PORT or sqlite:///PATH (overlay networks)

    @property
    def owner_mark(self) -> str:
        """What marks kernel objects as this state dir's (the alias of a sandbox
        namespace's lo): 'nsnet:' + the state dir's absolute path (IFALIASZ: 255 bytes)."""
        mark = "nsnet:" + os.path.abspath(self.state_dir)
        if len(mark.encode()) > 255:
            import hashlib

            mark = "nsnet:sha1:" + hashlib.sha1(mark.encode()).hexdigest()
        return mark

    @classmethod
    def resolve(cls, host_netns=None, state_dir=None, netns_prefix=None, cluster_store=None) -> "Settings":
        """Explicit arguments win, then NSNET_* environment variables, then defaults."""
        host = host_netns or os.environ.get("NSNET_HOST_NETNS") or None
        state = state_dir or os.environ.get("NSNET_STATE_DIR") or DEFAULT_STATE_DIR
        prefix = netns_prefix if netns_prefix is not None else os.environ.get("NSNET_NETNS_PREFIX")
        if prefix is None:
            # Sandboxes of an engine whose host is a namespace are named after it,
            # so two engines never collide in /run/netns.
            prefix = f"{host}-" if host else ""
        cluster = cluster_store or os.environ.get("NSNET_STORE") or None
        return cls(host, state, prefix, cluster)


class Context:
    def __init__(self, settings: Settings, kernel=None, store: Store | None = None):
        self.settings = settings
        self._kernel = kernel
        self._store = store
        self._cluster = None
        self.followers: list = []  # f(executor), run inside every change after its own work (executor.run_change)
        self.recover = None  # f(executor) -> notes: settles changes killed half-way (engine/recovery.py)

    @property
    def kernel(self):
        if self._kernel is None:
            from ..kernel.reaper import LinkReaper
            from ..kernel.rtnl import Kernel

            # Deletions return once the link has left its namespace (kernel/reaper.py).
            self._kernel = Kernel(self.settings.host_netns, self.settings.owner_mark, LinkReaper())
        return self._kernel

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.settings.state_dir)
        return self._store

    @property
    def cluster(self):
        """The cluster store (--store / NSNET_STORE, else SQLite in the state directory)."""
        if self._cluster is None:
            from ..state.cluster import default_url, open_store

            self._cluster = open_store(self.settings.cluster_store or default_url(self.settings.state_dir))
        return self._cluster

    def new_call(self) -> None:
        """An Engine call begins: what the kernel object keeps between calls
        (sockets into namespaces) is checked again before its first use, since
        other processes and users change namespaces between our calls."""
        if self._kernel is not None:
            self._kernel.new_epoch()

    def has_cluster(self) -> bool:
        """Is there a cluster store to ask: one configured, or the embedded one made already?"""
        return bool(self.settings.cluster_store) or os.path.exists(
            os.path.join(self.settings.state_dir, "cluster.db"))

    def require_privileges(self) -> None:
        if not self.kernel.privileged():
            raise PermissionDenied("nsnet needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) to change networks")
        host = self.settings.host_netns
        if host and not self.kernel.netns_exists(host):
            raise NotFound(f"host network namespace '{host}' does not exist (create it or unset --host-netns)")

    def netns_exists(self, name: str) -> bool:
        """Is namespace `name` pinned: the kernel object's answer once one is
        made (or given: a test's fake), else a look at /run/netns without
        loading netlink code (what `sandbox ls` needs of the kernel)."""
        if self._kernel is None:
            from ..kernel import netnsdir

            return netnsdir.exists(name)
        return self._kernel.netns_exists(name)

    def netns_name(self, sandbox: str) -> str:
        return self.settings.netns_prefix + sandbox

    def close(self, exiting: bool = False) -> None:
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None
        if self._kernel is not None:
            self._kernel.close(exiting)
        if self._store is not None:
            self._store.close()


class Service:
    """Base of the engine's services: each gets the context, and the other
    services it calls, in its constructor."""

    def __init__(self, ctx: Context):
        self.ctx = ctx

    @property
    def store(self) -> Store:
        return self.ctx.store

    @property
    def kernel(self):
        return self.ctx.kernel
