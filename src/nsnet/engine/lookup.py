"""Store lookups that raise the user-facing NotFound."""

from ..errors import NotFound


class Lookups:
    def get_network(self, name: str) -> dict:
        net = self.store.network(name)
        if net is None:
            raise NotFound(f"network '{name}' not found")
        return net

    def get_sandbox(self, name: str) -> dict:
        sb = self.store.sandbox(name)
        if sb is None:
            raise NotFound(f"sandbox '{name}' not found")
        return sb

    def used_ifnames(self, sandbox: str) -> set[str]:
        names = {ep["ifname"] for ep in self.store.endpoints(sandbox=sandbox) if ep["ifname"]}
        for link in self.store.links(sandbox):
            names.add(link["ifname_a"] if link["a"] == sandbox else link["ifname_b"])
        return names | {"lo"}
