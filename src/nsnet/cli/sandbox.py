"""`nsnet sandbox ...`, `exec`, `publish`, `unpublish` and `port`."""

from ..errors import InvalidInput
from . import output
from .values import parse_network_arg

PORT_COLUMNS = [("host_ip", "HOST IP"), ("host_port", "HOST PORT"), ("proto", "PROTO"),
                ("sandbox_ip", "SANDBOX IP"), ("sandbox_port", "PORT"), ("network", "NETWORK")]


def create(ctx, name, networks, publish, hostname, dry_run):
    nets = [parse_network_arg(n) for n in networks]
    result = ctx.engine.sandbox_create(name, networks=nets, publish=list(publish), hostname=hostname,
                                       dry_run=dry_run)
    addrs = ", ".join(f"{e['network']}={','.join(a for a in (e.get('ip'), e.get('ip6')) if a)}"
                      for e in result.get("endpoints", []) if e.get("ip") or e.get("ip6"))
    output.result(result, f"created sandbox {name}" + (f" ({addrs})" if addrs else ""), ctx.as_json)


def ls(ctx, quiet):
    rows = ctx.engine.sandbox_ls()
    if ctx.as_json:
        return output.emit_json(rows)
    if quiet:
        return output.names(rows)
    output.table(rows, [("name", "NAME"), ("netns", "NETNS"), ("mode", "MODE"), ("networks", "NETWORKS")])


def inspect(ctx, name):
    data = ctx.engine.sandbox_inspect(name)
    if ctx.as_json:
        return output.emit_json(data)
    output.kv(data, f"sandbox {name}")
    if data["endpoints"]:
        output.table(data["endpoints"], [("network", "NETWORK"), ("ifname", "IFNAME"), ("ip", "IP"), ("ip6", "IPV6"),
                                          ("host_ifname", "HOST IF"), ("is_gateway", "GW"), ("is_gateway6", "GW6")],
                     "endpoints")
    if data.get("ports"):
        output.table(data["ports"], PORT_COLUMNS, "published ports")
    if data["links"]:
        output.table(data["links"], [("peer", "PEER"), ("ifname", "IFNAME"), ("ip", "IP"), ("ip6", "IPV6")], "links")
    kernel = data.get("kernel")
    if kernel:
        output.table(kernel["addresses"], [("ifname", "IFNAME"), ("cidr", "ADDRESS")], "addresses (kernel)")
        output.table(kernel["routes"], [("dest", "DEST"), ("via", "VIA"), ("dev", "DEV")], "routes (kernel)")


def rm(ctx, names, dry_run):
    for name in names:
        output.result(ctx.engine.sandbox_rm(name, dry_run=dry_run), f"removed sandbox {name}", ctx.as_json)


def port(ctx, name):
    rows = ctx.engine.port_ls(name)
    if ctx.as_json:
        return output.emit_json(rows)
    from ..firewall.ports import host_ip_text

    for row in rows:
        row["host_ip"] = host_ip_text(row["host_ip"], 6 if ":" in row["sandbox_ip"] else 4)
    output.table(rows, [("sandbox", "SANDBOX")] + PORT_COLUMNS)


def publish(ctx, name, specs, network, dry_run):
    result = ctx.engine.port_publish(name, list(specs), network=network, dry_run=dry_run)
    output.result(result if isinstance(result, dict) else {"ports": result}, f"published {', '.join(specs)}",
                  ctx.as_json)


def unpublish(ctx, name, specs, dry_run):
    result = ctx.engine.port_unpublish(name, list(specs), dry_run=dry_run)
    output.result(result if isinstance(result, dict) else {"ports": result}, f"unpublished {', '.join(specs)}",
                  ctx.as_json)


def exec_(ctx, name, argv, interactive, tty):
    """CMD replaces this process, so it has nsnet's stdio and terminal (-i/-t change
    nothing); in a sandbox whose process has a PID namespace of its own, CMD joins
    it (a child of nsnet's, which passes its exit code on)."""
    from ..kernel import process

    argv = list(argv[1:] if argv and argv[0] == "--" else argv)
    if not argv:
        raise InvalidInput("nothing to run: nsnet exec NAME -- CMD [ARGS...]")
    netns, hostname = ctx.engine.exec_netns(name), ctx.engine.exec_hostname(name)
    pid = ctx.engine.exec_pid_view(name)
    ctx.close()
    if pid is not None:
        from ..run.join import exec_joined

        raise SystemExit(exec_joined(pid, argv))
    try:
        process.exec_in(netns, argv, hostname)
    except FileNotFoundError:
        output.error(f"{argv[0]}: command not found")
        raise SystemExit(127)
    except PermissionError:
        output.error(f"{argv[0]}: permission denied")
        raise SystemExit(126)
