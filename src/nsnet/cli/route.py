"""`nsnet route ...`: static routes inside sandboxes."""

import click

from ..errors import InvalidInput
from . import output
from .common import show_result
from .context import dry_run_option, pass_ctx


@click.group()
def route():
    """Static routes inside a sandbox."""


@route.command("add")
@click.argument("sandbox")
@click.argument("dest")
@click.argument("via_word", metavar="via")
@click.argument("gateway")
@dry_run_option
@pass_ctx
def add(ctx, sandbox, dest, via_word, gateway, dry_run):
    """nsnet route add SANDBOX DEST via GATEWAY   (DEST: CIDR or 'default')"""
    if via_word != "via":
        raise InvalidInput(f"expected 'via' before the gateway, got '{via_word}'")
    result = ctx.engine.route_add(sandbox, dest, gateway, dry_run=dry_run)
    show_result(ctx, result, f"added route {dest} via {gateway} in {sandbox}")


@route.command("rm")
@click.argument("sandbox")
@click.argument("dest")
@dry_run_option
@pass_ctx
def rm(ctx, sandbox, dest, dry_run):
    """Remove the route to DEST from SANDBOX."""
    show_result(ctx, ctx.engine.route_rm(sandbox, dest, dry_run=dry_run), f"removed route {dest} from {sandbox}")


@route.command("ls")
@click.argument("sandbox", required=False)
@pass_ctx
def ls(ctx, sandbox):
    """List routes nsnet added (all sandboxes, or one)."""
    rows = ctx.engine.route_ls(sandbox)
    if ctx.as_json:
        return output.emit_json(rows)
    output.table(rows, [("sandbox", "SANDBOX"), ("dest", "DEST"), ("via", "VIA")])
