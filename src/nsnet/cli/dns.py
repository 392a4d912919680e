"""`nsnet dns ...`: the host's DNS server for nsnet networks."""

import click

from . import output
from .context import pass_ctx


@click.group()
def dns():
    """The DNS server that resolves sandbox names inside networks."""


@dns.command("status")
@pass_ctx
def status(ctx):
    """Is the server running, and what does it serve?"""
    eng = ctx.engine
    config = eng.dns_config()
    data = {"pid": eng.dns_pid(), "upstreams": config["upstreams"],
            "networks": {name: {"listen": n["listen"], "names": sorted(n["records"])}
                         for name, n in config["networks"].items()}}
    if ctx.as_json:
        return output.emit_json(data)
    output.console.print(f"server pid: {data['pid'] or 'not running'}; upstreams: "
                         f"{', '.join(data['upstreams']) or '-'}", highlight=False)
    rows = [{"network": k, "listen": v["listen"], "names": v["names"]} for k, v in data["networks"].items()]
    output.table(rows, [("network", "NETWORK"), ("listen", "LISTEN"), ("names", "NAMES")])


@dns.command("sync")
@pass_ctx
def sync(ctx):
    """Rewrite the config and (re)start the server if it is not running."""
    ctx.engine.require_privileges()
    ctx.engine.dns_sync()
    output.console.print(f"dns server pid {ctx.engine.dns_pid() or '-'}", highlight=False)
