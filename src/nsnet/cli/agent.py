"""`nsnet agent` (the per-host overlay agent) and `nsnet overlay ...` (the cluster view)."""

from . import output


def agent(ctx, advertise_address, host_name, ttl):
    from ..agent import run_agent

    raise SystemExit(run_agent(ctx.engine, advertise_address, host_name, ttl))


def overlay_ls(ctx, quiet):
    rows = ctx.engine.overlay_ls()
    if ctx.as_json:
        return output.emit_json(rows)
    if quiet:
        return output.names(rows)
    for row in rows:
        row["endpoints"] = ", ".join(f"{e['ip']}@{e['host']}" for e in row["endpoints"]) or "-"
        row["here"] = "yes" if row["local"] else "no"
    output.table(rows, [("name", "NAME"), ("vni", "VNI"), ("subnet", "SUBNET"), ("gateway", "GATEWAY"),
                        ("here", "ON THIS HOST"), ("endpoints", "ENDPOINTS")])


def overlay_hosts(ctx):
    rows = sorted(ctx.engine.overlay_hosts().values(), key=lambda h: h["name"])
    if ctx.as_json:
        return output.emit_json(rows)
    output.table(rows, [("name", "HOST"), ("address", "ADVERTISE ADDRESS")])
