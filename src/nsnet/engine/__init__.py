"""The nsnet engine: the documented Python API behind the CLI, the topology
files and the CNI plugin.

    from nsnet import Engine
    with Engine(host_netns="lab", state_dir="/tmp/lab") as eng:
        eng.network_create("devops", subnet="192.168.1.0/24")
        eng.sandbox_create("web1", networks=["devops"])

Every changing call validates everything first, then applies its plan (rolled
back on failure) and takes `dry_run=True` to return the plan's `ip` commands.

`Engine` is a facade: the table below hands each public method to one service
(its parameters and documentation are the service method's). The services get
the context and the services they call in their constructors, built here once.
"""

import contextlib

from ..state.store import Store
from .context import Context, Settings
from .dns import Dns
from .doctor import Doctor
from .endpoints import Endpoints
from .executor import run_change
from .explain import Explain
from .faults import Faults
from .firewall import Firewall
from .links import Links
from .localnet import LocalNetworks
from .lookup import get_network, get_sandbox, used_ifnames
from .networks import Networks
from .overlay import Overlay
from .processes import Processes
from .prune import Prune
from .reads import Reads
from .reconcile import Reconcile
from .recovery import Recovery
from .routes import Routes
from .sandboxes import Sandboxes
from .topologies import Topologies
from .tunnel import Tunnels


class via:  # lower case: it reads as the table's function, network_ls = via(Networks, "ls")
    """Engine.NAME hands the call to one service's method: a read as it is; a
    change (change=True) as one change (executor.run_change) that also takes
    dry_run=True, the service method getting the change's Executor first. Each
    call first lets the context know a new call begins (what the kernel object
    keeps, sockets into namespaces, is checked again: Context.new_call)."""

    def __init__(self, service: type, method: str, change: bool = False):
        self.service, self.method, self.change = service, method, change
        self.__doc__ = getattr(service, method).__doc__
        self.name = method

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, engine, owner=None):
        if engine is None:
            return self._unbound()
        bound = getattr(engine._services[self.service], self.method)
        return (_Change if self.change else _Read)(engine._services[Context], bound)

    def _unbound(self):
        """Engine.NAME on the class: a plain function of (engine, ...) that help()
        and inspect.signature() read as the method it is (bench/nsnet_tool.py
        asks whether network_connect takes publish=)."""
        import functools
        import inspect  # only when asked: never on a command's path

        name = self.name

        def method(engine, *args, **kwargs):
            return getattr(engine, name)(*args, **kwargs)

        shown = _signature(functools.partial(getattr(self.service, self.method), None), self.change)  # `self` bound
        engine = inspect.Parameter("engine", inspect.Parameter.POSITIONAL_OR_KEYWORD)
        method.__signature__ = inspect.Signature([engine, *shown.parameters.values()])
        method.__name__ = method.__qualname__ = name
        method.__doc__ = self.__doc__
        return method


class _Read:
    """A service's reading method as the Engine offers it; help() and IDEs see
    the service method's own parameters."""

    __slots__ = ("bound", "ctx")

    def __init__(self, ctx, bound):
        self.ctx, self.bound = ctx, bound

    def __call__(self, *args, **kwargs):
        self.ctx.new_call()
        return self.bound(*args, **kwargs)

    @property
    def __doc__(self):
        return self.bound.__doc__

    @property
    def __signature__(self):
        return _signature(self.bound, change=False)


class _Change(_Read):
    # A service's changing method as the Engine offers it: run as one change, with dry_run.
    __slots__ = ()
    __doc__ = _Read.__doc__  # the property (a class body's own __doc__ would hide it)

    def __call__(self, *args, dry_run: bool = False, **kwargs):
        self.ctx.new_call()
        return run_change(self.ctx, dry_run, self.bound, *args, **kwargs)

    @property
    def __signature__(self):
        return _signature(self.bound, change=True)


def _signature(bound, change: bool):
    """What an Engine method shows: the service method's parameters; for a
    change, without the Executor (run_change's to give) and with dry_run."""
    import inspect  # only when asked: importing inspect costs a CLI call ~5 ms

    sig = inspect.signature(bound)
    if not change:
        return sig
    params = list(sig.parameters.values())[1:]
    dry = inspect.Parameter("dry_run", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=bool)
    at = len(params) - (1 if params and params[-1].kind == inspect.Parameter.VAR_KEYWORD else 0)
    return sig.replace(parameters=[*params[:at], dry, *params[at:]])


