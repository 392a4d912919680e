"""What `inspect` returns: JSON-shaped values a person and a script read alike
(ISO-8601 times, booleans, names of kernel constants), never a Python repr,
a raw epoch float or a netlink number."""

from ..isotime import iso

# rtnetlink route origins (rtnetlink.h: RTPROT_*), as `ip route` names them
ROUTE_PROTOS = {1: "redirect", 2: "kernel", 3: "boot", 4: "static", 16: "dhcp"}


def route_proto(number: int | None) -> str | int | None:
    return ROUTE_PROTOS.get(number, number)


def endpoint_view(row: dict, fields: tuple) -> dict:
    out = {k: row.get(k) for k in fields}
    for flag in ("is_gateway", "is_gateway6"):  # per family: does its default route go this way?
        if flag in out:
            out[flag] = bool(out[flag])
    return out


def network_view(row: dict) -> dict:
    return dict(row, created=iso(row["created"])) if row.get("created") is not None else dict(row)
