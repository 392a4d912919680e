"""`check`: probe every ordered pair of sandboxes (ICMP to each of the target's
addresses of a family the source has too: IPv4 and IPv6; reachable if any
answers, and `partial` names the pairs where a family did not), each
sandbox's way to the outside namespace when there is one, and every
expectation of the file (TCP ones get a short-lived listener in the target;
a `reach` needs every family to answer, an `isolate` none). Only addresses
of sandboxes, of the outside namespace and the host's own address facing it
are probed."""

import ipaddress
from dataclasses import dataclass, field

from .. import family
from ..errors import InvalidInput, NotFound, NsnetError
from . import probe as probes_mod
from .expect import HOST, OUTSIDE
from .expect import names as sandboxes_of
from .model import Expectation, Outside, Topology
from .probe import Probe


class ExpectationsFailed(NsnetError):
    exit_code = 1


@dataclass
class Target:
    name: str
    netns: str
    addrs: list[str]

    @property
    def versions(self) -> set[int]:
        return {ipaddress.ip_address(a).version for a in self.addrs}


@dataclass
class Report:
    sandboxes: list[str]
    matrix: dict[str, dict[str, bool]]
    outside: dict | None = None
    expectations: list[dict] = field(default_factory=list)
    probes: int = 0
    seconds: float = 0.0
    partial: dict[str, dict[str, list[int]]] = field(default_factory=dict)  # src -> dst -> families that answered

    @property
    def failed(self) -> list[dict]:
        return [e for e in self.expectations if e["ok"] is False]

    def to_dict(self) -> dict:
        return {"sandboxes": self.sandboxes, "matrix": self.matrix, "partial": self.partial, "outside": self.outside,
                "expectations": self.expectations, "probes": self.probes,
                "seconds": round(self.seconds, 3), "ok": not self.failed}


def targets(engine, names: list[str] | None) -> dict[str, Target]:
    """Sandboxes with their namespace and addresses (endpoints, then link ends)."""
    rows = {s["name"]: s for s in engine.sandbox_rows()}
    wanted = names if names is not None else list(rows)
    addrs: dict[str, list[str]] = {n: [] for n in wanted}
    for ep in engine.endpoint_rows():
        if ep["sandbox"] in addrs:
            addrs[ep["sandbox"]] += family.addresses(ep)
    for link in engine.link_ls():
        for side in ("a", "b"):
            if link[side] in addrs:
                addrs[link[side]] += [cidr.split("/")[0] for cidr in family.link_cidrs(link, link[side])]
    out = {}
    for name in wanted:
        row = rows.get(name)
        if row is None:
            raise NotFound(f"sandbox '{name}' does not exist (run `nsnet up` first)")
        if row["mode"] == "netns":
            out[name] = Target(name, row["netns"], addrs[name])
    return out


def find_outside(engine, spec: Outside) -> dict:
    """The outside namespace's addresses and the host's addresses on the same
    subnets: `ip`/`host_ip` (IPv4) and `ip6`/`host_ip6` (IPv6, if it has one).
    An address the file gives stands for its family."""
    if not engine.netns_exists(spec.netns):
        raise NotFound(f"outside namespace '{spec.netns}' does not exist")
    theirs = [c for c in engine.interface_addresses(spec.netns) if not c.startswith(("127.", "::1/"))]
    host = engine.interface_addresses(None)
    world = {"netns": spec.netns}
    given = {spec.ip, spec.host_ip} - {None}
    for version, key in ((4, "ip"), (6, "ip6")):
        ip = spec.ip if spec.ip and family.version_of(spec.ip) == version else None
        if ip is None:
            ip = next((c.split("/")[0] for c in theirs if family.version_of(c) == version), None)
        host_ip = spec.host_ip if spec.host_ip and family.version_of(spec.host_ip) == version else None
        if ip and host_ip is None:
            addr = ipaddress.ip_address(ip)
            host_ip = next((c.split("/")[0] for c in host if c.split("/")[0] not in given | {ip}
                            and ipaddress.ip_interface(c).version == version
                            and addr in ipaddress.ip_interface(c).network), None)
        world[key], world[f"host_{key}"] = ip, host_ip
    if world["ip"] is None and world["ip6"] is None:
        raise InvalidInput(f"outside namespace '{spec.netns}' has no address")
    return world


def _world_addrs(world: dict, key: str = "ip") -> list[str]:
    """The outside's addresses (`ip`) or the host's facing it (`host_ip`), IPv4 first."""
    return [a for a in (world[key], world[f"{key}6"]) if a]


