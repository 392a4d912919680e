"""`nsnet firewall ...`: nsnet's own nftables table."""

import click

from . import output
from .common import show_result
from .context import dry_run_option, pass_ctx


@click.group()
def firewall():
    """nsnet's nftables table (inet nsnet)."""


@firewall.command("reload")
@dry_run_option
@pass_ctx
def reload(ctx, dry_run):
    """Rebuild nsnet's table from the state store (e.g. after `nft flush ruleset`)."""
    result = ctx.engine.firewall_reload(dry_run=dry_run)
    show_result(ctx, result, f"reloaded nsnet's nftables table ({result.get('networks')} networks, "
                             f"{result.get('ports')} published ports)")


@firewall.command("show")
@pass_ctx
def show(ctx):
    """Print the nft commands that build nsnet's table from the state store."""
    step = ctx.engine.firewall_plan()
    lines = step.explain() if step else []
    if ctx.as_json:
        return output.emit_json(lines)
    output.commands(lines)
