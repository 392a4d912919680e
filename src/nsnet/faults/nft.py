"""The faults table of one sandbox namespace as nftables JSON:

    table inet nsnet_faults                              (each set twice: nets for IPv4, nets6 for IPv6 ...)
      set nets     { type ipv4_addr; flags interval; }   nsnet's subnets
      set allow    { type ipv4_addr; }                   own group, gateways
      set cut_out  { type ipv4_addr; }                   own addresses while cut (outgoing)
      set cut_in   { type ipv4_addr; }                   own addresses while cut (incoming)
      chain out    hook output priority raw:   ip saddr @cut_out ip daddr @nets ip daddr != @allow drop
                                               ip6 saddr @cut_out6 ip6 daddr @nets6 ip6 daddr != @allow6 drop
      chain in     hook input priority raw:    ip daddr @cut_in ip saddr @nets ip saddr != @allow drop (and ip6)
      chain impair hook postrouting:           oifname IF [ip daddr {PEERS}] numgen random mod 10000 < N drop
                                               oifname IF ip daddr {PEERS} meta priority set 1:1

The partition's chains run at priority raw, before conntrack: a dropped packet
makes no connection-tracking entry, and an established connection's packets
are dropped like any others. Pure functions; the steps run them."""

from ..firewall.nftjson import match, meta, payload, prefix, render
from .tables import SandboxFaults

FAMILY, TABLE = "inet", "nsnet_faults"
LOSS_SCALE = 10_000  # loss in hundredths of a percent
CLASS = "1:1"  # the htb class of shaped traffic (kernel/netlink/tc.py)
SETS = ("allow", "cut_out", "cut_in")  # plain sets: changed element by element
FAMILIES = (("ip", "ipv4_addr", ""), ("ip6", "ipv6_addr", "6"))  # (payload, set type, set name suffix)


def _split(addresses) -> dict[str, list]:
    """Addresses (or subnets) by set name suffix: '' for IPv4, '6' for IPv6."""
    out = {"": [], "6": []}
    for a in addresses:
        out["6" if ":" in a else ""].append(a)
    return out


def _set(name, flags=(), kind="ipv4_addr"):
    body = {"family": FAMILY, "table": TABLE, "name": name, "type": kind}
    if flags:
        body["flags"] = list(flags)
    return {"set": body}


def _chain(name, hook, prio):
    return {"chain": {"family": FAMILY, "table": TABLE, "name": name, "type": "filter", "hook": hook, "prio": prio,
                      "policy": "accept"}}


def _rule(chain, exprs, comment):
    return {"rule": {"family": FAMILY, "table": TABLE, "chain": chain, "expr": exprs, "comment": comment}}


def _element(name, elems):
    return {"element": {"family": FAMILY, "table": TABLE, "name": name, "elem": list(elems)}}


def _net(cidr: str):
    return prefix(cidr) if "/" in cidr else cidr


def _cut(chain, own, peer, proto, sfx):
    return _rule(chain, [match(payload(proto, own), f"@cut_{chain}{sfx}"), match(payload(proto, peer), f"@nets{sfx}"),
                         match(payload(proto, peer), f"@allow{sfx}", "!="), {"drop": None}], "nsnet: partition")


def _impair_rules(rules) -> list:
    out = []
    for ifname, loss, peers, classify in rules:
        dev = match(meta("oifname"), ifname)
        if peers is None:
            variants = [[dev]]
        else:
            by_family = _split(peers)
            variants = [[dev, match(payload(proto, "daddr"), {"set": by_family[sfx]})]
                        for proto, _, sfx in FAMILIES if by_family[sfx]]
        for base in variants:
            if loss:
                threshold = round(loss * LOSS_SCALE / 100)
                drop = [] if threshold >= LOSS_SCALE else [
                    match({"numgen": {"mode": "random", "mod": LOSS_SCALE, "offset": 0}}, threshold, "<")]
                out.append(_rule("impair", base + drop + [{"drop": None}], f"nsnet: loss {loss:g}%"))
            if classify:
                out.append(_rule("impair", [*base, {"mangle": {"key": {"meta": {"key": "priority"}},
                                                               "value": CLASS}}], "nsnet: rate limited"))
    return out


