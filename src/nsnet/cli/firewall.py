"""`nsnet firewall ...` (nsnet's own nftables table) and `nsnet explain`."""

from . import output


def reload(ctx, dry_run):
    result = ctx.engine.firewall_reload(dry_run=dry_run)
    output.result(result, f"reloaded nsnet's nftables table ({result.get('networks')} networks, "
                          f"{result.get('ports')} published ports)", ctx.as_json)


def show(ctx):
    lines = ctx.engine.firewall_commands()
    if ctx.as_json:
        return output.emit_json(lines)
    output.commands(lines)


def explain(ctx, target):
    lines = ctx.engine.explain(target)
    if ctx.as_json:
        return output.emit_json(lines)
    output.commands(lines)
