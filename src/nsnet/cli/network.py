"""`nsnet network ...`."""

from . import output


def create(ctx, name, driver, subnet, gateway, mtu, bridge, internal, no_masquerade, no_dns, vni, dry_run):
    result = ctx.engine.network_create(name, driver=driver, subnet=subnet, gateway=gateway, mtu=mtu, bridge=bridge,
                                       internal=internal, masquerade=not no_masquerade, dns=not no_dns, vni=vni,
                                       dry_run=dry_run)
    detail = f" {result.get('subnet')} gateway {result.get('gateway')} on {result.get('bridge')}" \
        if result.get("subnet") else ""
    output.result(result, f"created network {name} ({driver}){detail}", ctx.as_json)


def ls(ctx, quiet):
    rows = ctx.engine.network_ls()
    if ctx.as_json:
        return output.emit_json(rows)
    if quiet:
        return output.names(rows)
    output.table(rows, [("name", "NAME"), ("driver", "DRIVER"), ("subnet", "SUBNET"), ("gateway", "GATEWAY"),
                        ("bridge", "BRIDGE"), ("sandboxes", "SANDBOXES")])


def inspect(ctx, name):
    data = ctx.engine.network_inspect(name)
    if ctx.as_json:
        return output.emit_json(data)
    output.kv(data, f"network {name}")
    output.line(f"  {'options':<12} {data['options']}")
    output.table(data["endpoints"], [("sandbox", "SANDBOX"), ("ifname", "IFNAME"), ("ip", "IP"),
                                     ("host_ifname", "HOST IF")], "endpoints")


def rm(ctx, names, force, dry_run):
    for name in names:
        output.result(ctx.engine.network_rm(name, force=force, dry_run=dry_run), f"removed network {name}",
                      ctx.as_json)


def connect(ctx, network_name, sandbox, ip, ifname, publish, aliases, dry_run):
    result = ctx.engine.network_connect(network_name, sandbox, ip=ip, ifname=ifname, publish=list(publish),
                                        aliases=list(aliases), dry_run=dry_run)
    where = f" as {result['ifname']} {result['ip']}" if result and result.get("ip") else ""
    output.result(result, f"connected {sandbox} to {network_name}{where}", ctx.as_json)


def disconnect(ctx, network_name, sandbox, dry_run):
    result = ctx.engine.network_disconnect(network_name, sandbox, dry_run=dry_run)
    output.result(result, f"disconnected {sandbox} from {network_name}", ctx.as_json)