class Engine:
    def __init__(self, host_netns: str | None = None, state_dir: str | None = None,
                 netns_prefix: str | None = None, kernel=None, store: Store | None = None,
                 cluster_store: str | None = None):
        self.settings = Settings.resolve(host_netns, state_dir, netns_prefix, cluster_store)
        ctx = Context(self.settings, kernel, store)
        firewall, dns = Firewall(ctx), Dns(ctx)
        local = LocalNetworks(ctx, firewall, dns)
        endpoints = Endpoints(ctx, local, firewall, dns)
        networks = Networks(ctx, local, endpoints)
        sandboxes = Sandboxes(ctx, endpoints, firewall, dns, networks)
        faults = Faults(ctx)
        explain = Explain(ctx, firewall, faults)
        reconcile = Reconcile(ctx, explain)
        recovery = Recovery(ctx, explain, firewall, dns, reconcile)
        ctx.recover = recovery.recover  # every change settles what a killed one left, first
        processes, topologies = Processes(ctx, sandboxes), Topologies(ctx)
        self._services = {type(s): s for s in (
            ctx, firewall, dns, endpoints, sandboxes, faults, explain, networks, Links(ctx),
            Routes(ctx), reconcile, recovery, Doctor(ctx, recovery, reconcile, firewall, dns, sandboxes, faults),
            Overlay(ctx, local), Tunnels(ctx), processes, Reads(ctx), topologies,
            Prune(ctx, processes, networks, topologies))}

    # -- what the services share ---------------------------------------------------------
    @property
    def store(self) -> Store:
        return self._services[Context].store

    @property
    def kernel(self):
        """Built on first use, so read-only commands never load netlink code."""
        return self._services[Context].kernel

    @property
    def cluster(self):
        """The cluster store, opened on first use (--store / NSNET_STORE, else SQLite in the state directory)."""
        return self._services[Context].cluster

    require_privileges = via(Context, "require_privileges")
    netns_name = via(Context, "netns_name")

    def get_network(self, name: str) -> dict:
        return get_network(self.store, name)

    def get_sandbox(self, name: str) -> dict:
        return get_sandbox(self.store, name)

    def used_ifnames(self, sandbox: str) -> set[str]:
        return used_ifnames(self.store, sandbox)

    def close(self, exiting: bool = False) -> None:
        """`exiting`: the process ends right after (the command line): what
        the kernel would make its exit wait for is left to a short-lived
        child (kernel/handover.py)."""
        self._services[Dns].close()
        self._services[Context].close(exiting)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- the API, by service ---------------------------------------------------------------
    network_get = via(Reads, "network_get")
    sandbox_get = via(Reads, "sandbox_get")
    endpoint_get = via(Reads, "endpoint_get")
    network_rows = via(Reads, "network_rows")
    sandbox_rows = via(Reads, "sandbox_rows")
    endpoint_rows = via(Reads, "endpoint_rows")
    route_ls = via(Reads, "route_ls")
    process_record = via(Reads, "process_record")
    netns_exists = via(Reads, "netns_exists")
    interface_macs = via(Reads, "interface_macs")
    interface_addresses = via(Reads, "interface_addresses")

    topology_owners = via(Topologies, "owners")
    topology_owned = via(Topologies, "owned")
    topology_claim = via(Topologies, "claim")
    topology_release = via(Topologies, "release")
    topology_transaction = via(Topologies, "transaction")
    rehearsal = via(Topologies, "rehearsal")

    network_create = via(Networks, "create", change=True)
    network_rm = via(Networks, "rm", change=True)
    network_ls = via(Networks, "ls")
    network_inspect = via(Networks, "inspect")
    network_connect = via(Endpoints, "connect", change=True)
    network_attach = via(Networks, "attach", change=True)
    network_disconnect = via(Endpoints, "disconnect", change=True)

    sandbox_create = via(Sandboxes, "create", change=True)
    sandbox_adopt = via(Sandboxes, "adopt", change=True)
    sandbox_rm = via(Sandboxes, "rm", change=True)
    sandbox_ls = via(Sandboxes, "ls")
    sandbox_inspect = via(Sandboxes, "inspect")
    exec_netns = via(Sandboxes, "exec_netns")
    exec_hostname = via(Sandboxes, "exec_hostname")

    link_add = via(Links, "add", change=True)
    link_rm = via(Links, "rm", change=True)
    link_ls = via(Links, "ls")
    route_add = via(Routes, "add", change=True)
    route_rm = via(Routes, "rm", change=True)

    port_publish = via(Firewall, "publish", change=True)
    port_unpublish = via(Firewall, "unpublish", change=True)
    port_ls = via(Firewall, "ports")
    firewall_plan = via(Firewall, "plan")
    firewall_commands = via(Firewall, "commands")
    firewall_reload = via(Firewall, "reload", change=True)

    dns_config = via(Dns, "config")
    dns_pid = via(Dns, "pid")
    dns_sync = via(Dns, "sync")
    dns_check = via(Dns, "check")
    dns_repair = via(Dns, "repair")

    rebuild_plan = via(Explain, "rebuild_plan")
    explain = via(Explain, "explain")
    drift = via(Reconcile, "drift")
    repair = via(Reconcile, "repair", change=True)
    unfinished = via(Recovery, "unfinished")
    settle_now = via(Recovery, "settle_now", change=True)

    def settle(self) -> list[str]:
        """Settle changes killed half-way, if any, now (every change does so
        first anyway); returns one note per change settled."""
        return self.settle_now().get("warnings", []) if self.unfinished() else []

    doctor = via(Doctor, "check")
    doctor_fix = via(Doctor, "fix", change=True)

    overlay_host = via(Overlay, "host")
    default_host_name = via(Overlay, "default_host_name")
    overlay_host_set = via(Overlay, "host_set", change=True)
    overlay_forget = via(Overlay, "forget", change=True)
    overlay_ls = via(Overlay, "ls")
    overlay_hosts = via(Overlay, "hosts")

    tunnel_identity = via(Tunnels, "identity", change=True)
    tunnel_sync = via(Tunnels, "sync", change=True)
    tunnel_release = via(Tunnels, "release", change=True)
    tunnel_stop = via(Tunnels, "stop", change=True)
    tunnel_status = via(Tunnels, "status")
    tunnel_check = via(Tunnels, "check")

    def overlay_create(self, name: str, subnet: str | None = None, vni: int | None = None,
                       gateway: str | None = None, mtu: int | None = None, bridge: str | None = None,
                       internal: bool = False, masquerade: bool = True, direct_routing: bool = False,
                       encrypted: bool = False, ipv6: bool = False, dry_run: bool = False) -> dict:
        """An overlay network in the cluster store, and its copy on this host
        (`encrypted`: through WireGuard tunnels between the hosts). `subnet` and
        `gateway` as for network_create (IPv6 inside too); `ipv6`: a free IPv6 /64 too."""
        return self.network_create(name, "overlay", subnet, gateway, mtu, bridge, internal, masquerade,
                                   vni=vni, direct_routing=direct_routing, ipv6=ipv6,
                                   options={"encrypted": True} if encrypted else None, dry_run=dry_run)

    partition = via(Faults, "partition", change=True)
    heal = via(Faults, "heal", change=True)
    impair = via(Faults, "impair", change=True)
    faults = via(Faults, "faults")
    fault_strays = via(Faults, "strays")
    fault_strays_clear = via(Faults, "clear_strays", change=True)

    @contextlib.contextmanager
    def partitioned(self, *groups, one_way: bool = False):
        """`with eng.partitioned(["n1"], ["n2", "n3"]): ...`: the partition for
        the block, then the one in force before it (or none) again."""
        before = self.faults()["partition"]
        self.partition(list(groups), one_way=one_way)
        try:
            yield self
        finally:
            if before:
                self.partition(before["groups"], one_way=before["one_way"])
            else:
                self.heal()

    @contextlib.contextmanager
    def impaired(self, target: str, **impairment):
        """`with eng.impaired("n1", loss=20, to=["n2"]): ...`: the impairment for
        the block, then the target's impairment before it (or none) again."""
        sandbox, _, ifname = target.partition(":")
        before = [i for i in self.faults()["impairments"]
                  if i["sandbox"] == sandbox and (i["ifname"] or "") == ifname]
        self.impair(target, **impairment)
        try:
            yield self
        finally:
            self.impair(target, clear=True)
            for old in before:
                self.impair(target, loss=old["loss"], rate=old["rate_bps"], delay=old["delay_ms"],
                            jitter=old["jitter_ms"], to=old["to"])

    run = via(Processes, "run")
    ps = via(Processes, "ps")
    process = via(Processes, "process")
    logs = via(Processes, "logs")
    stop = via(Processes, "stop")
    process_rm = via(Processes, "rm")
    prune = via(Prune, "prune")
    processes_stop_sandbox = via(Processes, "stop_sandbox")
    exec_pid_view = via(Processes, "pid_view")


__all__ = ["Engine", "Settings"]
