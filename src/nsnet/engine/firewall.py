"""Firewall glue: outbound NAT, isolation, internal networks and published
ports as Steps, built from the store by firewall/ruleset.py.

Each engine call adds at most one Nft step: one atomic nftables transaction."""

import ipaddress
import os
import socket

from .. import family
from ..errors import Conflict, InvalidInput, KernelError, NotFound
from ..firewall import compare, nftjson, ruleset
from ..firewall.ports import overlap, parse_all
from ..steps import Nft, Plan, SetHairpin, SetLinkUp, SetSysctl
from .context import Service
from .lookup import get_network, get_sandbox

FORWARD = "net.ipv4.ip_forward"
FORWARD_RESTORE = "ip_forward_restore"  # meta key: the host's value before nsnet
FORWARD6 = "net.ipv6.conf.all.forwarding"
RTPROT_RA = 9  # a route learned from a router advertisement
FORWARD6_RESTORE = "ipv6_forward_restore"
PORT_FIELDS = ("sandbox", "network", "host_ip", "host_port", "proto", "sandbox_ip", "sandbox_port")
OWNER_COMMENT_MAX = 128  # nft's limit for a comment


def _ipv6_networks(nets: list[dict]) -> list[dict]:
    return [n for n in nets if n.get("subnet6")]


def _port_removal_steps(gone: list[dict], successors: list[dict], direct_gone: set, rebuild,
                        owner: tuple[int, str]) -> list:
    """The Nft step that removes ports' elements (and hands shared keys over), if
    any; if nsnet's table is gone (deleted behind its back), the whole table is
    made again from the store instead."""
    if not gone and not direct_gone:
        return []
    (add_gone, delete_gone), (add_next, delete_next) = ruleset.port_batches(gone), ruleset.port_batches(successors)
    do = [*delete_gone["nftables"], *add_next["nftables"], *ruleset.direct_commands("delete", direct_gone)]
    undo = [*ruleset.skeleton(owner), *delete_next["nftables"], *add_gone["nftables"],
            *ruleset.direct_commands("add", direct_gone)]
    return [Nft(nftjson.batch(*do), nftjson.batch(*undo), rebuild=rebuild)]


def table_owner(state_dir: str) -> tuple[int, str]:
    """(key, comment) naming this state dir in the owner set of nsnet's table:
    a host namespace serves one state dir (ruleset.claim)."""
    import zlib  # not at the top: only table-level changes need it

    path = os.path.realpath(state_dir)
    comment = f"nsnet state dir {path}"
    if len(comment) > OWNER_COMMENT_MAX:
        comment = f"nsnet state dir ...{path[-(OWNER_COMMENT_MAX - 19):]}"
    return zlib.crc32(path.encode()), comment


def _same_port_elsewhere(row: dict, sandbox: str, network: str, port, version: int) -> bool:
    """`row` is this sandbox's same port through another network (a runtime's
    `--network a,b -p 8080:80`): the host port is shared, not taken."""
    return (row["sandbox"] == sandbox and row["network"] != network and row["host_ip"] == port.host_ip
            and row["sandbox_port"] == port.sandbox_port and family.version_of(row["sandbox_ip"]) == version)


def _port_families(port, ep: dict, net: dict) -> list[int]:
    """The families port `port` is published on for endpoint `ep`: its host
    address's, or every family the endpoint has an address of."""
    have = [v for v in family.VERSIONS if ep.get(family.IP[v])]
    if port.family is None:
        return have
    if port.family not in have:
        raise InvalidInput(f"publish {port.label()}: sandbox '{ep['sandbox']}' has no IPv{port.family} address "
                           f"on network '{net['name']}'")
    return [port.family]


