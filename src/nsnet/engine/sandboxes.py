"""Sandboxes: a named network namespace with `lo` up."""

import socket

from .. import family
from ..errors import Conflict, InvalidInput, NotFound
from ..names import HOST_NAME_MAX, check_hostname, check_name
from ..steps import CreateNetns, DeleteLink, DeleteNetns, Plan
from .context import Service
from .lookup import find_network, get_sandbox
from .networks import DEFAULT_NETWORK
from .processes import stop_sandbox_processes
from .views import endpoint_view, route_proto

ENDPOINT_FIELDS = ("network", "ifname", "ip", "ip6", "host_ifname", "is_gateway", "is_gateway6")


class Sandboxes(Service):
    def __init__(self, ctx, endpoints, firewall, dns, networks):
        super().__init__(ctx)
        self.endpoints = endpoints
        self.networks = networks
        self.firewall = firewall
        self.dns = dns

    def create(self, ex, name: str, networks: list | None = None, publish=None, hostname: str | None = None) -> dict:
        """A namespace with `lo` up and a hostname of its own (`hostname`, default
        its name: a UTS namespace per sandbox, as containers have, made and pinned
        by the sandbox's first command: see kernel/nsfs.join_uts).
        `networks`: [(network, ip or None), ...] to attach in the same plan,
        so a failure in any attachment removes the sandbox too. `publish`
        ports go to the sandbox's address on its first network. The default
        network ("default") is made in the same change if it does not exist."""
        check_name("sandbox", name)
        hostname = name[:HOST_NAME_MAX] if hostname is None else check_hostname(hostname)
        if self.store.sandbox(name):
            raise Conflict(f"sandbox '{name}' already exists")
        netns = self.ctx.netns_name(name)
        if self.kernel.netns_exists(netns):
            raise Conflict(f"a network namespace named '{netns}' already exists (not made by nsnet)")
        if publish and not networks:
            raise InvalidInput("publishing ports needs a network (--network)")
        items = [(item, None) if isinstance(item, str) else (item[0], item[1]) for item in networks or []]
        if any(net == DEFAULT_NETWORK for net, _ in items):
            self.networks.ensure_default(ex)
        options = {"hostname": hostname}
        self.store.add_sandbox(name, netns, options)
        new_sandbox = {"name": name, "netns": netns, "mode": "netns", "options": options}  # the row just written
        # On the host network its namespace is the host's (the endpoint's step pins it): none of its own.
        host_mode = bool(items) and find_network(self.ctx, items[0][0])[0].sandbox_mode == "host"
        plan = Plan([] if host_mode else [CreateNetns(netns)])
        seen = set()
        for net, ip in items:
            if net in seen:
                raise InvalidInput(f"network '{net}' is given twice")
            self.endpoints.plan_connect(ex, plan, net, name, ip, publish=None if seen else publish,
                                        new_sandbox=None if seen else new_sandbox)
            seen.add(net)
        ex.apply(plan)
        # What inspect(live=False) shows, without its lookups of what a new sandbox cannot have yet.
        return {"name": name, "netns": netns, "hostname": hostname, "mode": self.store.sandbox(name)["mode"],
                "endpoints": self._endpoint_views(name) if networks else [],
                "links": [], "routes": [], "ports": self.firewall.ports(name) if publish else []}

    def adopt(self, ex, name: str, netns_path: str) -> dict:
        """Make an existing network namespace (a container runtime's, by path:
        /var/run/netns/X, /proc/PID/ns/net) a sandbox nsnet can attach. nsnet
        never removes an adopted namespace; `sandbox rm` only detaches it."""
        check_name("sandbox", name)
        if not netns_path.startswith("/"):
            raise InvalidInput(f"netns path '{netns_path}' must be absolute")
        if self.store.sandbox(name):
            raise Conflict(f"sandbox '{name}' already exists")
        if not self.kernel.netns_exists(netns_path):
            raise NotFound(f"network namespace {netns_path} does not exist")
        owner = self.store.sandbox_of_netns(netns_path)  # one indexed lookup: an adopt is O(1) in sandboxes
        if owner:
            raise Conflict(f"network namespace {netns_path} is already sandbox '{owner['name']}'")
        self.store.add_sandbox(name, netns_path, {"external": True})
        return self.inspect(name, live=False)

    def rm(self, ex, name: str) -> dict:
        sb = get_sandbox(self.store, name)
        if not ex.dry_run:
            stop_sandbox_processes(self.store.processes, name)
        # Unpinning the namespace makes the kernel delete its veths (in batches,
        # ~50x faster than one RTM_DELLINK each). Only if a process is still
        # inside, and would keep the namespace alive, are the cables cut first;
        # an adopted namespace (CNI) is not ours to remove: cut them always.
        # A host-mode sandbox has no cables, and its namespace (the host's) is always in use.
        external = bool((sb.get("options") or {}).get("external"))
        in_use = external or (sb["mode"] != "host" and self.kernel.netns_in_use(sb["netns"]))
        plan = Plan()
        for ep in self.store.endpoints(sandbox=name):
            plan.extend(self.endpoints.plan_disconnect(ex, self.store.network(ep["network"]), ep, cut_cable=in_use,
                                                       sandbox_goes=True))
        for link in self.store.links(name):
            self.store.remove_link(link["id"])
            own_end = link["ifname_a"] if link["a"] == name else link["ifname_b"]
            plan.extend([DeleteLink(sb["netns"], own_end)] if in_use else [])
        for route in self.store.routes(name):
            self.store.remove_route(name, route["dest"])
        self.store.remove_sandbox(name)
        self.dns.touch(ex, name, sb["netns"])  # its resolv.conf goes
        if not external:
            plan.add(DeleteNetns(sb["netns"]))
        return {"removed": name, "errors": ex.best_effort(plan)}

    def ls(self) -> list[dict]:
        by_sandbox: dict[str, list] = {}
        for ep in self.store.endpoints():
            addrs = ",".join(family.addresses(ep))
            by_sandbox.setdefault(ep["sandbox"], []).append(f"{ep['network']}:{addrs}" if addrs else ep["network"])
        return [
            {"name": sb["name"], "netns": sb["netns"], "mode": sb["mode"],
             "networks": by_sandbox.get(sb["name"], []),
             "exists": self.ctx.netns_exists(sb["netns"])}
            for sb in self.store.sandboxes()
        ]

    def inspect(self, name: str, live: bool = True) -> dict:
        sb = get_sandbox(self.store, name)
        out = {
            "name": name, "netns": sb["netns"], "hostname": (sb.get("options") or {}).get("hostname"),
            "mode": sb["mode"],
            "endpoints": self._endpoint_views(name),
            "links": [
                {"peer": link["b"] if link["a"] == name else link["a"],
                 "ifname": link["ifname_a"] if link["a"] == name else link["ifname_b"],
                 "ip": link["ip_a"] if link["a"] == name else link["ip_b"],
                 "ip6": link["ip6_a"] if link["a"] == name else link["ip6_b"]}
                for link in self.store.links(name)
            ],
            "routes": [{"dest": r["dest"], "via": r["via"], "dev": r["dev"]} for r in self.store.routes(name)],
            "ports": self.firewall.ports(name),
        }
        if live and sb["mode"] == "netns" and self.kernel.netns_exists(sb["netns"]):
            out["kernel"] = {
                "addresses": [{"ifname": a["ifname"], "cidr": a["cidr"]} for a in self.kernel.addrs(sb["netns"])
                              if a["family"] in (socket.AF_INET, socket.AF_INET6) and not a["cidr"].startswith("::1/")],
                "routes": [dict(r, proto=route_proto(r["proto"]))
                           for af in (socket.AF_INET, socket.AF_INET6) for r in self.kernel.routes(sb["netns"], af)
                           if not r["dest"].startswith(("fe80:", "ff00:"))],
            }
        return out

    def _endpoint_views(self, name: str) -> list[dict]:
        return [endpoint_view(ep, ENDPOINT_FIELDS) for ep in self.store.endpoints(sandbox=name)]

    def exec_hostname(self, name: str) -> str | None:
        """The hostname a command in this sandbox gets (its UTS namespace is made with
        it by the first one); None where the namespace is not nsnet's own (host mode,
        adopted from a container runtime): the command keeps the hostname it has."""
        sb = get_sandbox(self.store, name)
        options = sb.get("options") or {}
        if sb["mode"] != "netns" or options.get("external"):
            return None
        return options.get("hostname") or name[:HOST_NAME_MAX]  # a sandbox made before hostnames: its name

    def exec_netns(self, name: str) -> str | None:
        """The namespace a command in this sandbox runs in (None: the caller's own)."""
        sb = get_sandbox(self.store, name)
        if sb["mode"] == "host":
            return self.ctx.settings.host_netns
        return sb["netns"]
