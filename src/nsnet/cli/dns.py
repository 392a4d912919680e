"""`nsnet dns ...`: the host's DNS server for nsnet networks."""

from . import output


def status(ctx):
    eng = ctx.engine
    config = eng.dns_config()
    data = {"pid": eng.dns_pid(), "upstreams": config["upstreams"],
            "networks": {name: {"listen": n["listen"], "names": sorted(n["records"])}
                         for name, n in config["networks"].items()}}
    if ctx.as_json:
        return output.emit_json(data)
    output.line(f"server pid: {data['pid'] or 'not running'}; upstreams: {', '.join(data['upstreams']) or '-'}")
    rows = [{"network": k, "listen": v["listen"], "names": v["names"]} for k, v in data["networks"].items()]
    output.table(rows, [("network", "NETWORK"), ("listen", "LISTEN"), ("names", "NAMES")])


def sync(ctx):
    ctx.engine.require_privileges()
    ctx.engine.dns_sync()
    output.line(f"dns server pid {ctx.engine.dns_pid() or '-'}")