def check(engine, topo: Topology | None, outside: Outside | None, timeout: float = 1.0) -> Report:
    outside = outside or (topo.outside if topo else None)
    found = targets(engine, list(topo.sandboxes) if topo else None)
    names = list(found)
    world = find_outside(engine, outside) if outside else None
    plan = _pair_probes(found, world)
    extra = _expectation_probes(engine, topo.expect if topo else [], found, world)
    all_probes = plan + [p for ps in extra.values() for p in ps or ()]  # None: skipped
    seconds = probes_mod.run(all_probes, engine.kernel, timeout)
    matrix = {a: {b: False for b in names if b != a} for a in names}
    answered: dict[tuple[str, str], dict[int, bool]] = {}
    for p in plan:
        matrix[p.src][p.dst] = matrix[p.src].get(p.dst, False) or p.reached
        per = answered.setdefault((p.src, p.dst), {})
        version = family.version_of(p.addr)
        per[version] = per.get(version, False) or p.reached
    report = Report(names, matrix, world, probes=len(all_probes), seconds=seconds)
    for (src, dst), per in answered.items():
        if any(per.values()) and not all(per.values()):
            report.partial.setdefault(src, {})[dst] = sorted(v for v, ok in per.items() if ok)
    for exp in topo.expect if topo else []:
        report.expectations.append(_judge(exp, extra.get(id(exp)), matrix, world, report.partial))
    return report


def _pair_probes(found: dict[str, Target], world: dict | None) -> list[Probe]:
    out = []
    for a, src in found.items():
        mine = src.versions
        for b, dst in found.items():
            if a != b:
                out += [Probe(a, src.netns, b, addr, dst_ns=dst.netns) for addr in dst.addrs
                        if family.version_of(addr) in mine]
        if world:
            out += [Probe(a, src.netns, OUTSIDE, addr, dst_ns=world["netns"]) for addr in _world_addrs(world)
                    if family.version_of(addr) in mine]
    return out


def _expectation_probes(engine, expect: list[Expectation], found, world) -> dict[int, list[Probe]]:
    """Probes the matrix does not already hold: TCP ones and those from outside."""
    out = {}
    for exp in expect:
        if exp.proto == "icmp" and exp.src != OUTSIDE:
            continue  # read from the matrix
        if OUTSIDE in (exp.src, exp.dst) and world is None:
            out[id(exp)] = None
            continue
        if any(n not in found for n in sandboxes_of(exp)):
            out[id(exp)] = None  # a sandbox on a host/none network: nothing of its own to probe
            continue
        src_ns = world["netns"] if exp.src == OUTSIDE else found[exp.src].netns
        if exp.dst == HOST:
            listen_ns, listen_port = _publisher(engine, found, exp.port)
            addrs = _world_addrs(world, "host_ip")
            out[id(exp)] = [Probe(exp.src, src_ns, exp.dst, a, "tcp", exp.port, listen_ns, listen_port,
                                  dst_ns=listen_ns) for a in addrs]
            continue
        if exp.dst == OUTSIDE:
            dst_ns, addrs = world["netns"], _world_addrs(world)
        else:
            dst_ns, addrs = found[exp.dst].netns, found[exp.dst].addrs
        if exp.src != OUTSIDE:  # only the families the source has an address of
            addrs = [a for a in addrs if family.version_of(a) in found[exp.src].versions]
        out[id(exp)] = [Probe(exp.src, src_ns, exp.dst, a, exp.proto, exp.port,
                              listen_ns=dst_ns if exp.proto == "tcp" else None, dst_ns=dst_ns) for a in addrs]
    return out


def _publisher(engine, found, host_port: int) -> tuple[str | None, int | None]:
    """The namespace and port that host port `host_port` is forwarded to."""
    for port in engine.port_ls():
        if port["proto"] == "tcp" and port["host_port"] == host_port and port["sandbox"] in found:
            return found[port["sandbox"]].netns, port["sandbox_port"]
    return None, None


def _judge(exp: Expectation, probes, matrix, world, partial) -> dict:
    want = "reach" if exp.reach else "isolate"
    out = {"text": exp.text, "path": exp.path, "src": exp.src, "dst": exp.dst, "port": exp.port,
           "want": want}
    if probes is None and (OUTSIDE in (exp.src, exp.dst)) and world is None:
        return dict(out, got=None, ok=None, detail="skipped: no outside namespace (--outside NETNS)")
    if probes is None and any(n not in matrix for n in sandboxes_of(exp)):
        return dict(out, got=None, ok=None, detail="skipped: a sandbox without a namespace of its own")
    if probes is None:
        got = matrix.get(exp.src, {}).get(exp.dst, False)
        detail = "echo answered" if got else "no echo reply"
        answered = partial.get(exp.src, {}).get(exp.dst)
        if answered is not None:  # one family answered, the other did not
            detail = f"echo answered over IPv{answered[0]} only"
            if exp.reach:
                got = False
    else:
        # A `reach` needs an answer over every family probed (from any of the target's
        # addresses of it); to a host port one answer (it may be published on one family).
        answered: dict[int, bool] = {}
        for p in probes:
            version = family.version_of(p.addr)
            answered[version] = answered.get(version, False) or p.reached
        got = all(answered.values()) and bool(answered) if exp.reach and exp.dst != HOST else any(answered.values())
        detail = ", ".join(f"{p.addr}:{p.port}={p.result}" if p.port else f"{p.addr}={p.result}"
                           for p in probes) or "nothing to probe"
    return dict(out, got=got, ok=got == exp.reach, detail=detail)
