"""Firewall glue: outbound NAT, isolation, internal networks and published
ports as Steps, built from the store by firewall/ruleset.py.

Each engine call adds at most one Nft step: one atomic nftables transaction."""

import ipaddress

from ..errors import Conflict, InvalidInput, NotFound
from ..firewall import nftjson, ruleset
from ..firewall.ports import parse_all
from ..steps import Nft, Plan, SetSysctl
from .context import Service
from .lookup import get_network, get_sandbox

FORWARD = "net.ipv4.ip_forward"
FORWARD_RESTORE = "ip_forward_restore"  # meta key: the host's value before nsnet
PORT_FIELDS = ("sandbox", "network", "host_ip", "host_port", "proto", "sandbox_ip", "sandbox_port")


def _port_removal_step(gone: list[dict], successors: list[dict]) -> Nft:
    do = [*ruleset.port_commands("delete", gone), *ruleset.port_commands("add", successors)]
    undo = [*ruleset.skeleton(), *ruleset.port_commands("delete", successors), *ruleset.port_commands("add", gone)]
    return Nft(nftjson.batch(*do), nftjson.batch(*undo))


def _same_port_elsewhere(row: dict, sandbox: str, network: str, port) -> bool:
    """`row` is this sandbox's same port through another network (a runtime's
    `--network a,b -p 8080:80`): the host port is shared, not taken."""
    return (row["sandbox"] == sandbox and row["network"] != network and row["host_ip"] == port.host_ip
            and row["sandbox_port"] == port.sandbox_port)


