"""`nsnet dns ...`: the host's DNS server for nsnet sandboxes."""

from ..dns.config import LISTEN
from . import output


def status(ctx):
    eng = ctx.engine
    config = eng.dns_config()
    askers = config["sandboxes"]
    data = {"pid": eng.dns_pid(), "listen": list(LISTEN), "upstreams": config["upstreams"],
            "networks": {name: {"names": sorted(n["records"]),
                                "sandboxes": sorted(s for s, a in askers.items() if name in a["networks"])}
                         for name, n in config["networks"].items()},
            "problems": eng.dns_check()}
    if ctx.as_json:
        return output.emit_json(data)
    output.line(f"server pid: {data['pid'] or 'not running'}; in each sandbox on {', '.join(LISTEN)} port 53; "
                f"upstreams: {', '.join(data['upstreams']) or '-'}")
    rows = [{"network": k, "names": v["names"]} for k, v in data["networks"].items()]
    output.table(rows, [("network", "NETWORK"), ("names", "NAMES")])
    for problem in data["problems"]:
        output.line(f"problem: {problem}")


def sync(ctx):
    ctx.engine.require_privileges()
    ctx.engine.dns_sync()
    output.line(f"dns server pid {ctx.engine.dns_pid() or '-'}")
