"""Engine plumbing: settings, privileges, and the validate -> plan -> apply
wrapper every changing call goes through."""

import functools
import os

from ..errors import NotFound, PermissionDenied
from ..plain import PlainData
from ..state.store import Store
from ..steps import Plan
from .executor import execute

DEFAULT_STATE_DIR = "/var/lib/nsnet"


class Settings(PlainData):
    def __init__(self, host_netns: str | None = None, state_dir: str = DEFAULT_STATE_DIR,
                 netns_prefix: str = "", cluster_store: str | None = None):
        self.host_netns = host_netns
        self.state_dir = state_dir
        self.netns_prefix = netns_prefix
        self.cluster_store = cluster_store  # etcd://HOST:PORT or sqlite:///PATH (overlay networks)

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


class DryRun(Exception):
    """Raised inside a transaction to roll the store back and return the plan."""

    def __init__(self, plan: Plan):
        self.plan = plan


def changing(method):
    """Decorator for every call that changes state: checks privileges (except for
    --dry-run), holds one store transaction across validation, planning and the
    kernel steps, and turns a dry run into {'dry_run': True, 'commands': [...]}."""

    @functools.wraps(method)
    def wrapper(self, *args, dry_run: bool = False, **kwargs):
        if not dry_run:
            self.require_privileges()
        try:
            with self.store.transaction():
                self._dry_run = dry_run
                result = method(self, *args, **kwargs)
            self._after_change()
            return result
        except DryRun as dry:
            return {"dry_run": True, "commands": dry.plan.explain()}
        finally:
            self._dry_run = False

    return wrapper


class EngineBase:
    def __init__(self, settings: Settings, kernel=None, store: Store | None = None):
        self.settings = settings
        self._kernel = kernel
        self._store = store
        self._dry_run = False

    @property
    def kernel(self):
        """Built on first use, so read-only commands never load netlink code."""
        if self._kernel is None:
            from ..kernel.rtnl import Kernel

            self._kernel = Kernel(self.settings.host_netns)
        return self._kernel

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.settings.state_dir)
        return self._store

    def apply(self, plan: Plan) -> None:
        """The one place plans meet the kernel (or are only explained)."""
        if self._dry_run:
            raise DryRun(plan)
        execute(plan, self.kernel)

    def _after_change(self) -> None:
        """Hook run after a change is committed (DNS server sync, ...)."""

    def require_privileges(self) -> None:
        if not self.kernel.privileged():
            raise PermissionDenied("nsnet needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) to change networks")
        host = self.settings.host_netns
        if host and not self.kernel.netns_exists(host):
            raise NotFound(f"host network namespace '{host}' does not exist (create it or unset --host-netns)")

    def netns_name(self, sandbox: str) -> str:
        return self.settings.netns_prefix + sandbox

    def close(self) -> None:
        if self._kernel is not None:
            self._kernel.close()
        if self._store is not None:
            self._store.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
