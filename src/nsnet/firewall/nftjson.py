"""nftables JSON, built from a few small helpers, and rendered back to `nft`
command lines for --dry-run / explain. The renderer covers exactly the
expressions nsnet uses; a golden unit test keeps both forms in step."""

import json

FAMILY, TABLE = "inet", "nsnet"


# -- expressions -------------------------------------------------------------
def payload(protocol, field):
    return {"payload": {"protocol": protocol, "field": field}}


def meta(key):
    return {"meta": {"key": key}}


def ct(key):
    return {"ct": {"key": key}}


def fib_daddr_type():
    return {"fib": {"result": "type", "flags": ["daddr"]}}


def prefix(cidr: str):
    addr, length = cidr.split("/")
    return {"prefix": {"addr": addr, "len": int(length)}}


def concat(*items):
    return {"concat": list(items)}


def match(left, right, op="=="):
    return {"match": {"op": op, "left": left, "right": right}}


def dnat_maps(key, addr_map, port_map, family="ip"):
    """dnat [ip|ip6] to <addr from addr_map> : <port from port_map>. (One map with
    `addr . port` values would do, but nft 1.0.6 crashes parsing that as JSON.)"""
    return {"dnat": {"family": family, "addr": {"map": {"key": key, "data": f"@{addr_map}"}},
                     "port": {"map": {"key": key, "data": f"@{port_map}"}}}}


MASQUERADE = {"masquerade": None}
ACCEPT = {"accept": None}
DROP = {"drop": None}


# -- commands ----------------------------------------------------------------
def table():
    return {"table": {"family": FAMILY, "name": TABLE}}


def chain(name, ctype=None, hook=None, prio=None):
    body = {"family": FAMILY, "table": TABLE, "name": name}
    if ctype:
        body.update(type=ctype, hook=hook, prio=prio, policy="accept")
    return {"chain": body}


def set_(name, type_, map_to=None, size=None):
    body = {"family": FAMILY, "table": TABLE, "name": name, "type": type_}
    if size:
        body["size"] = size
    if map_to:
        body["map"] = map_to
        return {"map": body}
    return {"set": body}


def rule(chain_name, exprs, comment):
    return {"rule": {"family": FAMILY, "table": TABLE, "chain": chain_name, "expr": exprs, "comment": comment}}


def element(set_name, elems):
    return {"element": {"family": FAMILY, "table": TABLE, "name": set_name, "elem": elems}}


def map_elem(key, value, comment=None):
    """One map element; the comment (which endpoint it serves) rides on the key."""
    if comment:
        key = {"elem": {"val": key, "comment": comment}}
    return [key, value]


def batch(*commands) -> dict:
    return {"nftables": list(commands)}


# -- rendering to nft command lines ------------------------------------------
# Named priorities nft accepts for a given hook; others are printed as numbers.
_PRIO = {("prerouting", -300): "raw", ("prerouting", -100): "dstnat", ("postrouting", 100): "srcnat",
         ("forward", 0): "filter", ("prerouting", 0): "filter", ("output", 0): "filter", ("input", 0): "filter"}


def _value(v) -> str:
    if isinstance(v, dict):
        (kind, body), = v.items()
        if kind == "payload":
            return f"{body['protocol']} {body['field']}"
        if kind == "meta":
            return body["key"] if body["key"] in ("iifname", "oifname") else f"meta {body['key']}"
        if kind == "ct":
            return f"ct {body['key']}"
        if kind == "fib":
            return f"fib {' . '.join(body['flags'])} {body['result']}"
        if kind == "prefix":
            return f"{body['addr']}/{body['len']}"
        if kind == "concat":
            return " . ".join(_value(x) for x in body)
        if kind == "elem":
            return f"{_value(body['val'])} comment {json.dumps(body['comment'])}"
        if kind == "set":
            return "{ " + ", ".join(_value(x) for x in body) + " }"
        if kind == "numgen":
            return f"numgen {body['mode']} mod {body['mod']}"
    if isinstance(v, list):
        return "{ " + ", ".join(_value(x) for x in v) + " }"
    if isinstance(v, str) and not v.startswith("@") and any(c in v for c in "-.") and not v[0].isdigit():
        return json.dumps(v)  # interface names such as "nsbr-a" need quotes
    return str(v)


def _expr(e) -> str:
    (kind, body), = e.items()
    if kind == "match":
        left, right = _value(body["left"]), _value(body["right"])
        is_ifname = body["left"].get("meta", {}).get("key", "").endswith("ifname")
        if is_ifname and isinstance(body["right"], str) and not body["right"].startswith("@"):
            right = json.dumps(body["right"])
        op = {"==": "", "in": "", "!=": "!= ", "<": "< "}[body["op"]]
        return f"{left} {op}{right}".replace("  ", " ")
    if kind == "dnat":
        a, p = body["addr"]["map"], body["port"]["map"]
        return f"dnat {body['family']} to {_value(a['key'])} map {a['data']} : {_value(p['key'])} map {p['data']}"
    if kind == "mangle":
        return f"{_value(body['key'])} set {body['value']}"
    return kind  # masquerade, accept, drop


def _obj(obj) -> tuple[str, str]:
    (kind, body), = obj.items()
    where = f"{body['family']} {body['table']}" if kind != "table" else f"{body['family']} {body['name']}"
    if kind == "table":
        return kind, where
    if kind == "chain":
        spec = ""
        if "hook" in body:
            prio = _PRIO.get((body["hook"], body["prio"]), body["prio"])
            spec = f" {{ type {body['type']} hook {body['hook']} priority {prio}; policy {body['policy']}; }}"
        return kind, f"{where} {body['name']}{spec}"
    if kind in ("set", "map") and "type" not in body:
        return kind, f"{where} {body['name']}"
    if kind in ("set", "map"):
        typ = " . ".join(body["type"]) if isinstance(body["type"], list) else body["type"]
        if kind == "map":
            typ += " : " + (" . ".join(body["map"]) if isinstance(body["map"], list) else body["map"])
        flags = f" flags {', '.join(body['flags'])};" if body.get("flags") else ""
        size = f" size {body['size']};" if body.get("size") else ""
        return kind, f"{where} {body['name']} {{ type {typ};{flags}{size} }}"
    if kind == "rule":
        text = " ".join(_expr(e) for e in body["expr"])
        return kind, f"{where} {body['chain']} {text} comment {json.dumps(body['comment'])}"
    if kind == "element":
        items = []
        for el in body["elem"]:
            items.append(f"{_value(el[0])} : {_value(el[1])}" if isinstance(el, list) else _value(el))
        return kind, f"{where} {body['name']} {{ {', '.join(items)} }}"
    raise ValueError(kind)


def render(payload_: dict) -> list[str]:
    """Each command as a shell line: nft '<verb> <object> ...'."""
    lines = []
    for command in payload_["nftables"]:
        (verb, obj), = command.items()
        kind, rest = _obj(obj)
        lines.append(f"nft '{verb} {kind} {rest}'")
    return lines
