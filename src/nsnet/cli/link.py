"""`nsnet link ...`: direct veth cables between two sandboxes."""

import click

from . import output
from .common import show_result
from .context import dry_run_option, pass_ctx


@click.group()
def link():
    """Direct links: a veth pair between two sandboxes, no bridge."""


@link.command("add")
@click.argument("a")
@click.argument("b")
@click.option("--subnet", help="Give A and B the first two addresses of this CIDR.")
@click.option("--ip-a", help="A's address with prefix, e.g. 192.168.15.1/24.")
@click.option("--ip-b", help="B's address with prefix.")
@click.option("--ifname-a", help="Interface name in A (default: veth-B).")
@click.option("--ifname-b", help="Interface name in B (default: veth-A).")
@dry_run_option
@pass_ctx
def add(ctx, a, b, subnet, ip_a, ip_b, ifname_a, ifname_b, dry_run):
    """Link sandboxes A and B with a veth pair."""
    result = ctx.engine.link_add(a, b, subnet=subnet, ip_a=ip_a, ip_b=ip_b, ifname_a=ifname_a,
                                 ifname_b=ifname_b, dry_run=dry_run)
    if result and not result.get("dry_run"):
        summary = (f"linked {a} ({result['ifname_a']} {result['ip_a'] or '-'}) <-> "
                   f"{b} ({result['ifname_b']} {result['ip_b'] or '-'})")
    else:
        summary = ""
    show_result(ctx, result, summary)


@link.command("ls")
@pass_ctx
def ls(ctx):
    """List direct links."""
    rows = ctx.engine.link_ls()
    if ctx.as_json:
        return output.emit_json(rows)
    output.table(rows, [("a", "A"), ("ifname_a", "IF A"), ("ip_a", "IP A"), ("b", "B"), ("ifname_b", "IF B"),
                        ("ip_b", "IP B")])


@link.command("rm")
@click.argument("a")
@click.argument("b")
@dry_run_option
@pass_ctx
def rm(ctx, a, b, dry_run):
    """Remove the link between A and B."""
    show_result(ctx, ctx.engine.link_rm(a, b, dry_run=dry_run), f"removed link {a} <-> {b}")
