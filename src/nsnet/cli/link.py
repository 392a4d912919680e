"""`nsnet link ...`: direct veth cables between two sandboxes."""

from . import output


def add(ctx, a, b, subnet, ip_a, ip_b, ifname_a, ifname_b, dry_run):
    result = ctx.engine.link_add(a, b, subnet=list(subnet) or None, ip_a=list(ip_a) or None, ip_b=list(ip_b) or None,
                                 ifname_a=ifname_a, ifname_b=ifname_b, dry_run=dry_run)
    if result and not result.get("dry_run"):
        ends = [",".join(result[k] for k in keys if result.get(k)) or "-"
                for keys in (("ip_a", "ip6_a"), ("ip_b", "ip6_b"))]
        summary = f"linked {a} ({result['ifname_a']} {ends[0]}) <-> {b} ({result['ifname_b']} {ends[1]})"
    else:
        summary = ""
    output.result(result, summary, ctx.as_json)


def ls(ctx):
    rows = ctx.engine.link_ls()
    if ctx.as_json:
        return output.emit_json(rows)
    for row in rows:
        for side in ("a", "b"):
            row[f"ips_{side}"] = ",".join(row[k] for k in (f"ip_{side}", f"ip6_{side}") if row.get(k))
    output.table(rows, [("a", "A"), ("ifname_a", "IF A"), ("ips_a", "IP A"), ("b", "B"), ("ifname_b", "IF B"),
                        ("ips_b", "IP B")])


def rm(ctx, a, b, dry_run):
    output.result(ctx.engine.link_rm(a, b, dry_run=dry_run), f"removed link {a} <-> {b}", ctx.as_json)