class Firewall(Service):
    def __init__(self, ctx):
        super().__init__(ctx)
        self._owner = None

    @property
    def owner(self) -> tuple[int, str]:
        if self._owner is None:
            self._owner = table_owner(self.ctx.settings.state_dir)
        return self._owner

    def require_host(self, ex) -> None:
        """Refuse, before anything changes, when nsnet's table in the host
        namespace belongs to another state dir (its networks, NAT and ports
        would be ours to break). The table's own claim (ruleset.claim) refuses
        a race that slips past this look."""
        if ex.dry_run:
            return
        try:
            listing = self.kernel.nft(f"list set {nftjson.FAMILY} {nftjson.TABLE} {ruleset.OWNER}")
        except KernelError:
            return  # no table, or one from before owners: the first table-level batch claims it
        owner = ruleset.owner_of(listing)
        if owner is not None and owner[0] != self.owner[0]:
            where = f"host namespace '{self.ctx.settings.host_netns}'" if self.ctx.settings.host_netns \
                else "the host namespace"
            other = owner[1].removeprefix("nsnet state dir ") or "another one"
            raise Conflict(f"{where} is managed by another nsnet state dir ({other}); use --state-dir {other}, "
                           "or another host namespace (--host-netns)")

    def bridged_networks(self) -> list[dict]:
        return [n for n in self.store.networks() if n["bridge"]]

    def _rules_step(self, before: list[dict]) -> Nft | None:
        """Rebuild the network-level rules for the store's current networks; the
        undo rebuilds them for `before`. Removing the last network drops the table."""
        after = self.bridged_networks()
        if not after and not before:
            return None

        def table(nets: list[dict]) -> dict:
            return nftjson.batch(*ruleset.skeleton(self.owner), *ruleset.rules(nets)) if nets \
                else ruleset.teardown(self.owner)

        return Nft(table(after), table(before))

    def network_added(self, ex, net: dict, before: list[dict]) -> list:
        """Steps for a bridged network just added to the store (`before`: the bridged networks until now)."""
        # route_localnet lets the host reach ports published on 127.0.0.1 through
        # this bridge; the guard rule keeps sandboxes away from the host's 127/8.
        steps = [SetSysctl(f"net.ipv4.conf.{net['bridge']}.route_localnet", "1")]
        if not before and self.ctx.settings.host_netns:
            steps += self._host_lo(ex)
        if not before:  # first bridge network: the host starts forwarding
            steps += self._forwarding_on(ex, FORWARD, FORWARD_RESTORE)
        if net.get("subnet6") and not _ipv6_networks(before):  # ... and IPv6 with the first IPv6 one
            forwarding = self._forwarding_on(ex, FORWARD6, FORWARD6_RESTORE)
            if forwarding and not ex.dry_run:
                ex.warnings += self._router_advertisements()
            steps += forwarding
        rules = self._rules_step(before)
        return steps + ([rules] if rules else [])

    def _router_advertisements(self) -> list[str]:
        """A host whose IPv6 default route comes from router advertisements stops
        taking them once it forwards (unless accept_ra=2): say so, as Docker does;
        that setting is the host's, not nsnet's to change."""
        return [f"the host's IPv6 default route via {r['via']} on {r['dev']} comes from router advertisements, "
                f"which Linux ignores while it forwards IPv6: set net.ipv6.conf.{r['dev']}.accept_ra=2 to keep it"
                for r in self.kernel.routes(None, socket.AF_INET6)
                if r["dest"] == "::/0" and r["proto"] == RTPROT_RA and r["dev"]]

    def _forwarding_on(self, ex, key: str, restore_key: str) -> list:
        current = None if ex.dry_run else self.kernel.sysctl_get(None, key)
        if current == "1":
            return []
        if current is not None:
            self.store.set_meta(restore_key, current)
        return [SetSysctl(key, "1", current)]

    def _forwarding_off(self, key: str, restore_key: str) -> list:
        restore = self.store.meta(restore_key)
        if restore is None:
            return []
        self.store.set_meta(restore_key, None)
        return [SetSysctl(key, restore, "1")]
    def _host_lo(self, ex) -> list:
        """A host namespace made with `ip netns add` has `lo` down: ports published
        on 127.0.0.1 need it up (the real host's always is; it is left alone)."""
        if not ex.dry_run:
            lo = next((link for link in self.kernel.links(None) if link["ifname"] == "lo"), None)
            if lo is None or lo["up"]:
                return []
        return [SetLinkUp(None, "lo")]

    def network_removed(self, before: list[dict]) -> tuple[list, list]:
        """(firewall rules, forwarding sysctls) to change for a bridged network just removed from the store."""
        rules = self._rules_step(before)
        after = []
        remaining = self.bridged_networks()
        if not remaining:
            after += self._forwarding_off(FORWARD, FORWARD_RESTORE)
        if not _ipv6_networks(remaining):
            after += self._forwarding_off(FORWARD6, FORWARD6_RESTORE)
        return ([rules] if rules else []), after

    # -- published ports -----------------------------------------------------
    def plan_publish(self, ex, net: dict, ep: dict, specs, probe: bool = True, new_endpoint: bool = False) -> list:
        """Validate and record published ports for an endpoint: one Nft step (and
        hairpin mode on its bridge port, with its first port). `probe=False`: the
        caller holds the host ports itself (no socket probe); `new_endpoint`: `ep`
        is made in this change (it has no ports yet)."""
        ports = parse_all(specs)
        if not ports:
            return []
        if not net["bridge"]:
            raise InvalidInput(f"network '{net['name']}' (driver {net['driver']}) cannot publish ports")
        if (net.get("options") or {}).get("internal"):
            raise InvalidInput(f"network '{net['name']}' is internal: nothing outside it can reach its "
                               "sandboxes, so it cannot publish ports")
        host_ips = None
        shared = set()  # (port, family) this sandbox already publishes through another network
        wanted = [(port, version) for port in ports for version in _port_families(port, ep, net)]
        for port, version in wanted:
            if not port.wildcard and not ipaddress.ip_address(port.host_ip).is_loopback:
                if host_ips is None:
                    host_ips = {a["cidr"].split("/")[0] for a in self.kernel.addrs(None)}
                if port.host_ip not in host_ips:
                    raise InvalidInput(f"publish {port.label()}: {port.host_ip} is not an address of the host")
            for other in self.store.ports_on(port.proto, port.host_port):
                if family.version_of(other["sandbox_ip"]) != version or not overlap(other["host_ip"], port.host_ip):
                    continue
                if _same_port_elsewhere(other, ep["sandbox"], net["name"], port, version):
                    shared.add((port, version))
                    continue
                raise Conflict(f"host port {port.proto}/{port.host_port} is already published by sandbox "
                               f"'{other['sandbox']}' (network {other['network']})")
            if (probe and (port, version) not in shared and not ex.dry_run
                    and self.kernel.port_in_use(port.host_ip, port.proto, port.host_port, version)):
                raise Conflict(f"host port {port.proto}/{port.host_port} is in use by a socket in the host "
                               "namespace")
        existing = [] if new_endpoint else self.store.ports(sandbox=ep["sandbox"], network=net["name"])
        direct = {(ep[family.IP[version]], port.proto, port.sandbox_port) for port, version in wanted} \
            - ruleset.direct_keys(existing)
        added = []  # built here, not read back: a sandbox may hold 1,000 ports
        for port, version in wanted:
            sandbox_ip = ep[family.IP[version]]
            self.store.add_port(ep["sandbox"], net["name"], sandbox_ip, port.host_ip, port.host_port,
                                port.proto, port.sandbox_port)
            if (port, version) not in shared:  # a shared port keeps forwarding to its first network's address
                added.append({"sandbox": ep["sandbox"], "network": net["name"], "sandbox_ip": sandbox_ip,
                              "host_ip": port.host_ip, "host_port": port.host_port, "proto": port.proto,
                              "sandbox_port": port.sandbox_port})
        steps = [] if existing else [SetHairpin(None, ep["host_ifname"])]
        if not added and not direct:
            return steps
        # Elements only (sent over nfnetlink, kernel/netlink/nftables.py, not re-declaring
        # the table); if the table is gone, the step rebuilds it whole from the store.
        add, delete = ruleset.port_batches(added)
        add["nftables"] += ruleset.direct_commands("add", direct)
        delete["nftables"] += ruleset.direct_commands("delete", direct)
        return steps + [Nft(add, delete, rebuild=self.full_batch)]

    def plan_unpublish(self, sandbox: str, network: str, addresses: list[str]) -> list:
        """Forget the ports of an endpoint (one Nft step); its addresses (one per
        family) tell it from another interface of the sandbox on the same network."""
        rows = [row for address in addresses
                for row in self.store.ports(sandbox=sandbox, network=network, sandbox_ip=address)]
        if not rows:
            return []
        gone, successors = self._port_handover(rows)
        for address in addresses:
            self.store.remove_ports(sandbox, network, address)
        return _port_removal_steps(gone, successors, ruleset.direct_keys(rows), self.full_batch, self.owner)

    def _port_handover(self, rows: list[dict]) -> tuple[list, list]:
        """For rows about to be removed: (the rows whose map elements go, the rows
        that take their keys over). A port one sandbox publishes on several
        networks has one element, its first row's; when that row goes, the
        element is re-pointed at the next network's address."""
        removing = {r["id"] for r in rows}
        gone, successors = [], []
        for r in rows:
            version = family.version_of(r["sandbox_ip"])
            same = sorted((o for o in self.store.ports_on(r["proto"], r["host_port"])
                           if o["host_ip"] == r["host_ip"] and family.version_of(o["sandbox_ip"]) == version),
                          key=lambda o: o["id"])
            if same and same[0]["id"] != r["id"]:
                continue  # a standby row: it has no element of its own
            gone.append(r)
            successors += [o for o in same if o["id"] not in removing][:1]
        return gone, successors

    def _endpoint_for_ports(self, sandbox: str, network: str | None) -> tuple[dict, dict]:
        get_sandbox(self.store, sandbox)
        eps = [ep for ep in self.store.endpoints(sandbox=sandbox) if family.addresses(ep)]
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
                 "proto": p.proto, "sandbox_ip": ep[family.IP[v]], "sandbox_port": p.sandbox_port}
                for p in wanted for v in _port_families(p, ep, net)]

    def unpublish(self, ex, sandbox: str, specs) -> list[dict]:
        """Withdraw published ports, named as they were published; returns them."""
        get_sandbox(self.store, sandbox)
        wanted = {(p.host_ip, p.host_port, p.proto) for p in parse_all(specs)}
        rows = [r for ip, port, proto in wanted for r in self.store.ports_on(proto, port)  # indexed: O(k)
                if r["sandbox"] == sandbox and r["host_ip"] == ip]  # a port on both families: both rows
        missing = wanted - {(r["host_ip"], r["host_port"], r["proto"]) for r in rows}
        if missing:
            ip, port, proto = sorted(missing)[0]
            host = f"[{ip}]:" if ":" in ip else f"{ip}:" if ip else ""
            raise NotFound(f"sandbox '{sandbox}' has no published port {host}{port}/{proto}")
        gone, successors = self._port_handover(rows)
        for r in rows:
            self.store.remove_port(r["id"])
        direct_gone = ruleset.direct_keys(rows) - ruleset.direct_keys(self.store.ports(sandbox=sandbox))
        ex.apply(Plan(_port_removal_steps(gone, successors, direct_gone, self.full_batch, self.owner)))
        return [{k: r[k] for k in PORT_FIELDS} for r in rows]

    def ports(self, sandbox: str | None = None) -> list[dict]:
        """Published ports (of one sandbox, or all)."""
        if sandbox is not None:
            get_sandbox(self.store, sandbox)
        return [{k: p[k] for k in PORT_FIELDS} for p in self.store.ports(sandbox=sandbox)]

    # -- the whole table ------------------------------------------------------
    def full_batch(self) -> dict:
        return ruleset.full(self.bridged_networks(), self.store.ports(), self.owner)

    def plan(self, replace: bool = True) -> Nft | None:
        """The Nft step of nsnet's whole table (None: nothing to filter);
        `replace=False`: for a host that has no table yet."""
        nets, ports = self.bridged_networks(), self.store.ports()
        if not nets and not ports:
            return None
        return Nft(ruleset.full(nets, ports, self.owner, replace))

    def commands(self) -> list[str]:
        """plan() as nft commands (aimed at the namespace that plays the host, if one does)."""
        step = self.plan()
        return Plan([step]).explain(self.ctx.settings.host_netns) if step else []

    def differences(self, listing: dict | None) -> list[str]:
        """What nsnet's table in the kernel (`listing`, None: no table) lacks or
        has beyond what the store says (`doctor`)."""
        step = self.plan()
        return compare.differences(step.batch if step else None, listing)

    def reload_step(self) -> Nft:
        """nsnet's whole table made again from the store (or removed: nothing to filter)."""
        step = self.plan()
        return step if step is not None else Nft(ruleset.teardown(self.owner))

    def reload(self, ex) -> dict:
        """Rebuild nsnet's table from the store (after `nft flush ruleset`, say)."""
        self.require_host(ex)
        ex.apply(Plan([self.reload_step()]))
        return {"reloaded": True, "networks": len(self.bridged_networks()), "ports": len(self.store.ports())}

    def rebuild_steps(self) -> list:
        """What a fresh host needs for the store's bridged networks and ports (`explain`, drift)."""
        bridged = self.bridged_networks()
        if not bridged:
            return []
        steps = [SetSysctl(FORWARD, "1")] + ([SetSysctl(FORWARD6, "1")] if _ipv6_networks(bridged) else [])
        if self.ctx.settings.host_netns:
            steps.append(SetLinkUp(None, "lo"))
        steps += [SetSysctl(f"net.ipv4.conf.{n['bridge']}.route_localnet", "1") for n in bridged]
        publishing = sorted({(p["network"], p["sandbox"]) for p in self.store.ports()})
        for network, sandbox in publishing:
            ep = self.store.endpoint(network, sandbox)
            if ep and ep["host_ifname"]:
                steps.append(SetHairpin(None, ep["host_ifname"]))
        fw = self.plan(replace=False)  # no 'delete table' on a fresh host
        if fw is not None:
            steps.append(fw)
        return steps
