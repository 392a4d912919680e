"""`nsnet partition / heal / impair / faults`: faults between sandboxes."""

from . import output


def _groups_text(groups, others) -> str:
    parts = [",".join(g) for g in groups]
    if others:
        parts.append("(others: " + ",".join(others) + ")")
    return " | ".join(parts)


def partition(ctx, groups, one_way, dry_run):
    result = ctx.engine.partition(list(groups), one_way=one_way, dry_run=dry_run)
    if one_way:
        summary = f"partitioned one way: {groups[0]} -/-> " + " | ".join([*groups[1:], "the others"])
    else:
        summary = "partitioned: " + " | ".join([*groups, "the others"])
    output.result(result, summary, ctx.as_json)


def heal(ctx, dry_run):
    output.result(ctx.engine.heal(dry_run=dry_run), "healed", ctx.as_json)


def _impairment_text(imp: dict) -> str:
    parts = []
    if imp["loss"] is not None:
        parts.append(f"loss {imp['loss']:g}%")
    if imp["rate"]:
        parts.append(f"rate {imp['rate']}")
    if imp["delay_ms"] is not None:
        parts.append(f"delay {imp['delay_ms']:g}ms" + (f" jitter {imp['jitter_ms']:g}ms" if imp["jitter_ms"] else ""))
    if imp["to"]:
        parts.append("to " + ",".join(imp["to"]))
    return ", ".join(parts)


def impair(ctx, target, loss, rate, delay, jitter, to, clear, dry_run):
    result = ctx.engine.impair(target, loss=loss, rate=rate, delay=delay, jitter=jitter, to=list(to) or None,
                               clear=clear, dry_run=dry_run)
    if clear:
        summary = f"cleared impairments of {target}"
    else:
        summary = f"impaired {target}: " + _impairment_text(result["impairment"]) if "impairment" in result else ""
    output.result(result, summary, ctx.as_json)


def show(ctx):
    faults = ctx.engine.faults()
    if ctx.as_json:
        return output.emit_json(faults)
    part = faults["partition"]
    if part is None:
        output.line("partition: none")
    else:
        kind = "one way, from the first group" if part["one_way"] else "both ways"
        output.line(f"partition ({kind}): {_groups_text(part['groups'], part['others'])}")
    rows = [dict(i, target=i["sandbox"] + (f":{i['ifname']}" if i["ifname"] else ""),
                 loss=f"{i['loss']:g}%" if i["loss"] is not None else "",
                 delay=f"{i['delay_ms']:g}ms" if i["delay_ms"] is not None else "",
                 jitter=f"{i['jitter_ms']:g}ms" if i["jitter_ms"] else "",
                 to=i["to"] or "all") for i in faults["impairments"]]
    if not rows:
        output.line("impairments: none")
        return
    output.table(rows, [("target", "SANDBOX"), ("loss", "LOSS"), ("rate", "RATE"), ("delay", "DELAY"),
                        ("jitter", "JITTER"), ("to", "TO")])
