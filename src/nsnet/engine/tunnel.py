"""This host's WireGuard device for encrypted overlays (drivers/tunnel.py):
its identity (a key pair made here, a tunnel address claimed in the cluster
store), keeping it running exactly while an encrypted network has a copy on
this host, its peers in step with the cluster's live hosts, and what `doctor`
and `nsnet overlay tunnel` report about it.

The networks' own plans start the device (StartTunnel, idempotent) and stop it
with the last of them (the driver's plan_vacate); the agent calls sync() after
hosts come and go, on every resync, and when the recorded wireguard-go is gone."""

import json

from ..drivers import tunnel
from ..drivers.overlay import HOST_META, require_host, this_host, underlay_mtu
from ..errors import NsnetError
from ..steps import Plan
from .context import Service

# steps/wireguard.py is imported where used: the engine package is loaded by
# every command, most of which never touch an encrypted overlay.


class Tunnels(Service):
    # -- identity ----------------------------------------------------------------------
    def identity(self, ex) -> dict:
        """This host's WireGuard identity {key (public), port, tunnel}: the key pair
        is made once (the private key stays in the state dir, root only), the tunnel
        address claimed in the cluster store (the same one again after a restart)."""
        host = require_host(self.store)
        key = self.kernel.wg_keypair(tunnel.key_path(self.ctx.settings.state_dir))
        before = (host.get("wg") or {}).get("tunnel")
        address = self.ctx.cluster.claim_tunnel(host["name"], tunnel.TUNNEL_SUBNET, before)
        host["wg"] = {"key": key, "port": tunnel.WG_PORT, "tunnel": address}
        if not ex.dry_run:
            self.store.set_meta(HOST_META, json.dumps(host))
        return host["wg"]

    # -- the device --------------------------------------------------------------------
    def encrypted_networks(self) -> list[dict]:
        return [n for n in self.store.networks() if (n.get("options") or {}).get("encrypted")]

    def device(self, nets: list[dict] | None = None) -> dict | None:
        """The device as this host's encrypted networks describe it (None: this host has no identity)."""
        nets = self.encrypted_networks() if nets is None else nets
        if nets:
            return nets[0]["options"]["tunnel"]
        host = this_host(self.store) or {}
        wg = host.get("wg")
        if not wg:
            return None
        return tunnel.device(self.ctx.settings.state_dir, wg["tunnel"], underlay_mtu(self.ctx, host["address"]))

    def sync(self, ex, peers: dict | None = None) -> dict:
        """Run the device iff an encrypted network is here (start it if it died,
        stop it if nothing needs it) and make its peers `peers` (default: the
        cluster store's live hosts). Returns what changed."""
        from ..steps.wireguard import SetTunnelPeers, StartTunnel, StopTunnel

        nets = self.encrypted_networks()
        dev = self.device(nets)
        if dev is None:
            return {"device": None}
        state = self.kernel.wg_state(dev)
        if not nets:
            if state["backend"]:
                ex.apply(Plan([StopTunnel(dev)]))
            return {"device": dev["ifname"], "stopped": bool(state["backend"])}
        steps = [] if state["running"] else [StartTunnel(dev)]
        current = self.kernel.wg_peers(dev) if state["running"] else {}
        if peers is None:
            peers = tunnel.peers(self.ctx.cluster.hosts(), require_host(self.store)["name"])
        add, remove = tunnel.peer_changes(current, peers)
        if add or remove:
            steps.append(SetTunnelPeers(dev, add, remove))
        ex.apply(Plan(steps))
        return {"device": dev["ifname"], "started": not state["running"], "added": sorted(add), "removed": remove}

    def release(self, ex) -> dict:
        """Stop the device if no encrypted network needs it (the agent, as it exits)."""
        from ..steps.wireguard import StopTunnel

        dev = self.device()
        if dev is None or self.encrypted_networks() or not self.kernel.wg_state(dev)["backend"]:
            return {"stopped": False}
        ex.apply(Plan([StopTunnel(dev)]))
        return {"stopped": True}

    def stop(self, ex) -> dict:
        """Stop the device whatever needs it (a kill sweep; the encrypted networks
        here lose their tunnels until the next sync)."""
        from ..steps.wireguard import StopTunnel

        dev = self.device()
        if dev is None:
            return {"stopped": False}
        ex.best_effort(Plan([StopTunnel(dev)]))
        return {"stopped": True}

    # -- what it looks like --------------------------------------------------------------
    def status(self) -> dict:
        """The device, whether it runs, and its peers (named after their hosts)."""
        nets = self.encrypted_networks()
        dev = self.device(nets)
        host = this_host(self.store) or {}
        if dev is None:
            return {"device": None, "host": host.get("name")}
        state = self.kernel.wg_state(dev)
        try:
            names = {(h.get("wg") or {}).get("key"): name for name, h in self.ctx.cluster.hosts().items()}
        except NsnetError:  # the cluster store is away: peers without names
            names = {}
        peers = self.kernel.wg_peers(dev) if state["running"] else {}
        wg = host.get("wg") or {}
        return {"device": dev["ifname"], "host": host.get("name"), "backend": state["backend"], "pid": state["pid"],
                "running": state["running"], "public_key": wg.get("key"), "port": dev["port"],
                "address": dev["address"], "mtu": dev["mtu"], "networks": [n["name"] for n in nets],
                "peers": [dict(p, key=key, host=names.get(key)) for key, p in sorted(peers.items())]}

    def check(self) -> list[dict]:
        """Problems `doctor` reports: {"problem", "fix"} each; [] when all is well."""
        nets = self.encrypted_networks()
        try:
            dev = self.device(nets)
        except NsnetError:  # no underlay address to size it by: the agent's own problem
            return []
        if dev is None:
            return []
        state, name = self.kernel.wg_state(dev), dev["ifname"]
        fix = "nsnet overlay tunnel sync (a running agent does it on its own)"
        out = []
        if nets and not state["running"]:
            why = f"wireguard-go (pid {state['pid']}) is gone" if state["process"] is False else "it is not there"
            out.append({"problem": f"encrypted overlay(s) {', '.join(n['name'] for n in nets)} need {name}, "
                                   f"but {why}", "fix": fix})
        elif not nets and state["backend"]:
            out.append({"problem": f"{name} ({state['backend']}, pid {state['pid']}) runs, but no encrypted "
                                   "overlay here needs it", "fix": fix})
        return out
