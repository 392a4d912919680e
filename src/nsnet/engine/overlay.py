"""Overlay networks in the engine: the cluster store holds the network (VNI,
subnet) and every host's endpoints; each host keeps a local copy of the
network (a row in its own store plus bridge + VXLAN device), made on the first
connect there (or at create, on the creating host).

Everything is validated and read first; the only cluster write made while
planning is the address claim (one etcd transaction), which a ClaimAddress step
gives back if the plan fails. `--dry-run` claims nothing.
"""

import ipaddress
import json
import os
import socket

from .. import ipam
from ..drivers import get_driver
from ..errors import Conflict, InvalidInput, NotFound
from ..names import bridge_name, check_ifname, check_mtu, check_name, host_veth_name
from ..steps import Plan
from .base import changing
from .executor import execute, execute_best_effort

# The cluster store, its Steps and the overlay driver's helpers are imported
# inside the methods: commands that never touch an overlay do not load them.

HOST_META = "overlay_host"  # meta key: {"name", "address"} of this host, set by `nsnet agent`


class Overlay:
    # -- plumbing --------------------------------------------------------------
    @property
    def cluster(self):
        """The cluster store, opened on first use (--store / NSNET_STORE, else
        SQLite in the state directory)."""
        from ..state.cluster import default_url, open_store

        if self.__dict__.get("_cluster") is None:
            self._cluster = open_store(self.settings.cluster_store or default_url(self.settings.state_dir))
        return self._cluster

    def close(self) -> None:
        cluster = self.__dict__.pop("_cluster", None)
        if cluster is not None:
            cluster.close()
        super().close()

    def _is_overlay(self, name: str) -> bool:
        """Is `name` an overlay network (local copy, or only in the cluster store)?"""
        local = self.store.network(name)
        if local is not None:
            return local["driver"] == "overlay"
        if not self.settings.cluster_store and not os.path.exists(os.path.join(self.settings.state_dir, "cluster.db")):
            return False  # no cluster store configured and no embedded one yet: nothing to ask
        from ..state.cluster import ClusterUnavailable

        try:
            return self.cluster.network(name) is not None
        except ClusterUnavailable as exc:
            raise ClusterUnavailable(f"network '{name}' is not on this host and the cluster store cannot be "
                                     f"asked: {exc}")

    # -- this host's identity on the underlay ------------------------------------
    def overlay_host(self) -> dict | None:
        raw = self.store.meta(HOST_META)
        return json.loads(raw) if raw else None

    def default_host_name(self) -> str:
        return self.settings.host_netns or socket.gethostname()

    @changing
    def overlay_host_set(self, address: str, name: str | None = None) -> dict:
        """Record this host's underlay (advertise) address; `nsnet agent` does this."""
        addr = str(ipam.parse_ip(address, "--advertise-address"))
        self._underlay_mtu(addr)  # must be an address of this host
        host = {"name": check_name("host", name or self.default_host_name()), "address": addr}
        self.store.set_meta(HOST_META, json.dumps(host))
        return host

    def _require_host(self) -> dict:
        host = self.overlay_host()
        if not host:
            raise Conflict("this host has no advertise address for overlay networks: run "
                           "`nsnet agent --advertise-address IP` on it first")
        return host

    def _underlay_mtu(self, address: str) -> int:
        """MTU of the host interface that holds `address` (the VXLAN underlay)."""
        names = [a["ifname"] for a in self.kernel.addrs(None) if a["cidr"].split("/")[0] == address]
        if not names:
            where = f"namespace {self.settings.host_netns}" if self.settings.host_netns else "the host"
            raise InvalidInput(f"advertise address {address} is not an address of {where}")
        return next(link["mtu"] for link in self.kernel.links(None) if link["ifname"] == names[0])

    # -- create / remove --------------------------------------------------------------
    @changing
    def overlay_create(self, name: str, subnet: str | None = None, vni: int | None = None,
                       gateway: str | None = None, mtu: int | None = None, bridge: str | None = None,
                       internal: bool = False, masquerade: bool = True) -> dict:
        """An overlay network in the cluster store, and its copy on this host."""
        return self._overlay_create(name, subnet, gateway, mtu, bridge, internal, masquerade, vni)

    def _overlay_create(self, name, subnet=None, gateway=None, mtu=None, bridge=None, internal=False,
                        masquerade=True, vni=None, **_ignored) -> dict:
        from ..drivers.overlay import VXLAN_OVERHEAD
        from ..state.cluster.store import check_vni
        from ..steps.cluster import CreateClusterNetwork

        check_name("network", name)
        if self.store.network(name):
            raise Conflict(f"network '{name}' already exists")
        vni = check_vni(vni) if vni is not None else None
        check_mtu(mtu)
        host = self._require_host()
        cluster_nets = self.cluster.networks()
        net = self._choose_subnet(subnet, [ipaddress.ip_network(n["subnet"]) for n in cluster_nets])
        self.cluster.check_new_network(name, net, vni)
        gw = ipam.parse_ip(gateway, "gateway") if gateway else ipam.default_gateway(net)
        ipam.check_in_subnet(gw, net, "gateway")
        fits = self._underlay_mtu(host["address"]) - VXLAN_OVERHEAD
        if mtu and int(mtu) > fits:
            raise InvalidInput(f"mtu {mtu} does not fit the underlay: at most {fits} "
                               f"(underlay MTU minus {VXLAN_OVERHEAD} bytes of VXLAN headers)")
        record = {"name": name, "subnet": str(net), "gateway": str(gw), "vni": vni or self.cluster.free_vni(),
                  "mtu": int(mtu) if mtu else None, "internal": bool(internal),
                  "masquerade": bool(masquerade) and not internal}
        plan = Plan([CreateClusterNetwork(self.cluster, record)])
        self._overlay_materialize(plan, record, host, bridge)
        self.apply(plan)
        return self.network_inspect(name)

    def _overlay_materialize(self, plan: Plan, record: dict, host: dict, bridge: str | None = None) -> dict:
        """This host's copy of overlay `record`: a row in the local store (it puts
        the bridge in the firewall's `bridges` set), bridge + VXLAN device, and
        the entries of the endpoints already on other hosts."""
        from ..drivers.overlay import VXLAN_PORT, overlay_mtu, remote_steps, vxlan_name

        name = record["name"]
        bridge = check_ifname(bridge) if bridge else bridge_name(name)
        vxlan = vxlan_name(record["vni"])
        for net in self.store.networks():
            if net["bridge"] == bridge or (net.get("options") or {}).get("vxlan") == vxlan:
                raise Conflict(f"network '{net['name']}' already uses interface {bridge} or {vxlan}")
        if not self._dry_run:
            for ifname in (bridge, vxlan):
                if self.kernel.link_exists(None, ifname):
                    raise Conflict(f"an interface named {ifname} already exists in the host namespace (not ours)")
        mtu = overlay_mtu(self._underlay_mtu(host["address"]), record.get("mtu"))
        options = {"internal": record["internal"], "masquerade": record["masquerade"], "dns": False,
                   "vni": record["vni"], "vxlan": vxlan, "local": host["address"], "port": VXLAN_PORT}
        before = self._bridged_networks()
        self.store.add_network(name, "overlay", record["subnet"], record["gateway"], bridge, mtu, options)
        net = self.store.network(name)
        plan.extend(get_driver("overlay").plan_create(net))
        plan.extend(self._fw_network_added(net, before))
        plan.extend(remote_steps(vxlan, self._remote_entries(name, host["name"])))
        return net

    def _remote_entries(self, network: str, me: str) -> list[tuple[str, str, str]]:
        """(ip, mac, vtep) of the endpoints of `network` on other live hosts."""
        hosts = self.cluster.hosts()
        return [(ep["ip"], ep["mac"], hosts[ep["host"]]["address"]) for ep in self.cluster.endpoints(network)
                if ep["host"] != me and ep["host"] in hosts]

    def _overlay_rm(self, name: str, force: bool = False, **_ignored) -> dict:
        from ..steps.cluster import DeleteClusterNetwork

        local = self.store.network(name)
        remote = self.cluster.network(name)
        if local is None and remote is None:
            raise NotFound(f"network '{name}' not found")
        endpoints = self.store.endpoints(network=name) if local else []
        if endpoints and not force:
            who = ", ".join(ep["sandbox"] for ep in endpoints)
            raise Conflict(f"network '{name}' has {len(endpoints)} sandbox(es) attached ({who}); "
                           "disconnect them or use --force")
        ours = [ep["ip"] for ep in endpoints]
        if remote:
            claims = self.cluster.claims(name)
            others = [ip for ip in claims if ip not in ours]
            if others:
                raise Conflict(f"network '{name}' has {len(others)} endpoint(s) on other hosts "
                               f"({', '.join(sorted({claims[ip].get('host', '?') for ip in others}))}); "
                               "disconnect them there first")
        first = [DeleteClusterNetwork(self.cluster, name, ours)] if remote else []
        rest = self._overlay_local_removal(local, endpoints) if local else []
        if self._dry_run:
            self.apply(Plan(first + rest))
        execute(Plan(first), self.kernel)  # the cluster refuses (a claim raced in): nothing else happens
        return {"removed": name, "errors": execute_best_effort(Plan(rest), self.kernel)}

    def _overlay_local_removal(self, local: dict, endpoints: list) -> list:
        from ..steps.cluster import ReleaseEndpoint

        before = self._bridged_networks()
        steps = []
        for ep in endpoints:
            steps += [s for s in self._plan_disconnect(local, ep) if not isinstance(s, ReleaseEndpoint)]
        self.store.remove_network(local["name"])
        fw_first, fw_last = self._fw_network_removed(before)
        return steps + fw_first + get_driver("overlay").plan_remove(local) + fw_last

    @changing
    def overlay_forget(self, name: str) -> dict:
        """Drop this host's copy of an overlay network that left the cluster store
        (the agent calls this); refused while local sandboxes are attached."""
        local = self.store.network(name)
        if local is None or local["driver"] != "overlay":
            return {"forgotten": None, "errors": []}
        if self.cluster.network(name) is not None:
            raise Conflict(f"network '{name}' is still in the cluster store; use `nsnet network rm`")
        endpoints = self.store.endpoints(network=name)
        if endpoints:
            raise Conflict(f"network '{name}' left the cluster store but sandboxes here are still attached: "
                           + ", ".join(ep["sandbox"] for ep in endpoints))
        plan = Plan(self._overlay_local_removal(local, []))
        if self._dry_run:
            self.apply(plan)
        return {"forgotten": name, "errors": execute_best_effort(plan, self.kernel)}

    # -- connect / disconnect --------------------------------------------------------
    def _overlay_plan_connect(self, plan: Plan, network: str, sandbox: str, ip=None, ifname=None,
                              publish=None, aliases=None) -> dict:
        from ..drivers.overlay import endpoint_mac
        from ..steps.cluster import ClaimAddress, PublishEndpoint

        record = self.cluster.network(network)
        if record is None:
            raise NotFound(f"network '{network}' not found (not in the cluster store {self.cluster.url})")
        sb = self.get_sandbox(sandbox)
        if self.store.endpoint(network, sandbox):
            raise Conflict(f"sandbox '{sandbox}' is already connected to network '{network}'")
        current = self.store.endpoints(sandbox=sandbox)
        if current and sb["mode"] != "netns":
            raise Conflict(f"sandbox '{sandbox}' is on network '{current[0]['network']}'; a '{sb['mode']}' "
                           "network cannot be combined with others")
        if aliases:
            raise InvalidInput("overlay networks have no DNS yet: --alias is not supported")
        ifname = self._pick_ifname(sandbox, ifname)
        host = self._require_host()
        net = self.store.network(network)
        if net is not None and net["options"].get("vni") != record["vni"]:
            raise Conflict(f"this host's copy of network '{network}' is stale (VNI {net['options'].get('vni')}, "
                           f"the cluster has {record['vni']}); remove it here with `nsnet network rm {network}`")
        if net is None:
            net = self._overlay_materialize(plan, record, host)
        subnet = ipaddress.ip_network(record["subnet"])
        if ip:
            addr = ipam.parse_ip(ip, "--ip")
            ipam.check_in_subnet(addr, subnet, "--ip")
            if str(addr) == record["gateway"]:
                raise Conflict(f"address {addr} on network '{network}' is already taken by the gateway")
            ip = str(addr)
        owner = {"host": host["name"], "sandbox": sandbox}
        if self._dry_run:
            addr = ip or self.cluster.free_address(record, self.cluster.claims(network))
        else:
            addr = self.cluster.claim(network, host["name"], sandbox, ip)
        try:
            has_default = any(ep["is_gateway"] for ep in current) or self.store.route(sandbox, "0.0.0.0/0")
            ep_id = self.store.add_endpoint(network, sandbox, ifname, addr, not has_default)
            self.store.set_endpoint_host_ifname(ep_id, host_veth_name(ep_id))
            ep = self.store.endpoint(network, sandbox)
            plan.add(ClaimAddress(self.cluster, network, addr, owner, claimed=not self._dry_run))
            plan.extend(get_driver("overlay").plan_connect(net, ep, sb["netns"], default_route=not has_default))
            plan.extend(self._plan_publish(net, ep, publish))
            plan.add(PublishEndpoint(self.cluster, {"network": network, "ip": addr, "mac": endpoint_mac(addr),
                                                    "host": host["name"], "vtep": host["address"],
                                                    "sandbox": sandbox}))
        except BaseException:
            if not self._dry_run:
                self.cluster.release(network, addr)
            raise
        return ep

    def _pick_ifname(self, sandbox: str, ifname: str | None) -> str:
        used = self.used_ifnames(sandbox)
        if ifname:
            check_ifname(ifname)
            if ifname in used:
                raise Conflict(f"sandbox '{sandbox}' already has an interface named {ifname}")
            return ifname
        return next(f"eth{i}" for i in range(len(used) + 1) if f"eth{i}" not in used)

    def _overlay_release(self, net: dict, ep: dict) -> list:
        """Disconnecting gives the address back to the cluster (a step: with
        --dry-run nothing is written; if etcd is down it is reported, and the
        agent removes the stale endpoint once etcd is back)."""
        from ..steps.cluster import ReleaseEndpoint

        return [ReleaseEndpoint(self.cluster, net["name"], ep["ip"])] if ep.get("ip") else []

    # -- the cluster view -------------------------------------------------------------
    def overlay_ls(self) -> list[dict]:
        """Overlay networks of the cluster store, with their endpoints per host."""
        state, _ = self.cluster.snapshot()
        out = []
        for name, rec in sorted(state["networks"].items()):
            eps = [ep for (net, _), ep in state["endpoints"].items() if net == name]
            out.append(dict(rec, endpoints=sorted(eps, key=lambda e: ipaddress.ip_address(e["ip"])),
                            local=self.store.network(name) is not None))
        return out

    def overlay_hosts(self) -> dict:
        return self.cluster.hosts()
