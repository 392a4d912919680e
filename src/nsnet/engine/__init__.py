"""The nsnet engine: the documented Python API behind the CLI, the topology
files and the CNI plugin.

    from nsnet import Engine
    with Engine(host_netns="lab", state_dir="/tmp/lab") as eng:
        eng.network_create("devops", subnet="192.168.1.0/24")
        eng.sandbox_create("web1", networks=["devops"])

Every changing call validates everything first, then applies one plan (rolled
back on failure) and takes `dry_run=True` to return the plan's `ip` commands.
"""

from ..state.store import Store
from .base import EngineBase, Settings
from .dns import Dns
from .endpoints import Endpoints
from .explain import Explain
from .firewall import Firewall
from .links import Links
from .lookup import Lookups
from .networks import Networks
from .overlay import Overlay
from .processes import Processes
from .reads import Reads
from .reconcile import Reconcile
from .routes import Routes
from .sandboxes import Sandboxes


class Engine(Processes, Sandboxes, Networks, Endpoints, Links, Routes, Firewall, Dns, Explain, Reconcile, Lookups,
             Reads, Overlay, EngineBase):
    def __init__(self, host_netns: str | None = None, state_dir: str | None = None,
                 netns_prefix: str | None = None, kernel=None, store: Store | None = None,
                 cluster_store: str | None = None):
        super().__init__(Settings.resolve(host_netns, state_dir, netns_prefix, cluster_store), kernel, store)


__all__ = ["Engine", "Settings"]
