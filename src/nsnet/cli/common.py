"""Output helpers shared by the command modules."""

from . import output


def show_result(ctx, result, summary: str) -> None:
    """Dry runs print their commands; real runs print a summary (or JSON)."""
    if isinstance(result, dict) and result.get("dry_run"):
        if ctx.as_json:
            output.emit_json(result)
        else:
            output.commands(result["commands"], "dry run: nothing was changed")
        return
    if ctx.as_json:
        output.emit_json(result)
        return
    output.line(summary)
    for error in (result or {}).get("errors", []) if isinstance(result, dict) else []:
        output.warning(error)