class Firewall(Service):
    def bridged_networks(self) -> list[dict]:
        return [n for n in self.store.networks() if n["bridge"]]

    def _rules_step(self, before: list[dict]) -> Nft | None:
        """Rebuild the network-level rules for the store's current networks; the
        undo rebuilds them for `before`. Removing the last network drops the table."""
        after = self.bridged_networks()
        if not after and not before:
            return None
        if not after:
            undo = nftjson.batch(*ruleset.skeleton(), *ruleset.rules(before))
            return Nft(ruleset.teardown(), undo)
        undo = nftjson.batch(*ruleset.skeleton(), *ruleset.rules(before)) if before else ruleset.teardown()
        return Nft(nftjson.batch(*ruleset.skeleton(), *ruleset.rules(after)), undo)

    def network_added(self, ex, net: dict, before: list[dict]) -> list:
        """Steps for a bridged network just added to the store (`before`: the bridged networks until now)."""
        # route_localnet lets the host reach ports published on 127.0.0.1 through
        # this bridge; the guard rule keeps sandboxes away from the host's 127/8.
        steps = [SetSysctl(f"net.ipv4.conf.{net['bridge']}.route_localnet", "1")]
        if not before:  # first bridge network: the host starts forwarding
            current = None if ex.dry_run else self.kernel.sysctl_get(None, FORWARD)
            if current != "1":
                if current is not None:
                    self.store.set_meta(FORWARD_RESTORE, current)
                steps.append(SetSysctl(FORWARD, "1", current))
        rules = self._rules_step(before)
        return steps + ([rules] if rules else [])

    def network_removed(self, before: list[dict]) -> tuple[list, list]:
        """(steps before the bridge goes, steps after it) for a bridged network just removed from the store."""
        rules = self._rules_step(before)
        after = []
        if not self.bridged_networks():
            restore = self.store.meta(FORWARD_RESTORE)
            if restore is not None:
                after.append(SetSysctl(FORWARD, restore, "1"))
                self.store.set_meta(FORWARD_RESTORE, None)
        return ([rules] if rules else []), after

    # -- published ports -----------------------------------------------------
    def plan_publish(self, ex, net: dict, ep: dict, specs, probe: bool = True) -> list:
        """Validate and record published ports for an endpoint: one Nft step.
        `probe=False`: the caller holds the host ports itself (no socket probe)."""
        ports = parse_all(specs)
        if not ports:
            return []
        if not net["bridge"]:
            raise InvalidInput(f"network '{net['name']}' (driver {net['driver']}) cannot publish ports")
        if (net.get("options") or {}).get("internal"):
            raise InvalidInput(f"network '{net['name']}' is internal: nothing outside it can reach its "
                               "sandboxes, so it cannot publish ports")
        host_ips = None
        shared = set()  # ports this sandbox already publishes through another network
        for port in ports:
            if port.host_ip and not ipaddress.IPv4Address(port.host_ip).is_loopback:
                if host_ips is None:
                    host_ips = {a["cidr"].split("/")[0] for a in self.kernel.addrs(None)}
                if port.host_ip not in host_ips:
                    raise InvalidInput(f"publish {port.label()}: {port.host_ip} is not an address of the host")
            for other in self.store.ports_on(port.proto, port.host_port):
                if other["host_ip"] and port.host_ip and other["host_ip"] != port.host_ip:
                    continue
                if _same_port_elsewhere(other, ep["sandbox"], net["name"], port):
                    shared.add(port)
                    continue
                raise Conflict(f"host port {port.proto}/{port.host_port} is already published by sandbox "
                               f"'{other['sandbox']}' (network {other['network']})")
            if (probe and port not in shared and not ex.dry_run
                    and self.kernel.port_in_use(port.host_ip, port.proto, port.host_port)):
                raise Conflict(f"host port {port.proto}/{port.host_port} is in use by a socket in the host "
                               "namespace")
        added = []  # built here, not read back: a sandbox may hold 1,000 ports
        for port in ports:
            self.store.add_port(ep["sandbox"], net["name"], ep["ip"], port.host_ip, port.host_port,
                                port.proto, port.sandbox_port)
            if port not in shared:  # a shared port keeps forwarding to its first network's address
                added.append({"sandbox": ep["sandbox"], "network": net["name"], "sandbox_ip": ep["ip"],
                              "host_ip": port.host_ip, "host_port": port.host_port, "proto": port.proto,
                              "sandbox_port": port.sandbox_port})
        if not added:
            return []
        # Elements only (sent over nfnetlink, kernel/netlink/nftables.py, not re-declaring
        # the table); if the table is gone, the step rebuilds it whole from the store.
        add, delete = ruleset.port_batches(added)
        return [Nft(add, delete, rebuild=self.full_batch)]

    def plan_unpublish(self, sandbox: str, network: str, sandbox_ip: str | None) -> list:
        """Forget the ports of an endpoint (one Nft step); its address tells it
        from another interface of the sandbox on the same network."""
        rows = self.store.ports(sandbox=sandbox, network=network, sandbox_ip=sandbox_ip) if sandbox_ip else []
        if not rows:
            return []
        gone, successors = self._port_handover(rows)
        self.store.remove_ports(sandbox, network, sandbox_ip)
        return [_port_removal_step(gone, successors)] if gone else []

    def _port_handover(self, rows: list[dict]) -> tuple[list, list]:
        """For rows about to be removed: (the rows whose map elements go, the rows
        that take their keys over). A port one sandbox publishes on several
        networks has one element, its first row's; when that row goes, the
        element is re-pointed at the next network's address."""
        removing = {r["id"] for r in rows}
        gone, successors = [], []
        for r in rows:
            same = sorted((o for o in self.store.ports_on(r["proto"], r["host_port"])
                           if o["host_ip"] == r["host_ip"]), key=lambda o: o["id"])
            if same and same[0]["id"] != r["id"]:
                continue  # a standby row: it has no element of its own
            gone.append(r)
            successors += [o for o in same if o["id"] not in removing][:1]
        return gone, successors

    def _endpoint_for_ports(self, sandbox: str, network: str | None) -> tuple[dict, dict]:
        get_sandbox(self.store, sandbox)
        eps = [ep for ep in self.store.endpoints(sandbox=sandbox) if ep["ip"]]
        if network is not None:
            eps = [ep for ep in eps if ep["network"] == network]
            get_network(self.store, network)
        if not eps:
            where = f"network '{network}'" if network else "any bridge network"
            raise Conflict(f"sandbox '{sandbox}' is not on {where}: nothing to publish to")
        return self.store.network(eps[0]["network"]), eps[0]

    def publish(self, ex, sandbox: str, specs, network: str | None = None) -> list[dict]:
        """Publish more ports of an attached sandbox (default: its first network); returns the ports added."""
        net, ep = self._endpoint_for_ports(sandbox, network)
        wanted = parse_all(specs)
        ex.apply(Plan(self.plan_publish(ex, net, ep, specs)))
        return [{"sandbox": sandbox, "network": net["name"], "host_ip": p.host_ip, "host_port": p.host_port,
                 "proto": p.proto, "sandbox_ip": ep["ip"], "sandbox_port": p.sandbox_port} for p in wanted]

    def unpublish(self, ex, sandbox: str, specs) -> list[dict]:
        """Withdraw published ports, named as they were published; returns them."""
        get_sandbox(self.store, sandbox)
        wanted = {(p.host_ip, p.host_port, p.proto) for p in parse_all(specs)}
        rows = [r for ip, port, proto in wanted for r in self.store.ports_on(proto, port)  # indexed: O(k)
                if r["sandbox"] == sandbox and r["host_ip"] == ip]
        missing = wanted - {(r["host_ip"], r["host_port"], r["proto"]) for r in rows}
        if missing:
            ip, port, proto = sorted(missing)[0]
            raise NotFound(f"sandbox '{sandbox}' has no published port {ip + ':' if ip else ''}{port}/{proto}")
        gone, successors = self._port_handover(rows)
        for r in rows:
            self.store.remove_port(r["id"])
        ex.apply(Plan([_port_removal_step(gone, successors)] if gone else []))
        return [{k: r[k] for k in PORT_FIELDS} for r in rows]

    def ports(self, sandbox: str | None = None) -> list[dict]:
        """Published ports (of one sandbox, or all)."""
        if sandbox is not None:
            get_sandbox(self.store, sandbox)
        return [{k: p[k] for k in PORT_FIELDS} for p in self.store.ports(sandbox=sandbox)]

    # -- the whole table ------------------------------------------------------
    def full_batch(self) -> dict:
        return ruleset.full(self.bridged_networks(), self.store.ports())

    def plan(self) -> Nft | None:
        """The Nft step of nsnet's whole table (None: nothing to filter)."""
        nets, ports = self.bridged_networks(), self.store.ports()
        if not nets and not ports:
            return None
        return Nft(ruleset.full(nets, ports))

    def reload(self, ex) -> dict:
        """Rebuild nsnet's table from the store (after `nft flush ruleset`, say)."""
        step = self.plan()
        ex.apply(Plan([step if step is not None else Nft(ruleset.teardown())]))
        return {"reloaded": True, "networks": len(self.bridged_networks()), "ports": len(self.store.ports())}

    def rebuild_steps(self) -> list:
        """What a fresh host needs for the store's bridged networks and ports (`explain`, drift)."""
        bridged = self.bridged_networks()
        if not bridged:
            return []
        steps = [SetSysctl(FORWARD, "1")]
        steps += [SetSysctl(f"net.ipv4.conf.{n['bridge']}.route_localnet", "1") for n in bridged]
        fw = self.plan()
        if fw is not None:
            fw.batch = nftjson.batch(*fw.batch["nftables"][2:])  # no 'delete table' on a fresh host
            steps.append(fw)
        return steps
