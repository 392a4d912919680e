"""Store lookups that raise the user-facing NotFound, and interface names in use."""

import ipaddress

from ..drivers import DRIVERS, get_driver
from ..errors import Conflict, NotFound
from ..names import check_ifname


def get_network(store, name: str) -> dict:
    net = store.network(name)
    if net is None:
        raise NotFound(f"network '{name}' not found")
    return net


def get_sandbox(store, name: str) -> dict:
    sb = store.sandbox(name)
    if sb is None:
        raise NotFound(f"sandbox '{name}' not found")
    return sb


def find_network(ctx, name: str) -> tuple:
    """(driver, this host's row or None) of network `name`: a row of this host,
    else a network a driver knows beyond it (an overlay without a copy here yet)."""
    local = ctx.store.network(name)
    if local is not None:
        return get_driver(local["driver"]), local
    for drv in DRIVERS.values():
        if drv.find(ctx, name) is not None:
            return drv, None
    raise NotFound(f"network '{name}' not found")


def forget_routes_via(store, sandbox: str, subnets) -> None:
    """The sandbox's stored routes through an address of `subnets` go (their interface goes)."""
    for route in store.routes(sandbox):
        if route["via"] and any(ipaddress.ip_address(route["via"]) in subnet for subnet in subnets):
            store.remove_route(sandbox, route["dest"])


def used_ifnames(store, sandbox: str) -> set[str]:
    names = {ep["ifname"] for ep in store.endpoints(sandbox=sandbox) if ep["ifname"]}
    for link in store.links(sandbox):
        names.add(link["ifname_a"] if link["a"] == sandbox else link["ifname_b"])
    return names | {"lo"}


def pick_ifname(sandbox: str, ifname: str | None, used: set[str]) -> str:
    """`ifname` if the sandbox has no interface of that name, else the first free ethN."""
    if ifname:
        check_ifname(ifname)
        if ifname in used:
            raise Conflict(f"sandbox '{sandbox}' already has an interface named {ifname}")
        return ifname
    return next(f"eth{i}" for i in range(len(used) + 1) if f"eth{i}" not in used)
