"""Addresses and routes on an interface, each explained as its `ip` command."""

from ..family import version_of
from .base import Step, on
from .links import OnInterface, ip_command


def _dest_key(dest: str) -> str:
    """A destination as one spelling ('default' and '0.0.0.0/0' alike)."""
    return "0.0.0.0/0" if dest == "default" else dest


def _dest_text(dest: str) -> str:
    return "default" if dest in ("0.0.0.0/0", "::/0") else dest


class _Address(OnInterface):
    def __init__(self, ns: str | None, ifname: str, cidr: str):
        self.ns, self.ifname, self.cidr = ns, ifname, cidr


class AddAddress(_Address):
    kind = "addr_add"

    def apply(self, k):
        k.addr_add(self.ns, self.ifname, self.cidr)

    def undo(self, k):
        k.addr_del(self.ns, self.ifname, self.cidr)

    def explain(self):
        if version_of(self.cidr) == 6:  # without duplicate address detection (Kernel.addr_add)
            return [ip_command(self.ns, f"addr add {self.cidr} dev {self.ifname} nodad", 6)]
        return [ip_command(self.ns, f"addr add {self.cidr} dev {self.ifname}")]

    def check(self, view):
        return view.has_addr(self.ns, self.ifname, self.cidr)

    def makes(self):
        return {("addr", self.ns, self.ifname, self.cidr)}


class DeleteAddress(_Address):
    """An address nsnet did not put on one of its own interfaces (repair: a
    foreign address would become the source of the interface's routes)."""

    kind = "addr_del"

    def apply(self, k):
        k.addr_del(self.ns, self.ifname, self.cidr)  # gone already (its interface re-made): nothing to do

    def undo(self, k):
        k.addr_add(self.ns, self.ifname, self.cidr)

    def explain(self):
        return [ip_command(self.ns, f"addr del {self.cidr} dev {self.ifname}")]

    def check(self, view):
        return not view.has_addr(self.ns, self.ifname, self.cidr)


class _Route(Step):
    def __init__(self, ns: str | None, dest: str, via: str | None = None, dev: str | None = None):
        self.ns, self.dest, self.via, self.dev = ns, dest, via, dev

    def touches(self):
        return on(self.ns, self.dev)


class AddRoute(_Route):
    kind = "route_add"

    def apply(self, k):
        k.route_add(self.ns, self.dest, self.via, self.dev)

    def undo(self, k):
        k.route_del(self.ns, self.dest, self.via, self.dev)

    def explain(self):
        via = f" via {self.via}" if self.via else ""
        dev = f" dev {self.dev}" if self.dev else ""
        return [ip_command(self.ns, f"route add {_dest_text(self.dest)}{via}{dev} proto static",
                           version_of(self.dest))]

    def check(self, view):
        return view.has_route(self.ns, self.dest, self.via, self.dev)

    def makes(self):
        return {("route", self.ns, _dest_key(self.dest), self.via)}


class DeleteRoute(_Route):
    kind = "route_del"

    def apply(self, k):
        k.route_del(self.ns, self.dest, self.via, self.dev)

    def undo(self, k):
        k.route_add(self.ns, self.dest, self.via, self.dev)

    def explain(self):
        via = f" via {self.via}" if self.via else ""
        return [ip_command(self.ns, f"route del {_dest_text(self.dest)}{via}", version_of(self.dest))]

    def check(self, view):
        return not view.has_route(self.ns, self.dest, self.via, self.dev)
