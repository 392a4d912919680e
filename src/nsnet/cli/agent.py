"""`nsnet agent` (the per-host overlay agent) and `nsnet overlay ...` (the cluster view)."""

import click

from . import output
from .context import pass_ctx


@click.command()
@click.option("--advertise-address", required=True, metavar="IP",
              help="This host's underlay address: the VXLAN tunnels of other hosts end here.")
@click.option("--name", "host_name", metavar="NAME",
              help="This host's name in the cluster (default: the host namespace's name, else the hostname).")
@click.option("--ttl", type=click.IntRange(1, 3600), default=10, show_default=True,
              help="Seconds until the registration expires once the agent stops for good.")
@pass_ctx
def agent(ctx, advertise_address, host_name, ttl):
    """Run the overlay agent in the foreground (until SIGTERM): register this host in
    the cluster store and keep the VXLAN forwarding entries in step with it."""
    from ..agent import run_agent

    raise SystemExit(run_agent(ctx.engine, advertise_address, host_name, ttl))


@click.group()
def overlay():
    """Overlay networks as the cluster store sees them."""


@overlay.command("ls")
@pass_ctx
def ls(ctx):
    """Overlay networks of the cluster store and their endpoints."""
    rows = ctx.engine.overlay_ls()
    if ctx.as_json:
        return output.emit_json(rows)
    for row in rows:
        row["endpoints"] = ", ".join(f"{e['ip']}@{e['host']}" for e in row["endpoints"]) or "-"
        row["here"] = "yes" if row["local"] else "no"
    output.table(rows, [("name", "NAME"), ("vni", "VNI"), ("subnet", "SUBNET"), ("gateway", "GATEWAY"),
                        ("here", "ON THIS HOST"), ("endpoints", "ENDPOINTS")])


@overlay.command("hosts")
@pass_ctx
def hosts(ctx):
    """Hosts whose agent is alive (registration not expired)."""
    rows = sorted(ctx.engine.overlay_hosts().values(), key=lambda h: h["name"])
    if ctx.as_json:
        return output.emit_json(rows)
    output.table(rows, [("name", "HOST"), ("address", "ADVERTISE ADDRESS")])
