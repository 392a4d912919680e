"""`nsnet network ...`."""

from ..errors import InvalidInput
from . import output


def driver_options(opts) -> dict:
    """--opt KEY[=VALUE] ... -> {KEY: VALUE or None}."""
    out = {}
    for text in opts:
        key, sep, value = text.partition("=")
        if not key.strip():
            raise InvalidInput(f"--opt '{text}': give KEY or KEY=VALUE (e.g. --opt encrypted)")
        out[key.strip()] = value if sep else None
    return out


def create(ctx, name, driver, subnet, ipv6, gateway, mtu, bridge, internal, no_masquerade, no_dns, allow_direct_routing,
           vni, opts, dry_run):
    result = ctx.engine.network_create(name, driver=driver, subnet=list(subnet) or None,
                                       gateway=list(gateway) or None, mtu=mtu, bridge=bridge, internal=internal,
                                       masquerade=not no_masquerade, dns=not no_dns, vni=vni, ipv6=ipv6,
                                       direct_routing=allow_direct_routing, options=driver_options(opts),
                                       dry_run=dry_run)
    subnets = ", ".join(f"{result[s]} gateway {result[g]}" for s, g in (("subnet", "gateway"), ("subnet6", "gateway6"))
                        if result.get(s))
    detail = f" {subnets} on {result.get('bridge')}" if subnets else ""
    if (result.get("options") or {}).get("encrypted"):
        detail += f", encrypted through {result['options']['tunnel']['ifname']}"
    output.result(result, f"created network {name} ({driver}){detail}", ctx.as_json)


def ls(ctx, quiet):
    rows = ctx.engine.network_ls()
    if ctx.as_json:
        return output.emit_json(rows)
    if quiet:
        return output.names(rows)
    for row in rows:  # both families in one column each
        row["subnets"] = ",".join(row[k] for k in ("subnet", "subnet6") if row.get(k))
        row["gateways"] = ",".join(row[k] for k in ("gateway", "gateway6") if row.get(k))
    output.table(rows, [("name", "NAME"), ("driver", "DRIVER"), ("subnets", "SUBNET"), ("gateways", "GATEWAY"),
                        ("bridge", "BRIDGE"), ("sandboxes", "SANDBOXES")])


def inspect(ctx, name):
    data = ctx.engine.network_inspect(name)
    if ctx.as_json:
        return output.emit_json(data)
    output.kv(data, f"network {name}")
    output.kv(data.get("options") or {}, "options")
    output.table(data["endpoints"], [("sandbox", "SANDBOX"), ("ifname", "IFNAME"), ("ip", "IP"), ("ip6", "IPV6"),
                                     ("host_ifname", "HOST IF")], "endpoints")


def rm(ctx, names, force, dry_run):
    for name in names:
        output.result(ctx.engine.network_rm(name, force=force, dry_run=dry_run), f"removed network {name}",
                      ctx.as_json)


def connect(ctx, network_name, sandbox, ip, ifname, publish, aliases, dry_run):
    result = ctx.engine.network_connect(network_name, sandbox, ip=list(ip) or None, ifname=ifname,
                                        publish=list(publish), aliases=list(aliases), dry_run=dry_run)
    addrs = ", ".join(result[k] for k in ("ip", "ip6") if result and result.get(k))
    where = f" as {result['ifname']} {addrs}" if addrs else ""
    output.result(result, f"connected {sandbox} to {network_name}{where}", ctx.as_json)


def disconnect(ctx, network_name, sandbox, ifname, dry_run):
    result = ctx.engine.network_disconnect(network_name, sandbox, ifname=ifname, dry_run=dry_run)
    output.result(result, f"disconnected {sandbox} from {network_name}", ctx.as_json)
