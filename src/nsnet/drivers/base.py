"""The driver interface. A driver turns a network (a store row) and an endpoint
into Steps; its planners never touch the kernel or the store.

The hooks below are for networks that live beyond this host (overlay: a
cluster store holds the network and hands out its addresses). They receive
the engine's context (`ctx`: settings, store, kernel, cluster store) and, when
they write while planning, the call's executor (`ex`: is this a dry run?).
The defaults describe a network of this host only.
"""

from ..errors import InvalidInput
from ..steps import Step


class Driver:
    name = ""
    uses_subnet = False  # does this driver hand out addresses (IPAM)?
    sandbox_mode = "netns"  # what a connected sandbox becomes: netns | host | none
    exclusive = False  # a sandbox on this network may be on no other network
    spans_hosts = False  # the network lives in the cluster store; this host keeps a copy
    has_dns = True  # sandboxes resolve each other's names (and aliases)
    fixed_macs = True  # an endpoint may be given a fixed MAC (a runtime's --mac-address)
    options: dict = {}  # --opt KEY[=VALUE] this driver takes: KEY -> parser(key, value) -> value
    max_endpoints: int | None = None  # sandboxes one host can attach (a bridge's ports), None: no limit

    # -- planners ---------------------------------------------------------------
    def plan_create(self, net: dict) -> list[Step]:
        return []

    def plan_remove(self, net: dict) -> list[Step]:
        return []

    def plan_connect(self, net: dict, ep: dict, sandbox_ns: str, default_route: tuple[int, ...]) -> list[Step]:
        """`default_route`: the families (4, 6) whose default route goes via this network."""
        return []

    def plan_disconnect(self, net: dict, ep: dict, sandbox_ns: str) -> list[Step]:
        return []

    def plan_vacate(self, ctx, net: dict) -> list[Step]:
        """Steps after this host's copy of `net` is gone (its row already removed):
        host-wide objects that no network needs any more."""
        return []

    def host_ifnames(self, net: dict) -> list[str]:
        """The host interfaces this network's row names (its bridge...)."""
        return [net["bridge"]] if net.get("bridge") else []

    # -- creating a network --------------------------------------------------------
    def check_options(self, given: dict) -> dict:
        """`--opt` values, parsed: fields of the new network's record."""
        out = {}
        for key, value in given.items():
            parse = self.options.get(key)
            if parse is None:
                known = f"known: {', '.join(sorted(self.options))}" if self.options else "it takes none"
                raise InvalidInput(f"unknown option '{key}' for driver '{self.name}' ({known})")
            try:
                out[key] = parse(key, value)
            except ValueError as exc:
                raise InvalidInput(str(exc))
        return out

    def check_create(self, ctx, vni: int | None) -> int | None:
        """Validate what only this driver takes (the VXLAN id)."""
        if vni is not None:
            raise InvalidInput("--vni is only for --driver overlay")
        return None

    def taken_subnets(self, ctx) -> list:
        """Subnets in use beyond this host, which a new network must not overlap."""
        return []

    def plan_share(self, ctx, record: dict) -> list[Step]:
        """Steps that make a new network known beyond this host (run first);
        may complete `record` (the VXLAN id it chose)."""
        return []

    def local_row(self, ctx, record: dict, bridge: str | None) -> dict:
        """This host's row for network `record` (what plan_create reads)."""
        options = {"internal": record["internal"], "masquerade": record["masquerade"], "dns": record["dns"],
                   "direct_routing": bool(record.get("direct_routing"))}
        return {"name": record["name"], "driver": self.name, "subnet": record["subnet"],
                "gateway": record["gateway"], "subnet6": record.get("subnet6"), "gateway6": record.get("gateway6"),
                "bridge": bridge, "mtu": record["mtu"], "options": options}

    def plan_peers(self, ctx, net: dict) -> list[Step]:
        """Steps that reach the network's endpoints on other hosts, for a new local copy."""
        return []

    # -- networks known beyond this host -------------------------------------------
    def find(self, ctx, name: str) -> dict | None:
        """The record of network `name` when this host has no row for it."""
        return None

    def listed(self, ctx, local: set[str]) -> list[dict]:
        """`network ls` rows of networks this host has no row for."""
        return []

    def joined(self, ctx, name: str, net: dict | None) -> dict | None:
        """The record a sandbox joins (checked against this host's row `net`)."""
        return net

    def plan_unshare(self, ctx, name: str, endpoints: list[dict]) -> list[Step]:
        """Steps that remove the network beyond this host (run first, and must
        succeed); `endpoints`: this host's, whose addresses go with it."""
        return []

    # -- endpoints -----------------------------------------------------------------
    def reserve(self, ctx, ex, net: dict, sandbox: str, ips: dict) -> tuple[dict, list[Step]] | None:
        """({family: address}, steps that give them back on failure): an address of
        each family `net` carries, reserved beyond this host (`ips`: the static
        ones asked for, {family: address}); None: this host's store hands them out."""
        return None

    def announce(self, ctx, net: dict, ep: dict) -> list[Step]:
        """Steps that tell other hosts about a new endpoint."""
        return []

    def release(self, ctx, net: dict, ep: dict) -> list[Step]:
        """Steps that give a leaving endpoint's address back."""
        return []
