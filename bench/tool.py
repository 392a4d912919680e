"""The interface every benchmarked tool implements (peers and nsnet alike).

A run of the attach workload, for one tool and N sandboxes, is:

    tool.setup_host(host)                 # once; host = harness.HostNamespace
    for i in range(N):
        tool.create_sandbox(i)            # timed: "netns"
        tool.attach(i) -> Endpoint        # timed: "attach"
    tool.verify()                         # ping + TCP to a published port
    tool.teardown_all() -> [ms, ...]      # timed, per sandbox where possible
    tool.leftovers()                      # what survived teardown (should be [])
    tool.close()

Tools with `batch = True` implement attach_all(n) instead of the per-sandbox
pair (their per-attach time is the total divided by N).  Subclasses usually
only write setup_host, attach and detach.
"""

import time
from dataclasses import dataclass

from . import checks, nslib

CONTAINER_PORT = 8080


@dataclass
class Endpoint:
    netns: str  # name under /run/netns
    ip: str | None  # sandbox address on the bridge
    host_port: int | None = None  # published port on the host, if any


class Tool:
    name = "tool"  # short id used in results, e.g. "cni-bridge"
    label = "tool"  # human name for the report
    family = "peer"
    batch = False
    uses_netns = True  # False: makes its own sandboxes (Mininet-like)
    bridge: str | None = None  # the bridge the tool makes, if it may outlive teardown
    max_n: int | None = None  # largest N worth running (slow tools)
    slow = False  # True: as few rounds as the port variants (plan["port_rounds"])

    def __init__(self, ports: bool = False):
        self.ports = ports
        self.host = None
        self.endpoints: dict[int, Endpoint] = {}
        self.gateway: str | None = None

    # -- life cycle -------------------------------------------------------
    def available(self) -> str | None:
        """None when the tool can run here, else why not (it is then skipped)."""
        return None

    def setup_host(self, host) -> None:
        self.host = host
        self.endpoints = {}

    def create_sandbox(self, i: int) -> str:
        name = self.host.sandbox_name(i)
        nslib.create_netns(name)
        return name

    def attach(self, i: int) -> Endpoint:
        raise NotImplementedError

    def attach_all(self, n: int) -> None:
        raise NotImplementedError

    def detach(self, i: int) -> None:
        """Undo attach(i) through the tool (e.g. CNI DEL)."""

    def remove_sandbox(self, i: int) -> None:
        nslib.delete_netns(self.host.sandbox_name(i))

    def teardown_all(self) -> list[float]:
        """Detach and remove every sandbox; per-sandbox milliseconds."""
        times = []
        for i in sorted(self.endpoints):
            t0 = time.perf_counter()
            self.detach(i)
            self.remove_sandbox(i)
            times.append((time.perf_counter() - t0) * 1000)
        self.endpoints.clear()
        return times

    def close(self) -> None:
        pass

    # -- checks -----------------------------------------------------------
    def verify(self) -> dict:
        return checks.verify_endpoints(self.endpoints, self.gateway, CONTAINER_PORT)

    def expected_links(self) -> set[str]:
        """Host-namespace links allowed to remain after teardown."""
        return {"lo"} | ({self.bridge} if self.bridge else set())

    def leftovers(self) -> list[str]:
        return checks.leftovers(self.host, self.expected_links())
