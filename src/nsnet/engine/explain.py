"""`explain`: the commands that would rebuild what exists, made from the same
Steps the engine applies (so what is printed is what nsnet does)."""

from .. import family
from ..drivers import get_driver
from ..errors import NotFound
from ..steps import AddRoute, CreateNetns, Plan, ShareHostNetns
from .context import Service
from .links import link_steps


class Explain(Service):
    def __init__(self, ctx, firewall, faults):
        super().__init__(ctx)
        self.firewall = firewall
        self.faults = faults

    def rebuild_plan(self, target: str | None = None) -> Plan:
        """The plan that would rebuild what exists (of one sandbox or network, or all)."""
        nets = self.store.networks()
        sandboxes = self.store.sandboxes()
        if target is not None:
            net = self.store.network(target)
            if net:
                plan = Plan().extend(get_driver(net["driver"]).plan_create(net))
                for ep in self.store.endpoints(network=target):
                    plan.extend(self._connect_steps(net, ep, self.store.sandbox(ep["sandbox"])))
                return plan.once()
            if not self.store.sandbox(target):
                raise NotFound(f"no sandbox or network named '{target}'")
            nets = []
            sandboxes = [s for s in sandboxes if s["name"] == target]
        plan = Plan()
        for net in nets:
            plan.extend(get_driver(net["driver"]).plan_create(net))
        names = {s["name"] for s in sandboxes}
        for sb in sandboxes:
            if sb["mode"] == "host":
                plan.add(ShareHostNetns(sb["netns"], self.ctx.settings.host_netns))
            elif not (sb.get("options") or {}).get("external"):  # an adopted namespace is its runtime's
                plan.add(CreateNetns(sb["netns"]))
        for sb in sandboxes:
            for ep in self.store.endpoints(sandbox=sb["name"]):
                plan.extend(self._connect_steps(self.store.network(ep["network"]), ep, sb))
        for link in self.store.links():
            if link["a"] in names or link["b"] in names:
                plan.extend(link_steps(link, self.store.sandbox(link["a"])["netns"],
                                       self.store.sandbox(link["b"])["netns"]))
        for sb in sandboxes:
            for route in self.store.routes(sb["name"]):
                plan.add(AddRoute(sb["netns"], route["dest"], via=route["via"]))
        if target is None:
            plan.extend(self.firewall.rebuild_steps())
        plan.extend(self.faults.rebuild_steps(None if target is None else names))
        return plan.once()  # one WireGuard device, however many encrypted networks hold it

    @staticmethod
    def _connect_steps(net, ep, sb) -> list:
        return get_driver(net["driver"]).plan_connect(net, ep, sb["netns"], family.default_routes(ep))

    def explain(self, target: str | None = None) -> list[str]:
        """rebuild_plan() as `ip` / `nft` / `sysctl` commands (aimed at the
        namespace that plays the host, if one does)."""
        return self.rebuild_plan(target).explain(self.ctx.settings.host_netns)
