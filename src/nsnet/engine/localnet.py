"""A network's presence on this host: its row in the local store, its kernel
objects (bridge...) and its firewall rules. Networks are created and removed
through here, and so is this host's copy of a network that lives in the
cluster store (made on its first connect here)."""

from ..drivers import get_driver
from ..errors import Conflict
from ..names import bridge_name, check_ifname
from .context import Service


class LocalNetworks(Service):
    def __init__(self, ctx, firewall, dns):
        super().__init__(ctx)
        self.firewall = firewall
        self.dns = dns

    def add(self, ex, plan, drv, record: dict, bridge: str | None = None) -> dict:
        """Write this host's row for `record` and add its steps to `plan`; returns the row."""
        if drv.uses_subnet:
            bridge = check_ifname(bridge) if bridge else bridge_name(record["name"])
        row = drv.local_row(self.ctx, record, bridge)
        if row["bridge"]:
            self.firewall.require_host(ex)
        self._check_free(ex, drv.host_ifnames(row))
        before = self.firewall.bridged_networks()
        self.store.add_network(row["name"], drv.name, row["subnet"], row["gateway"], row["bridge"], row["mtu"],
                               row["options"], row.get("subnet6"), row.get("gateway6"))
        self.dns.touch(ex)  # the networks its server serves may have changed
        plan.extend(drv.plan_create(row))
        if row["bridge"]:
            plan.extend(self.firewall.network_added(ex, row, before))
        plan.extend(drv.plan_peers(self.ctx, row))
        return row

    def _check_free(self, ex, ifnames: list[str]) -> None:
        """Interfaces a new network will make: not another network's, not in the host namespace already."""
        for other in self.store.networks():
            taken = set(ifnames) & set(get_driver(other["driver"]).host_ifnames(other))
            if taken:
                raise Conflict(f"interface {sorted(taken)[0]} is already used by network '{other['name']}'")
        if not ex.dry_run:
            for ifname in ifnames:
                if self.kernel.link_exists(None, ifname):
                    raise Conflict(f"an interface named {ifname} already exists in the host namespace (not ours)")

    def remove(self, ex, net: dict, drv) -> list:
        """Forget the row of `net` (its endpoints gone already); returns its
        teardown steps: firewall rules and forwarding before the bridge goes
        (its deletion holds the kernel's RTNL lock through an RCU grace period,
        ~15-20 ms, for which a sysctl written after it would wait; as the last
        step it returns once the bridge has left the namespace)."""
        before = self.firewall.bridged_networks()
        self.store.remove_network(net["name"])
        self.dns.touch(ex)
        rules, forwarding = self.firewall.network_removed(before) if net["bridge"] else ([], [])
        return rules + forwarding + drv.plan_remove(net) + drv.plan_vacate(self.ctx, net)
