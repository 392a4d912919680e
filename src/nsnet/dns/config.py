"""The DNS server's config: which names each network holds, and which networks
each sandbox (an "asker") sees. Pure: JSON in, indexed tables out.

    {"upstreams": ["10.0.0.1", "[fd00::1]:53"], "upstream_timeout": 2.0,
     "listen": ["127.0.0.11"], "port": 53,
     "networks": {"devops": {"records": {"web1": ["192.168.1.2"]}, "domain": "devops", "forward": true}},
     "sandboxes": {"web1": {"netns": "web1", "networks": ["devops"], "ipv6": false}}}

A sandbox's queries arrive on sockets in its own namespace, so who asks is
known from the socket, never from an address a packet claims. Records are
kept as text: dnslib (a sixth of the server's start-up) is imported with
the first query, and a server nobody asks never loads it.
"""

from __future__ import annotations

import ipaddress

from ..state.jsonread import loads

LISTEN = ("127.0.0.11",)  # as Docker's embedded resolver: in every sandbox, reachable from nowhere else
LISTEN6 = ("::1",)  # and in sandboxes with an IPv6 address, over IPv6 too


class ConfigError(ValueError):
    """The config is unreadable or invalid; the message says where."""


class Network:
    __slots__ = ("domain", "forward", "name", "names", "ptrs", "source")

    def __init__(self, name, domain, forward, names, ptrs, source):
        self.name = name
        self.domain = domain      # b"devops" or b""
        self.forward = forward    # unknown names go upstream (not for internal networks)
        self.names = names        # every accepted name form -> (IPv4 addresses, IPv6 addresses)
        self.ptrs = ptrs          # reverse name -> names (FQDNs with the final dot)
        self.source = source      # its JSON object: unchanged on reload -> reused


class View:
    """What one kind of asker sees: the networks it is on, its first network first
    (a name on two of them resolves to its address on the first)."""

    __slots__ = ("forward", "key", "networks")

    def __init__(self, networks: tuple):
        self.networks = networks
        self.key = tuple(n.name for n in networks)  # askers on the same networks share answers
        self.forward = any(n.forward for n in networks)


class Asker:
    __slots__ = ("listen", "name", "netns", "view")

    def __init__(self, name: str, netns: str, view: View, listen: tuple = LISTEN):
        self.name, self.netns, self.view, self.listen = name, netns, view, listen


class Config:
    def __init__(self):
        self.upstreams: tuple = ()
        self.networks: dict[str, Network] = {}
        self.askers: dict[str, Asker] = {}
        self.known: frozenset = frozenset()    # every network's names: NXDOMAIN when asked elsewhere
        self.domains: frozenset = frozenset()  # every configured domain, e.g. b"devops"
        self.domain_suffixes: tuple = ()       # the same with a leading dot, for bytes.endswith
        self.listen: tuple = LISTEN
        self.port = 53
        self.timeout = 2.0                     # per upstream, seconds


def load_config(path: str, previous: Config | None = None) -> Config:
    try:
        with open(path, "rb") as f:
            obj = loads(f.read())  # not the json package: its `re` was a sixth of the server's start-up
    except (OSError, ValueError) as e:
        raise ConfigError(f"cannot read DNS config {path}: {e}") from None
    return parse_config(obj, previous)


def _check_keys(obj, allowed: set[str], where: str) -> None:
    if not isinstance(obj, dict):
        raise ConfigError(f"{where}: expected an object, got {type(obj).__name__}")
    unknown = set(obj) - allowed
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}")


