"""Read-only views for the front doors (CLI, CNI plugin, topology files, the
agent): they read state through these, never through the store's rows or the
kernel object directly. Rows come back as the store keeps them (dicts,
`options` decoded); a missing object is None unless said otherwise."""

import socket

from ..errors import NotFound
from .context import Service


class Reads(Service):
    def network_get(self, name: str) -> dict | None:
        return self.store.network(name)

    def sandbox_get(self, name: str) -> dict | None:
        return self.store.sandbox(name)

    def endpoint_get(self, network: str, sandbox: str, ifname: str | None = None) -> dict | None:
        """The sandbox's endpoint on `network` with interface `ifname` (None: its first there)."""
        return self.store.endpoint(network, sandbox, ifname)

    def network_rows(self, driver: str | None = None) -> list[dict]:
        """The networks of this host's store (of one driver), without the
        cluster's or the kernel's view (network_ls adds those)."""
        return [n for n in self.store.networks() if driver is None or n["driver"] == driver]

    def sandbox_rows(self) -> list[dict]:
        return self.store.sandboxes()

    def endpoint_rows(self, network: str | None = None, sandbox: str | None = None) -> list[dict]:
        return self.store.endpoints(network=network, sandbox=sandbox)

    def route_ls(self, sandbox: str | None = None) -> list[dict]:
        """Routes nsnet added: [{sandbox, dest, via, dev}]; NotFound for an unknown sandbox."""
        if sandbox is not None and self.store.sandbox(sandbox) is None:
            raise NotFound(f"sandbox '{sandbox}' not found")
        return self.store.routes(sandbox)

    def process_record(self, name: str) -> dict | None:
        """The record of a process nsnet started (state/processes.py), as written."""
        return self.store.processes.read(name)

    def netns_exists(self, netns: str) -> bool:
        """A namespace name under /run/netns, or a path (CNI_NETNS)."""
        return self.kernel.netns_exists(netns)

    def interface_macs(self, netns: str | None) -> dict[str, str]:
        """{ifname: MAC} of the interfaces in `netns` (None: the host)."""
        return {link["ifname"]: link["mac"] for link in self.kernel.links(netns)}

    def interface_addresses(self, netns: str | None) -> list[str]:
        """The addresses (CIDR) of the interfaces in `netns` (None: the host): IPv4
        ones, then IPv6 ones but link-local ones."""
        return ([a["cidr"] for a in self.kernel.addrs(netns, socket.AF_INET)]
                + [a["cidr"] for a in self.kernel.addrs(netns, socket.AF_INET6) if not a["cidr"].startswith("fe80:")])
