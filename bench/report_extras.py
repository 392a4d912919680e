"""Markdown sections for the workloads beside the attach grid (data["extras"])."""

from .stats import summary

LABELS = {"nsnet-api": "nsnet (Python API)", "nsnet-cli": "nsnet CLI (`nsnet up/down FILE`)",
          "mininet": "Mininet 2.3, LinuxBridge, no controller"}


def _s(xs) -> str:
    if not xs:
        return "–"
    s = summary(xs)
    rng = f" ({s['min']:.2f}–{s['max']:.2f})" if len(xs) > 1 else ""
    return f"{s['median']:.2f}{rng}"


def _failed(name, rec) -> list[str]:
    return [f"**{name}: failed** ({rec['error']})", ""] if rec and "error" in rec else []


def topology(ex: dict) -> list[str]:
    rec = ex.get("topology")
    if not rec or "runs" not in rec:
        return _failed("topology", rec)
    runs = [r for r in rec["runs"] if "error" not in r]
    out = [f"## Topology: {rec['n']} sandboxes on {rec['nets']} bridges, up / no-change up / down (s)", "",
           "Median (min–max) over interleaved rounds. nsnet: a generated topology file, `up` (validate, create "
           "the networks, then every sandbox with its attachment, then drift check), `up` again (nothing to "
           f"do), `down`. Mininet: `build()` + `start()` of {rec['n']} hosts on one LinuxBridge, `stop()`.", "",
           "| tool | up | no-change up | down | up ratio nsnet/Mininet | down ratio | rounds | verified |",
           "|---|---|---|---|---|---|---|---|"]
    mn = {k: summary([r[k] for r in runs if r["tool"] == "mininet"]) for k in ("up_s", "down_s")}
    for tool in ("nsnet-api", "nsnet-cli", "mininet"):
        mine = [r for r in runs if r["tool"] == tool]
        if not mine:
            continue
        ratio = []
        for k in ("up_s", "down_s"):
            m = summary([r[k] for r in mine])
            ratio.append(f"{m['median'] / mn[k]['median']:.2f}" if tool != "mininet" and mn[k].get("n") else "–")
        ok = sum(1 for r in mine if r.get("verify", {}).get("ok") and not r.get("leftovers"))
        out.append(f"| {LABELS[tool]} | {_s([r['up_s'] for r in mine])} | "
                   f"{_s([r['noop_s'] for r in mine if 'noop_s' in r])} | {_s([r['down_s'] for r in mine])} | "
                   f"{ratio[0]} | {ratio[1]} | {len(mine)} | {ok}/{len(mine)} |")
    errs = [r for r in rec["runs"] if "error" in r]
    out += [""] + [f"- {r['tool']} round {r['round']} failed: {r['error']}" for r in errs]
    return out + ["verified = ping gateway and a sandbox on the same bridge after `up`, no-change `up` made 0 "
                  "changes, and nothing (link, namespace, DNS server) left after `down`.", "",
                  "![topology up/down](img/bench-topology.png)", ""]


def port_cost(ex: dict) -> list[str]:
    r = ex.get("port_cost")
    if not r or "added_ms" not in r:
        return _failed("port cost", r)
    return [f"## What one published port adds to an attach ({2 * r['n']} sandboxes, every other one with a port)",
            "", "| | attach without | attach with one port | added |", "|---|---|---|---|",
            f"| all (median ms) | {r['plain_ms']:.2f} | {r['port_ms']:.2f} | {r['added_ms']:+.2f} |",
            f"| first quarter | | | {r['added_first_quarter_ms']:+.2f} |",
            f"| last quarter | | | {r['added_last_quarter_ms']:+.2f} |", "",
            "Interleaved one by one in one host (A B A B ...), so both kinds see the same load and network size; "
            "the attach grid's nsnet vs nsnet + port runs are minutes apart and much noisier.", ""]


def ports(ex: dict) -> list[str]:
    r = ex.get("ports")
    if not r or "count" not in r:
        return _failed("ports", r)
    c = r["count"]
    return [f"## {c:,} published ports on one sandbox (ms per `port_publish` / `port_unpublish`)", "",
            f"| | 1st | {c:,}th | first tenth (median) | last tenth (median) | all (median) |",
            "|---|---|---|---|---|---|",
            f"| add | {r['add_first_ms']:.2f} | {r['add_last_ms']:.2f} | {r['add_first10_ms']:.2f} | "
            f"{r['add_last10_ms']:.2f} | {r['add_median_ms']:.2f} |",
            f"| remove | {r['rm_first_ms']:.2f} | {r['rm_last_ms']:.2f} | {r['rm_first10_ms']:.2f} | "
            f"{r['rm_last10_ms']:.2f} | {r['rm_median_ms']:.2f} |", "",
            f"nftables rules in the prerouting chain with {c:,} ports published: {r['prerouting_rules']} "
            "(ports are map elements, not rules). Removal runs from the first port published to the last, so "
            "the first removal happens with all ports present.", "",
            "![port add/remove time vs number of ports](img/bench-ports.png)", ""]


IPERF = [("veth_direct", "veth pair, hand-made (the floor)"), ("raw_bridge", "two veths on a hand-made bridge"),
         ("nsnet_bridge", "two nsnet sandboxes on an nsnet bridge"),
         ("direct", "outside netns → sandbox, routed by the host"),
         ("published", "outside netns → host:port, DNAT to the same sandbox")]