def _ip(text, where: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    if not isinstance(text, str):
        raise ConfigError(f"{where}: expected an address as a string, got {text!r}")
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise ConfigError(f"{where}: {text!r} is not an IP address") from None


def _name(text, where: str) -> bytes:
    if not isinstance(text, str):
        raise ConfigError(f"{where}: name must be a string, got {text!r}")
    name = text.lower().rstrip(".")
    labels = name.split(".")
    if (not name or len(name) > 253 or any(not x or len(x) > 63 for x in labels)
            or any(c.isspace() for c in name)):
        raise ConfigError(f"{where}: {text!r} is not a valid DNS name")
    try:
        return name.encode("ascii")
    except UnicodeEncodeError:
        raise ConfigError(f"{where}: {text!r} must be ASCII (use punycode)") from None


def _upstream(text, where: str) -> tuple[str, int]:
    """'10.0.0.1', '10.0.0.1:53', 'fd00::1' or '[fd00::1]:53'."""
    if not isinstance(text, str):
        raise ConfigError(f"{where}: expected 'ip[:port]', got {text!r}")
    host, port = text, "53"
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":") if rest else "53"
    elif text.count(":") == 1:
        host, port = text.split(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{where}: bad port in {text!r}")
    return _ip(host, where).compressed, int(port)


def _network(name: str, obj) -> Network:
    where = f"networks.{name}"
    _check_keys(obj, {"domain", "records", "forward"}, where)
    domain = _name(obj["domain"], f"{where}.domain") if obj.get("domain") else b""
    forward = obj.get("forward", True)
    if not isinstance(forward, bool):
        raise ConfigError(f"{where}.forward: expected true or false")
    records = obj.get("records", {})
    if not isinstance(records, dict):
        raise ConfigError(f"{where}.records: expected an object name -> [addresses]")

    names: dict[bytes, tuple[tuple, tuple]] = {}
    ptrs: dict[bytes, tuple] = {}
    for rname, addrs in records.items():
        key = _name(rname, f"{where}.records")
        if isinstance(addrs, str):
            addrs = [addrs]
        if not isinstance(addrs, list):
            raise ConfigError(f"{where}.records.{rname}: expected a list of addresses")
        v4, v6 = [], []
        fqdn = (key + b"." + domain if domain else key).decode() + "."
        for ip in dict.fromkeys(_ip(a, f"{where}.records.{rname}") for a in addrs):
            (v4 if ip.version == 4 else v6).append(str(ip))
            pointer = ip.reverse_pointer.encode()
            ptrs[pointer] = ptrs.get(pointer, ()) + (fqdn,)
        # "web1" and "web1.devops" are the same record; a name may appear twice only
        # through case or a trailing dot, and then its addresses add up.
        for form in (key, key + b"." + domain) if domain else (key,):
            old = names.get(form, ((), ()))
            names[form] = (old[0] + tuple(v4), old[1] + tuple(v6))
    return Network(name, domain, forward, names, ptrs, obj)


def _askers(obj, networks: dict[str, Network], listen: tuple) -> dict[str, Asker]:
    if not isinstance(obj, dict):
        raise ConfigError("sandboxes: expected an object name -> {netns, networks[, ipv6]}")
    views: dict[tuple, View] = {}
    askers = {}
    listen6 = listen + tuple(a for a in LISTEN6 if a not in listen)
    for name, sobj in obj.items():
        where = f"sandboxes.{name}"
        _check_keys(sobj, {"netns", "networks", "ipv6"}, where)
        ipv6 = sobj.get("ipv6", False)
        if not isinstance(ipv6, bool):
            raise ConfigError(f"{where}.ipv6: expected true or false")
        netns, nets = sobj.get("netns"), sobj.get("networks")
        if not isinstance(netns, str) or not netns:
            raise ConfigError(f"{where}.netns: expected a namespace name or path")
        if not isinstance(nets, list) or not nets or not all(isinstance(n, str) for n in nets):
            raise ConfigError(f"{where}.networks: expected a non-empty list of network names")
        unknown = [n for n in nets if n not in networks]
        if unknown:
            raise ConfigError(f"{where}.networks: no network named {unknown[0]!r}")
        key = tuple(dict.fromkeys(nets))
        view = views.get(key)
        if view is None:
            view = views[key] = View(tuple(networks[n] for n in key))
        askers[name] = Asker(name, netns, view, listen6 if ipv6 else listen)
    return askers


def parse_config(obj, previous: Config | None = None) -> Config:
    """Validate and index a config. Networks whose JSON equals their entry in
    `previous` are reused as they are: a reload then costs about as much as
    the networks that changed (building 1,000 names takes ~17 ms)."""
    _check_keys(obj, {"upstreams", "networks", "sandboxes", "listen", "port", "upstream_timeout"}, "config")
    ups = obj.get("upstreams", [])
    if not isinstance(ups, list):
        raise ConfigError("upstreams: expected a list of 'ip[:port]'")
    port = obj.get("port", 53)
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise ConfigError(f"port: expected 1..65535, got {port!r}")
    timeout = obj.get("upstream_timeout", 2.0)
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 0 < timeout <= 30:
        raise ConfigError(f"upstream_timeout: expected seconds in (0, 30], got {timeout!r}")
    listen = obj.get("listen", list(LISTEN))
    if not isinstance(listen, list) or not listen:
        raise ConfigError("listen: expected a list of addresses (each sandbox's resolver address)")
    nets_obj = obj.get("networks", {})
    if not isinstance(nets_obj, dict):
        raise ConfigError("networks: expected an object name -> network")

    cfg = Config()
    cfg.upstreams = tuple(_upstream(u, "upstreams") for u in ups)
    cfg.port, cfg.timeout = port, float(timeout)
    cfg.listen = tuple(dict.fromkeys(_ip(a, "listen").compressed for a in listen))
    known: set[bytes] = set()
    for name, nobj in nets_obj.items():
        old = previous.networks.get(name) if previous else None
        net = old if old is not None and old.source == nobj else _network(name, nobj)
        cfg.networks[name] = net
        known.update(net.names)
        known.update(net.ptrs)
    cfg.askers = _askers(obj.get("sandboxes", {}), cfg.networks, cfg.listen)
    cfg.known = frozenset(known)
    cfg.domains = frozenset(n.domain for n in cfg.networks.values() if n.domain)
    cfg.domain_suffixes = tuple(b"." + d for d in cfg.domains)
    return cfg
