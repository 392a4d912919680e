"""nsnet's table as the store says it should be, against the kernel's listing:
every difference in rules (known by chain and comment), set and map elements,
both ways. `Nft.check` asks only whether what a step adds is there; `doctor`
also wants what is there and should not be (a port rule nobody knows)."""

import json


def _key(value) -> str:
    return json.dumps(value, sort_keys=True)


def _element(item) -> tuple[str, str | None]:
    """(key, value) of a set or map element as a batch or a listing writes it."""
    value = None
    if isinstance(item, list):  # a map element: [key, value]
        item, value = item
    if isinstance(item, dict) and "elem" in item:
        item = item["elem"]["val"]
    return _key(item), (None if value is None else _key(value))


def summary(commands: list, verb: str | None) -> dict:
    """{"rules": {(chain, comment): count}, "elements": {set: {(key, value)}}} of a
    batch's `verb` commands, or of a listing (verb None)."""
    rules: dict = {}
    elements: dict = {}
    for cmd in commands:
        obj = cmd.get(verb) if verb else cmd
        if not isinstance(obj, dict):
            continue
        if "rule" in obj:
            key = (obj["rule"]["chain"], obj["rule"].get("comment"))
            rules[key] = rules.get(key, 0) + 1
        elif "element" in obj:
            elements.setdefault(obj["element"]["name"], set()).update(map(_element, obj["element"]["elem"]))
        elif verb is None:
            for kind in ("set", "map"):
                if kind in obj:
                    elements.setdefault(obj[kind]["name"], set()).update(map(_element, obj[kind].get("elem", [])))
    return {"rules": rules, "elements": elements}


def differences(want_batch: dict | None, listing: dict | None) -> list[str]:
    """What the kernel's table lacks or has beyond `want_batch` (None: no table wanted)."""
    if want_batch is None:
        return ["nsnet's nftables table exists but no network needs it"] if listing else []
    if listing is None:
        return ["nsnet's nftables table is missing"]
    want = summary(want_batch.get("nftables", []), "add")
    have = summary(listing.get("nftables", []), None)
    out = []
    for rule in sorted(set(want["rules"]) | set(have["rules"]), key=str):
        w, h = want["rules"].get(rule, 0), have["rules"].get(rule, 0)
        if w != h:
            chain, comment = rule
            out.append(f"nft rule '{comment}' in chain {chain}: {h} in the kernel, {w} wanted")
    for name in sorted(set(want["elements"]) | set(have["elements"])):
        w, h = want["elements"].get(name, set()), have["elements"].get(name, set())
        for key, value in sorted(h - w, key=str):
            out.append(f"nft {name} has element {key}{' : ' + value if value else ''} that nsnet does not know")
        for key, value in sorted(w - h, key=str):
            out.append(f"nft {name} lacks element {key}{' : ' + value if value else ''}")
    return out
