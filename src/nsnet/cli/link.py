"""`nsnet link ...`: direct veth cables between two sandboxes."""

from . import output


def add(ctx, a, b, subnet, ip_a, ip_b, ifname_a, ifname_b, dry_run):
    result = ctx.engine.link_add(a, b, subnet=subnet, ip_a=ip_a, ip_b=ip_b, ifname_a=ifname_a,
                                 ifname_b=ifname_b, dry_run=dry_run)
    if result and not result.get("dry_run"):
        summary = (f"linked {a} ({result['ifname_a']} {result['ip_a'] or '-'}) <-> "
                   f"{b} ({result['ifname_b']} {result['ip_b'] or '-'})")
    else:
        summary = ""
    output.result(result, summary, ctx.as_json)


def ls(ctx):
    rows = ctx.engine.link_ls()
    if ctx.as_json:
        return output.emit_json(rows)
    output.table(rows, [("a", "A"), ("ifname_a", "IF A"), ("ip_a", "IP A"), ("b", "B"), ("ifname_b", "IF B"),
                        ("ip_b", "IP B")])


def rm(ctx, a, b, dry_run):
    output.result(ctx.engine.link_rm(a, b, dry_run=dry_run), f"removed link {a} <-> {b}", ctx.as_json)
