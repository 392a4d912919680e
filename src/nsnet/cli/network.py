"""`nsnet network ...`."""

import click

from ..errors import InvalidInput
from . import output
from .common import show_result
from .context import dry_run_option, pass_ctx, publish_option


@click.group()
def network():
    """Networks: bridge (default), host, none, overlay."""


@network.command("create")
@click.argument("name")
@click.option("--driver", "-d", default="bridge", show_default=True, help="bridge | host | none | overlay")
@click.option("--subnet", help="CIDR; default: a free /16 from 172.17-31.0.0 or a /20 of 192.168.0.0/16.")
@click.option("--gateway", help="The host's address on the bridge (default: first host address).")
@click.option("--mtu", type=int, help="MTU of the bridge and its veths.")
@click.option("--bridge", help="Bridge interface name (default: nsbr-NAME).")
@click.option("--internal", is_flag=True, help="No traffic beyond the network.")
@click.option("--no-masquerade", is_flag=True, help="Do not NAT outbound traffic.")
@click.option("--no-dns", is_flag=True, help="No name resolution for this network's sandboxes.")
@click.option("--vni", type=int, help="Overlay only: the VXLAN id (1..16777215; default: lowest free from 4096).")
@dry_run_option
@pass_ctx
def create(ctx, name, driver, subnet, gateway, mtu, bridge, internal, no_masquerade, no_dns, vni, dry_run):
    """Create network NAME."""
    if driver == "overlay":  # cluster-wide: engine/overlay.py
        result = ctx.engine.overlay_create(name, subnet=subnet, vni=vni, gateway=gateway, mtu=mtu, bridge=bridge,
                                           internal=internal, masquerade=not no_masquerade, dry_run=dry_run)
    elif vni is not None:
        raise InvalidInput("--vni is only for --driver overlay")
    else:
        result = ctx.engine.network_create(name, driver=driver, subnet=subnet, gateway=gateway, mtu=mtu,
                                           bridge=bridge, internal=internal, masquerade=not no_masquerade,
                                           dns=not no_dns, dry_run=dry_run)
    detail = f" {result.get('subnet')} gateway {result.get('gateway')} on {result.get('bridge')}" \
        if result.get("subnet") else ""
    show_result(ctx, result, f"created network {name} ({driver}){detail}")


@network.command("ls")
@pass_ctx
def ls(ctx):
    """List networks."""
    rows = ctx.engine.network_ls()
    if ctx.as_json:
        return output.emit_json(rows)
    output.table(rows, [("name", "NAME"), ("driver", "DRIVER"), ("subnet", "SUBNET"), ("gateway", "GATEWAY"),
                        ("bridge", "BRIDGE"), ("sandboxes", "SANDBOXES")])


@network.command("inspect")
@click.argument("name")
@pass_ctx
def inspect(ctx, name):
    """Show a network and its endpoints."""
    data = ctx.engine.network_inspect(name)
    if ctx.as_json:
        return output.emit_json(data)
    output.kv(data, f"network {name}")
    output.console.print(f"  {'options':<12} {data['options']}", highlight=False)
    output.table(data["endpoints"], [("sandbox", "SANDBOX"), ("ifname", "IFNAME"), ("ip", "IP"),
                                     ("host_ifname", "HOST IF")], "endpoints")


@network.command("rm")
@click.argument("names", nargs=-1, required=True)
@click.option("--force", "-f", is_flag=True, help="Disconnect attached sandboxes first.")
@dry_run_option
@pass_ctx
def rm(ctx, names, force, dry_run):
    """Remove networks (refuses while sandboxes are attached, unless --force)."""
    for name in names:
        show_result(ctx, ctx.engine.network_rm(name, force=force, dry_run=dry_run), f"removed network {name}")


@network.command("connect")
@click.argument("network_name", metavar="NETWORK")
@click.argument("sandbox")
@click.option("--ip", help="Static address (default: next free one).")
@click.option("--ifname", help="Interface name inside the sandbox (default: eth0, eth1, ...).")
@publish_option
@click.option("--alias", "aliases", multiple=True, help="Another DNS name for the sandbox on this network.")
@dry_run_option
@pass_ctx
def connect(ctx, network_name, sandbox, ip, ifname, publish, aliases, dry_run):
    """Attach SANDBOX to NETWORK through a veth pair."""
    result = ctx.engine.network_connect(network_name, sandbox, ip=ip, ifname=ifname, publish=list(publish),
                                        aliases=list(aliases), dry_run=dry_run)
    where = f" as {result['ifname']} {result['ip']}" if result and result.get("ip") else ""
    show_result(ctx, result, f"connected {sandbox} to {network_name}{where}")


@network.command("disconnect")
@click.argument("network_name", metavar="NETWORK")
@click.argument("sandbox")
@dry_run_option
@pass_ctx
def disconnect(ctx, network_name, sandbox, dry_run):
    """Detach SANDBOX from NETWORK and free its address."""
    result = ctx.engine.network_disconnect(network_name, sandbox, dry_run=dry_run)
    show_result(ctx, result, f"disconnected {sandbox} from {network_name}")
