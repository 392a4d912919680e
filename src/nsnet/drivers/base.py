"""The driver interface. A driver turns a network (a store row) and an endpoint
into Steps; it never touches the kernel or the store itself."""

from ..steps import Step


class Driver:
    name = ""
    uses_subnet = False  # does this driver hand out addresses (IPAM)?
    sandbox_mode = "netns"  # what a connected sandbox becomes: netns | host | none
    exclusive = False  # a sandbox on this network may be on no other network

    def plan_create(self, net: dict) -> list[Step]:
        return []

    def plan_remove(self, net: dict) -> list[Step]:
        return []

    def plan_connect(self, net: dict, ep: dict, sandbox_ns: str, default_route: bool) -> list[Step]:
        return []

    def plan_disconnect(self, net: dict, ep: dict, sandbox_ns: str) -> list[Step]:
        return []
