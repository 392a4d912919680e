"""Overlay support beyond the driver (drivers/overlay.py): this host's identity
on the underlay, the cluster store's view, and what the agent asks of the engine."""

import ipaddress
import json
import socket

from .. import ipam
from ..drivers import get_driver
from ..drivers.overlay import HOST_META, this_host, underlay_mtu
from ..errors import Conflict
from ..names import check_name
from ..steps import Plan
from .context import Service


class Overlay(Service):
    def __init__(self, ctx, local):
        super().__init__(ctx)
        self.local = local

    def host(self) -> dict | None:
        """This host's name and underlay address (None: no agent ran here yet)."""
        return this_host(self.store)

    def default_host_name(self) -> str:
        """The host namespace's name, else the machine's."""
        return self.ctx.settings.host_netns or socket.gethostname()

    def host_set(self, ex, address: str, name: str | None = None) -> dict:
        """Record this host's underlay (advertise) address; `nsnet agent` does this."""
        addr = str(ipam.parse_ip(address, "--advertise-address"))
        underlay_mtu(self.ctx, addr)  # must be an address of this host
        host = {"name": check_name("host", name or self.default_host_name()), "address": addr}
        before = this_host(self.store) or {}
        if before.get("wg") and before.get("name") == host["name"]:
            host["wg"] = before["wg"]  # its WireGuard identity stays (Tunnels.identity renews it)
        self.store.set_meta(HOST_META, json.dumps(host))
        return host

    def forget(self, ex, name: str) -> dict:
        """Drop this host's copy of an overlay network that left the cluster store
        (the agent calls this); refused while local sandboxes are attached."""
        local = self.store.network(name)
        drv = get_driver(local["driver"]) if local else None
        if drv is None or not drv.spans_hosts:
            return {"forgotten": None, "errors": []}
        if self.ctx.cluster.network(name) is not None:
            raise Conflict(f"network '{name}' is still in the cluster store; use `nsnet network rm`")
        endpoints = self.store.endpoints(network=name)
        if endpoints:
            raise Conflict(f"network '{name}' left the cluster store but sandboxes here are still attached: "
                           + ", ".join(ep["sandbox"] for ep in endpoints))
        return {"forgotten": name, "errors": ex.best_effort(Plan(self.local.remove(ex, local, drv)))}

    def ls(self) -> list[dict]:
        """Overlay networks of the cluster store, with their endpoints per host."""
        state, _ = self.ctx.cluster.snapshot()
        out = []
        for name, rec in sorted(state["networks"].items()):
            eps = [ep for (net, _), ep in state["endpoints"].items() if net == name]
            out.append(dict(rec, endpoints=sorted(eps, key=lambda e: ipaddress.ip_address(e["ip"])),
                            local=self.store.network(name) is not None))
        return out

    def hosts(self) -> dict:
        """The live hosts of the cluster store."""
        return self.ctx.cluster.hosts()