def replace_batch(sf: SandboxFaults, clean: bool = False) -> dict:
    """The whole table's contents, in one transaction: the table flushed (its
    rules and elements go, its chains and sets stay) and filled again. A table
    deleted and made anew (clean=True: for one whose sets are not nsnet's)
    costs the kernel an RCU grace period for its hooks: ~3-8 ms here, against
    ~0.6 ms for the flush."""
    table = {"table": {"family": FAMILY, "name": TABLE}}
    cmds = [{"add": table}, {"delete": table}, {"add": table}] if clean else [{"add": table}, {"flush": table}]
    for _, kind, sfx in FAMILIES:
        cmds += [{"add": _set("nets" + sfx, ["interval"], kind)}] + [{"add": _set(n + sfx, (), kind)} for n in SETS]
    cmds += [{"add": _chain("out", "output", -300)}, {"add": _chain("in", "input", -300)},
             {"add": _chain("impair", "postrouting", 0)}]
    for proto, _, sfx in FAMILIES:
        cmds += [{"add": _cut("out", "saddr", "daddr", proto, sfx)}, {"add": _cut("in", "daddr", "saddr", proto, sfx)}]
    cmds += [{"add": rule} for rule in _impair_rules(sf.rules)]
    for name in ("nets", *SETS):
        for sfx, elems in _split(getattr(sf, name)).items():
            if elems:
                cmds.append({"add": _element(name + sfx, [_net(c) for c in elems])})
    return {"nftables": cmds}


def delta_batch(have: SandboxFaults, want: SandboxFaults) -> dict:
    """From `have` to `want` in one transaction, touching only what differs:
    the impair chain's rules, the subnets, the other sets' elements. (Flushing
    the whole table empties the interval set too, which costs the kernel far
    more: ~0.6-8 ms against ~0.2 ms for a chain's rules, on a busy machine.)"""
    cmds = []
    if have.rules != want.rules:
        cmds.append({"flush": {"chain": {"family": FAMILY, "table": TABLE, "name": "impair"}}})
        cmds += [{"add": rule} for rule in _impair_rules(want.rules)]
    if have.nets != want.nets:
        for (_, kind, sfx), (_, elems) in zip(FAMILIES, _split(want.nets).items(), strict=True):
            cmds.append({"flush": _set("nets" + sfx, ["interval"], kind)})
            if elems:
                cmds.append({"add": _element("nets" + sfx, [_net(c) for c in elems])})
    cmds += (element_batch(have, want) or {"nftables": []})["nftables"]
    return {"nftables": cmds}


def delete_batch() -> dict:
    return {"nftables": [{"delete": {"table": {"family": FAMILY, "name": TABLE}}}]}


def element_batch(have: SandboxFaults, want: SandboxFaults) -> dict | None:
    """The element changes from `have` to `want` (same structure); None: none."""
    cmds = []
    for name in SETS:
        old, new = set(getattr(have, name)), set(getattr(want, name))
        for verb, changed in (("delete", old - new), ("add", new - old)):
            for sfx, elems in _split(sorted(changed)).items():
                if elems:
                    cmds.append({verb: _element(name + sfx, elems)})
    return {"nftables": cmds} if cmds else None


def explain(netns: str, batch: dict) -> list[str]:
    return [f"ip netns exec {netns} {line}" for line in render(batch)]


def listed(listing: dict | None) -> dict | None:
    """`nft -j list table inet nsnet_faults` -> {set: elements as text, chain: rule count}."""
    if not listing:
        return None
    out: dict = {}
    for obj in listing.get("nftables", []):
        if "set" in obj:
            out[obj["set"]["name"]] = {_text(e) for e in obj["set"].get("elem", [])}
        elif "chain" in obj:
            out.setdefault(("chain", obj["chain"]["name"]), 0)
        elif "rule" in obj:
            key = ("chain", obj["rule"]["chain"])
            out[key] = out.get(key, 0) + 1
    return out


def _text(elem) -> str:
    if isinstance(elem, dict) and "prefix" in elem:
        return f"{elem['prefix']['addr']}/{elem['prefix']['len']}"
    return str(elem)


def matches(sf: SandboxFaults, listing: dict | None) -> bool:
    """Does the kernel's table (listed()) hold what `sf` says?"""
    if listing is None:
        return False
    want_sets = {name + sfx: set(elems) for name in ("nets", *SETS) for sfx, elems in _split(getattr(sf, name)).items()}
    return (all(listing.get(name) == elems for name, elems in want_sets.items())
            and listing.get(("chain", "out")) == 2 and listing.get(("chain", "in")) == 2
            and listing.get(("chain", "impair")) == len(_impair_rules(sf.rules)))