def iperf(ex: dict) -> list[str]:
    r = ex.get("iperf")
    if not r or "samples" not in r:
        return _failed("iperf3", r)
    out = [f"## Data plane: iperf3, one TCP stream, Gbit/s ({r['rounds']} interleaved rounds × {r['seconds']} s)",
           "", "| path | Gbit/s median (min–max) | ratio (median of per-round ratios) |", "|---|---|---|"]
    ratio = {"nsnet_bridge": ("raw_bridge", "× hand-made bridge"), "published": ("direct", "× direct")}
    for key, label in IPERF:
        extra = ""
        if key in ratio:
            base, what = ratio[key]
            per = [a / b for a, b in zip(r["samples"][key], r["samples"][base], strict=True)]
            extra = f"{summary(per)['median']:.2f}{what} (per round {min(per):.2f}–{max(per):.2f})"
        out.append(f"| {label} | {_s(r['samples'][key])} | {extra} |")
    return out + ["", "![throughput](img/bench-iperf.png)", ""]


def dns(ex: dict) -> list[str]:
    r = ex.get("dns")
    if not r or "runs" not in r:
        return _failed("dns", r)
    out = [f"## DNS: nsnet's server with {r['names']:,} names (one network, {r['names']:,} sandboxes)", "",
           "Closed loop, one query in flight per client, random names; clients are Python processes in "
           "sandboxes. The server never forwards (the bench host has an empty resolv.conf).", "",
           "| clients | answers | lost | queries/s | p50 ms | p99 ms |", "|---|---|---|---|---|---|"]
    for x in r["runs"]:
        out.append(f"| {x['clients']} | {x['queries']:,} | {x['lost']} | {x['qps']:,.0f} | {x['p50_ms']:.3f} | "
                   f"{x['p99_ms']:.3f} |")
    out += ["", f"Server RSS: {r['rss_mb']:.1f} MB after loading the names, "
                f"{r.get('rss_after_mb', r['rss_mb']):.1f} MB after the load.", ""]
    lab = r.get("lab")
    if lab:
        out += ["The per-test lab through the API (a network, 5 sandboxes, all removed; the DNS server "
                "starts and stops with it), rounds with and without DNS interleaved:", "",
                "| network | set-up ms | teardown ms | total ms (median) | total ms (p95) |", "|---|---|---|---|---|"]
        for kind, label in (("dns", "with DNS"), ("nodns", "`--no-dns`")):
            x = lab[kind]
            out.append(f"| {label} | {summary(x['up_ms'])['median']:.1f} | {summary(x['down_ms'])['median']:.1f} | "
                       f"{summary(x['total_ms'])['median']:.1f} | {_p95(x['total_ms']):.1f} |")
        out += ["", f"The first name resolved {summary(lab['dns']['first_answer_ms'])['median']:.0f} ms after the "
                    "set-up returned (median): nobody waits for the server to start; its sockets hold the "
                    "queries until it does.", ""]
    return out


RUN = [("cli", "`nsnet run -d` (create + attach + publish) → accepting"),
       ("api", "`Engine.run(detach=True)` → accepting"),
       ("exist", "`nsnet run -d --sandbox` (existing sandbox) → accepting"),
       ("api_exist", "`Engine.run(sandbox=…)` → accepting"), ("server", "the server alone"),
       ("python_bare", "`python -c pass`"), ("ps_cli", "`nsnet ps` (as installed)"),
       ("ps_json", "`nsnet --json ps` (imports json)")]


def run(ex: dict) -> list[str]:
    r = ex.get("run")
    if not r or "cli" not in r:
        return _failed("run", r)
    out = [f"## `nsnet run` and `nsnet ps` start-up (ms, median [min–max] of {r['n']}; from bench/run.py)", "",
           "| what | ms |", "|---|---|"]
    out += [f"| {label} | {r[k]['median']:.1f} [{r[k]['min']:.1f}–{r[k]['max']:.1f}] |" for k, label in RUN if k in r]
    return out + ["", f"Overhead over the server's own start-up: CLI {r['overhead_cli']:.0f} ms, API "
                      f"{r['overhead_api']:.0f} ms (existing sandbox: CLI {r['overhead_exist']:.0f}, API "
                      f"{r['overhead_api_exist']:.0f}).", ""]


def overlay(ex: dict) -> list[str]:
    r = ex.get("overlay")
    if not r or "throughput" not in r:
        return _failed("overlay", r)
    tp, j = r["throughput"], r["join"]
    out = ["## Overlay (VXLAN across two host namespaces; from bench/overlay.py)", "",
           "| path | Gbit/s median (min–max) |", "|---|---|"]
    out += [f"| {k} | {_s(v)} |" for k, v in tp["gbps"].items()]
    out += ["", f"overlay / routed underlay = {tp['overlay_vs_routed']:.2f}; overlay / host-to-host = "
                f"{tp['overlay_vs_underlay']:.2f}. Join latency (connect on host A until a sandbox on "
                f"host B gets a ping reply): median {j['median_join_ms']:.1f} ms of {len(j['join_ms'])} "
                f"(the connect call itself {j['median_connect_call_ms']:.1f} ms)."]
    enc = r.get("join_encrypted")
    if enc and "encrypted_vs_wireguard" in tp:
        first = f"; a fresh host's first join {enc['median_first_join_ms']:.1f} ms" \
            if "median_first_join_ms" in enc else ""
        out += ["", f"Encrypted overlay (VXLAN inside WireGuard) / bare WireGuard between the same hosts = "
                    f"{tp['encrypted_vs_wireguard']:.2f} (target >= 0.8); encrypted join median "
                    f"{enc['median_join_ms']:.1f} ms (target <= 300){first}."]
    return out + [""]


def render(ex: dict) -> list[str]:
    return topology(ex) + port_cost(ex) + ports(ex) + iperf(ex) + dns(ex) + run(ex) + overlay(ex)


def _p95(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * 0.95))]
