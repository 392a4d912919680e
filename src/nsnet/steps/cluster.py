"""Steps that write the cluster store, so they sit in a Plan with the kernel
steps: a failed connect undoes its address claim, and --dry-run prints them
(as the etcdctl commands that do the same) without writing anything. They
touch no kernel object."""

from .base import Step


class _ClusterStep(Step):
    in_host = False  # etcdctl reaches the store from anywhere: no namespace to aim at

    def as_record(self):
        """Without the cluster store itself (recovery gives it back)."""
        return {"step": type(self).__name__, **{k: v for k, v in vars(self).items() if k != "cluster"}}


class CreateClusterNetwork(_ClusterStep):
    kind = "cluster_network_add"

    def __init__(self, cluster, record: dict):
        self.cluster, self.record = cluster, record

    def apply(self, k):
        self.cluster.create_network(self.record)

    def undo(self, k):
        self.cluster.delete_network(self.record["name"])

    def explain(self):
        name = self.record["name"]
        return [self.cluster.describe("put", "networks", name, value=self.record),
                self.cluster.describe("put", "vni", self.record["vni"], value=name)]


class DeleteClusterNetwork(_ClusterStep):
    """The network, its VNI and the given (local) endpoints, in one transaction."""

    kind = "cluster_network_del"

    def __init__(self, cluster, name: str, release: list):
        self.cluster, self.name, self.release = cluster, name, release

    def apply(self, k):
        self.cluster.delete_network(self.name, self.release)

    def explain(self):
        lines = [self.cluster.describe("del", "networks", self.name)]
        for ip in self.release:
            lines += [self.cluster.describe("del", "endpoints", self.name, ip),
                      self.cluster.describe("del", "ipam", self.name, ip)]
        return lines


def _addresses(ips) -> list[str]:
    """One address or several (a dual-stack endpoint's, IPv4 first)."""
    return [ips] if isinstance(ips, str) else list(ips)


class ClaimAddress(_ClusterStep):
    """The claim itself is made while planning (the addresses must be known to plan
    the rest); this step only gives them back if a later step fails. `ips`: the
    endpoint's address, or its addresses (first one first)."""

    kind = "cluster_claim"

    def __init__(self, cluster, network: str, ips, owner: dict, claimed: bool = True):
        self.cluster, self.network, self.owner, self.claimed = cluster, network, owner, claimed
        self.ips = _addresses(ips)

    def apply(self, k):
        pass

    def undo(self, k):
        if self.claimed:
            self.cluster.release(self.network, *self.ips)

    def explain(self):
        return [self.cluster.describe("put", "ipam", self.network, ip, value=self.owner) for ip in self.ips]


class PublishEndpoint(_ClusterStep):
    """Announce the endpoint: the agents on other hosts program it within a second."""

    kind = "cluster_publish"

    def __init__(self, cluster, record: dict):
        self.cluster, self.record = cluster, record

    def apply(self, k):
        self.cluster.publish(self.record)

    def undo(self, k):
        self.cluster.unpublish(self.record["network"], self.record["ip"])

    def explain(self):
        return [self.cluster.describe("put", "endpoints", self.record["network"], self.record["ip"],
                                      value=self.record)]


class ReleaseEndpoint(_ClusterStep):
    """The endpoint (named by its first address) and the claims of all its addresses."""

    kind = "cluster_release"

    def __init__(self, cluster, network: str, ips):
        self.cluster, self.network, self.ips = cluster, network, _addresses(ips)

    def apply(self, k):
        self.cluster.release(self.network, *self.ips)

    def explain(self):
        return [self.cluster.describe("del", "endpoints", self.network, self.ips[0]),
                *(self.cluster.describe("del", "ipam", self.network, ip) for ip in self.ips)]
