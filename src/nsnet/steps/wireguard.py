"""Steps of encrypted overlays: this host's WireGuard device and its peers
(kernel/wireguard.py does the work). The device is shared by every encrypted
network of the host, so each network's plan holds the same StartTunnel: it is
idempotent, and only the step that started the device stops it on rollback."""

from .base import Step, on


class _OnDevice(Step):
    def __init__(self, device: dict):
        self.device = device

    def touches(self):
        return on(None, self.device["ifname"])


class StartTunnel(_OnDevice):
    """The device up, with its key, port, MTU and tunnel address."""

    kind = "wg_up"
    shared = True  # the same step in several networks' plans: explain/repair keep one

    def __init__(self, device: dict):
        self.device = device
        self.started = False  # set by apply: only the step that started the device undoes it

    def apply(self, k):
        self.started = k.wg_up(self.device)

    def undo(self, k):
        if self.started:
            k.wg_down(self.device)

    def explain(self):
        dev, name = self.device, self.device["ifname"]
        return [f"ip link add {name} type wireguard  # once per host; with no WireGuard in the kernel: "
                f"wireguard-go -f {name}",
                f"wg set {name} listen-port {dev['port']} private-key {dev['key']}",
                f"ip link set {name} mtu {dev['mtu']} up",
                f"ip addr add {dev['address']} dev {name}"]

    def check(self, view):
        link = view.link(None, self.device["ifname"])
        return bool(link and link["up"])


class SetTunnelPeers(_OnDevice):
    """Add or update peers (public key -> endpoint, allowed IPs) and remove others.
    No undo: the peers are the cluster's live hosts, which every encrypted network
    of this host wants (and the agent keeps them so)."""

    kind = "wg_peers"

    def __init__(self, device: dict, peers: dict, remove: list | None = None):
        self.device, self.peers, self.remove = device, peers, list(remove or [])

    def apply(self, k):
        k.wg_set_peers(self.device, self.peers, self.remove)

    def explain(self):
        name = self.device["ifname"]
        lines = [f"wg set {name} peer {key} remove" for key in self.remove]
        lines += [f"wg set {name} peer {key} endpoint {p['endpoint']} allowed-ips {p['allowed_ips']}"
                  for key, p in sorted(self.peers.items())]
        return lines


class StopTunnel(_OnDevice):
    """The device goes (wireguard-go: stopped by its recorded pid) once no encrypted network needs it."""

    kind = "wg_down"

    def apply(self, k):
        k.wg_down(self.device)

    def explain(self):
        name = self.device["ifname"]
        return [f"ip link del {name}  # wireguard-go: kill the pid recorded in {self.device['run']}/{name}.json"]
