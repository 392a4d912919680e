"""`nsnet sandbox ...` and `nsnet exec`."""

import click

from ..errors import InvalidInput
from ..kernel import process
from . import output
from .common import show_result
from .context import dry_run_option, pass_ctx, publish_option
from .values import parse_network_arg


@click.group()
def sandbox():
    """Sandboxes: named network namespaces."""


@sandbox.command("create")
@click.argument("name")
@click.option("--network", "networks", multiple=True, metavar="NET[:IP]",
              help="Attach to this network (repeatable); optionally with a static IP.")
@publish_option
@dry_run_option
@pass_ctx
def create(ctx, name, networks, publish, dry_run):
    """Create sandbox NAME (a network namespace with lo up)."""
    nets = [parse_network_arg(n) for n in networks]
    result = ctx.engine.sandbox_create(name, networks=nets, publish=list(publish), dry_run=dry_run)
    addrs = ", ".join(f"{e['network']}={e['ip']}" for e in result.get("endpoints", []) if e.get("ip"))
    show_result(ctx, result, f"created sandbox {name}" + (f" ({addrs})" if addrs else ""))


@sandbox.command("ls")
@pass_ctx
def ls(ctx):
    """List sandboxes."""
    rows = ctx.engine.sandbox_ls()
    if ctx.as_json:
        return output.emit_json(rows)
    output.table(rows, [("name", "NAME"), ("netns", "NETNS"), ("mode", "MODE"), ("networks", "NETWORKS")])


@sandbox.command("inspect")
@click.argument("name")
@pass_ctx
def inspect(ctx, name):
    """Show a sandbox: endpoints, links, routes, and what the kernel has."""
    data = ctx.engine.sandbox_inspect(name)
    if ctx.as_json:
        return output.emit_json(data)
    output.kv(data, f"sandbox {name}")
    if data["endpoints"]:
        output.table(data["endpoints"], [("network", "NETWORK"), ("ifname", "IFNAME"), ("ip", "IP"),
                                          ("host_ifname", "HOST IF"), ("is_gateway", "GW")], "endpoints")
    if data.get("ports"):
        output.table(data["ports"], PORT_COLUMNS, "published ports")
    if data["links"]:
        output.table(data["links"], [("peer", "PEER"), ("ifname", "IFNAME"), ("ip", "IP")], "links")
    kernel = data.get("kernel")
    if kernel:
        output.table(kernel["addresses"], [("ifname", "IFNAME"), ("cidr", "ADDRESS")], "addresses (kernel)")
        output.table(kernel["routes"], [("dest", "DEST"), ("via", "VIA"), ("dev", "DEV")], "routes (kernel)")


PORT_COLUMNS = [("host_ip", "HOST IP"), ("host_port", "HOST PORT"), ("proto", "PROTO"),
                ("sandbox_ip", "SANDBOX IP"), ("sandbox_port", "PORT"), ("network", "NETWORK")]


@click.command("port")
@click.argument("name", required=False)
@pass_ctx
def port(ctx, name):
    """List published ports (of one sandbox, or all)."""
    rows = ctx.engine.port_ls(name)
    if ctx.as_json:
        return output.emit_json(rows)
    for row in rows:
        row["host_ip"] = row["host_ip"] or "0.0.0.0"
    output.table(rows, [("sandbox", "SANDBOX")] + PORT_COLUMNS)


@click.command("publish")
@click.argument("name")
@click.argument("specs", nargs=-1, required=True, metavar="[HOST_IP:]HOST_PORT:PORT[/PROTO]...")
@click.option("--network", help="Publish the sandbox's address on this network (default: its first).")
@dry_run_option
@pass_ctx
def publish(ctx, name, specs, network, dry_run):
    """Publish ports of an attached sandbox."""
    result = ctx.engine.port_publish(name, list(specs), network=network, dry_run=dry_run)
    show_result(ctx, result if isinstance(result, dict) else {"ports": result}, f"published {', '.join(specs)}")


@click.command("unpublish")
@click.argument("name")
@click.argument("specs", nargs=-1, required=True, metavar="[HOST_IP:]HOST_PORT:PORT[/PROTO]...")
@dry_run_option
@pass_ctx
def unpublish(ctx, name, specs, dry_run):
    """Withdraw published ports (named as they were published)."""
    result = ctx.engine.port_unpublish(name, list(specs), dry_run=dry_run)
    show_result(ctx, result if isinstance(result, dict) else {"ports": result}, f"unpublished {', '.join(specs)}")


@sandbox.command("rm")
@click.argument("names", nargs=-1, required=True)
@dry_run_option
@pass_ctx
def rm(ctx, names, dry_run):
    """Remove sandboxes (detaching them and freeing their addresses first)."""
    for name in names:
        show_result(ctx, ctx.engine.sandbox_rm(name, dry_run=dry_run), f"removed sandbox {name}")


@click.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("name")
@click.argument("argv", nargs=-1, required=True, type=click.UNPROCESSED)
@pass_ctx
def exec_(ctx, name, argv):
    """Run CMD inside sandbox NAME:  nsnet exec NAME -- CMD [ARGS...]"""
    argv = list(argv[1:] if argv and argv[0] == "--" else argv)
    if not argv:
        raise InvalidInput("nothing to run: nsnet exec NAME -- CMD [ARGS...]")
    netns = ctx.engine.exec_netns(name)
    ctx.close()
    try:
        process.exec_in(netns, argv)
    except FileNotFoundError:
        output.error(f"{argv[0]}: command not found")
        raise SystemExit(127)
    except PermissionError:
        output.error(f"{argv[0]}: permission denied")
        raise SystemExit(126)
