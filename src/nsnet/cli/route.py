"""`nsnet route ...`: static routes inside sandboxes."""

from ..errors import InvalidInput
from . import output


def add(ctx, sandbox, dest, via_word, gateway, dry_run):
    if via_word != "via":
        raise InvalidInput(f"expected 'via' before the gateway, got '{via_word}'")
    result = ctx.engine.route_add(sandbox, dest, gateway, dry_run=dry_run)
    output.result(result, f"added route {dest} via {gateway} in {sandbox}", ctx.as_json)


def rm(ctx, sandbox, dest, dry_run):
    output.result(ctx.engine.route_rm(sandbox, dest, dry_run=dry_run), f"removed route {dest} from {sandbox}",
                  ctx.as_json)


def ls(ctx, sandbox):
    rows = ctx.engine.route_ls(sandbox)
    if ctx.as_json:
        return output.emit_json(rows)
    output.table(rows, [("sandbox", "SANDBOX"), ("dest", "DEST"), ("via", "VIA")])
