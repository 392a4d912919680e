"""Host-wide Steps: nsnet's nftables table (one atomic batch per step) and
sysctls of the host namespace."""

from ..errors import Conflict, KernelError
from .base import NO_TOUCH, Step, on

CONF = "net.ipv4.conf."  # per-interface sysctls: net.ipv4.conf.IF.KEY
OWNER_TAKEN = "Too many open files in system"  # ENFILE as libnftables words it: a full set


def _nft_summary(commands: list, verb: str | None) -> dict:
    """Chains, rule comments and element counts of a batch (verb 'add') or a listing."""
    out = {"chains": set(), "rules": {}, "elems": {}}
    for cmd in commands:
        obj = cmd.get(verb) if verb else cmd
        if not isinstance(obj, dict):
            continue
        if "chain" in obj:
            out["chains"].add(obj["chain"]["name"])
        elif "rule" in obj:
            key = (obj["rule"]["chain"], obj["rule"].get("comment"))
            out["rules"][key] = out["rules"].get(key, 0) + 1
        elif "element" in obj:
            name = obj["element"]["name"]
            out["elems"][name] = out["elems"].get(name, 0) + len(obj["element"]["elem"])
        else:
            for kind in ("set", "map"):
                if kind in obj and verb is None:
                    body = obj[kind]
                    out["elems"][body["name"]] = out["elems"].get(body["name"], 0) + len(body.get("elem", []))
    return out


class Nft(Step):
    """One atomic nftables transaction (JSON batch); undo is another batch."""

    kind = "nft"

    def __init__(self, batch: dict, undo_batch: dict | None = None, rebuild=None):
        self.batch, self.undo_batch = batch, undo_batch
        # For element-only batches: if nsnet's table is missing (someone ran `nft
        # flush ruleset`), rebuild all of it instead (a zero-argument callable).
        self.rebuild = rebuild

    def apply(self, k):
        try:
            k.nft(self.batch)
        except KernelError as exc:
            if OWNER_TAKEN in str(exc):  # the owner set (firewall/ruleset.claim) holds another state dir
                raise Conflict("another nsnet state dir manages nsnet's table in this host namespace (see "
                               "`nft list set inet nsnet owner`); use that state dir, or another host namespace")
            if self.rebuild is None or "No such file or directory" not in str(exc):
                raise
            k.nft(self.rebuild())

    def undo(self, k):
        if self.undo_batch:
            k.nft(self.undo_batch)

    def as_record(self):
        """Only that the firewall table changed: recovery rebuilds it whole from the store."""
        return {"step": "Nft"}

    def explain(self):
        from ..firewall.nftjson import render

        return render(self.batch)

    def check(self, view):
        """Every chain, rule (known by its comment) and set/map element this batch
        adds is in the kernel's table (elements are counted, not compared)."""
        want = _nft_summary(self.batch.get("nftables", []), "add")
        if not want["chains"] and not want["rules"] and not want["elems"]:
            return True
        listing = view.nft_table()
        if listing is None:
            return False
        have = _nft_summary(listing.get("nftables", []), None)
        return (want["chains"] <= have["chains"]
                and all(have["rules"].get(r, 0) >= n for r, n in want["rules"].items())
                and all(have["elems"].get(s, 0) >= n for s, n in want["elems"].items()))


class SetSysctl(Step):
    """A sysctl of the host namespace (forwarding, route_localnet on a bridge)."""

    kind = "sysctl"

    def __init__(self, key: str, value: str, previous: str | None = None):
        self.key, self.value, self.previous = key, value, previous

    def apply(self, k):
        k.sysctl_set(None, self.key, self.value)

    def undo(self, k):
        if self.previous is not None:
            k.sysctl_set(None, self.key, self.previous)

    def explain(self):
        return [f"sysctl -w {self.key}={self.value}"]

    def check(self, view):
        try:
            return view.sysctl_get(None, self.key) == str(self.value)
        except OSError:  # e.g. the bridge of a per-interface key is gone
            return False

    def makes(self):
        return {("sysctl", self.key, str(self.value))}

    def touches(self):
        if self.key.startswith(CONF) and self.key.count(".") >= 4:  # one interface's setting
            return on(None, self.key[len(CONF):].rsplit(".", 1)[0])
        return NO_TOUCH
