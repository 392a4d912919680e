"""`nsnet agent` (the per-host overlay agent) and `nsnet overlay ...` (the cluster view)."""

import time

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
    for row in rows:  # a dual-stack network's subnets and an endpoint's addresses joined by ","
        row["endpoints"] = ", ".join(",".join(a for a in (e["ip"], e.get("ip6")) if a) + f"@{e['host']}"
                                     for e in row["endpoints"]) or "-"
        row["here"] = "yes" if row["local"] else "no"
        row["subnets"] = ",".join(row[k] for k in ("subnet", "subnet6") if row.get(k))
        row["gateways"] = ",".join(row[k] for k in ("gateway", "gateway6") if row.get(k))
    output.table(rows, [("name", "NAME"), ("vni", "VNI"), ("subnets", "SUBNET"), ("gateways", "GATEWAY"),
                        ("here", "ON THIS HOST"), ("endpoints", "ENDPOINTS")])


def overlay_hosts(ctx):
    rows = sorted(ctx.engine.overlay_hosts().values(), key=lambda h: h["name"])
    if ctx.as_json:
        return output.emit_json(rows)
    output.table(rows, [("name", "HOST"), ("address", "ADVERTISE ADDRESS")])


def tunnel_show(ctx):
    data = ctx.engine.tunnel_status()
    if ctx.as_json:
        return output.emit_json(data)
    if not data.get("device"):
        return output.line("no WireGuard device: this host has no WireGuard identity (is `nsnet agent` running, "
                           "with wireguard-tools installed?)")
    state = "running" if data["running"] else "not running"
    process = f", pid {data['pid']}" if data.get("pid") else ""
    output.line(f"{data['device']} ({data['backend'] or 'not started'}{process}): {state}; host {data['host']}, "
                f"address {data['address']}, port {data['port']}, mtu {data['mtu']}")
    output.line(f"  public key {data['public_key']}; encrypted overlays here: {', '.join(data['networks']) or '-'}")
    now = time.time()
    for peer in data["peers"]:
        peer["seen"] = f"{now - peer['handshake']:.0f} s ago" if peer["handshake"] else "never"
        peer["host"] = peer["host"] or "?"
    output.table(data["peers"], [("host", "PEER HOST"), ("endpoint", "ENDPOINT"), ("allowed_ips", "ALLOWED IPS"),
                                 ("seen", "HANDSHAKE"), ("rx", "RX BYTES"), ("tx", "TX BYTES")], "peers")


def tunnel_sync(ctx):
    result = ctx.engine.tunnel_sync()
    if ctx.as_json:
        return output.emit_json(result)
    if not result.get("device"):
        return output.line("no WireGuard device on this host")
    what = [w for w in ("started", "stopped") if result.get(w)]
    what += [f"{len(result[k])} peer(s) {k}" for k in ("added", "removed") if result.get(k)]
    output.line(f"{result['device']}: {', '.join(what) or 'in step'}")
