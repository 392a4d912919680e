"""The targets nsnet's issues set, checked against one results file.  A row is
(target, what was measured, verdict); the verdict is an observation on this
machine under the load it had, never a test result."""

import statistics

MET, MISSED, NONE = "met", "**not met**", "not measured"


def _verdict(ok) -> str:
    return NONE if ok is None else (MET if ok else MISSED)


def _get(table, tool, n, *keys):
    f = table.get(tool, {}).get(n)
    for k in keys:
        if not f:
            return None
        f = f.get(k)
    return f


def _med(runs, tool, key):
    xs = [r[key] for r in runs if r.get("tool") == tool and key in r and "error" not in r]
    return statistics.median(xs) if xs else None


def _runs(data, tool, n) -> list[dict]:
    return [r for r in data.get("attach", []) if r["tool"] == tool and r["n"] == n and "error" not in r]


def _quietest(data, tool, n) -> dict | None:
    runs = _runs(data, tool, n)
    return min(runs, key=lambda r: r.get("other_cpu_pct", 0)) if runs else None


def _paired(data, a, b, n, fn) -> list[tuple]:
    """fn(run of a, run of b) for every round that has both: (value, other CPU of the busier)."""
    rb = {r["round"]: r for r in _runs(data, b, n)}
    return [(fn(r, rb[r["round"]]), max(r.get("other_cpu_pct", 0), rb[r["round"]].get("other_cpu_pct", 0)))
            for r in _runs(data, a, n) if r["round"] in rb]


def _med_ms(run) -> float:
    return statistics.median(run["sandbox_ms"])


def attach_rows(table, data) -> list[tuple]:
    rows = []
    med, p90 = _get(table, "nsnet", 200, "sandbox", "median"), _get(table, "nsnet", 200, "sandbox", "p90")
    q = _quietest(data, "nsnet", 200)
    quiet = f"; quietest round {_med_ms(q):.2f} ms (other CPU {q.get('other_cpu_pct', 0):.0f}%)" if q else ""
    rows.append(("attach (create netns + connect) ≤ 3 ms at N=200",
                 "–" if med is None else f"{med:.2f} ms median, p90 {p90:.2f}{quiet}",
                 _verdict(None if med is None else med <= 3.0)))
    pairs = _paired(data, "nsnet", "cni-bridge", 200, lambda a, b: _med_ms(b) / _med_ms(a))
    ratio = statistics.median(v for v, _ in pairs) if pairs else None
    per = ", ".join(f"{v:.1f}× (other CPU ≤ {c:.0f}%)" for v, c in pairs)
    rows.append(("≥ 4× faster than the CNI bridge plugin at N=200",
                 "–" if ratio is None else f"{ratio:.1f}×, median of rounds: {per}",
                 _verdict(None if ratio is None else ratio >= 4)))
    pairs = _paired(data, "nsnet", "floor", 200, lambda a, b: _med_ms(a) / _med_ms(b))
    if pairs:
        ratio = statistics.median(v for v, _ in pairs)
        per = ", ".join(f"{v:.2f}× (other CPU ≤ {c:.0f}%)" for v, c in pairs)
        floor = statistics.median(_med_ms(r) for r in _runs(data, "floor", 200))
        rows.append(("attach ≤ 1.5× the kernel floor at N=200 (the same kernel work, prebuilt messages)",
                     f"{ratio:.2f}× (floor {floor:.2f} ms), median of rounds: {per}", _verdict(ratio <= 1.5)))
    diffs = {}  # per N: median over rounds of (with port - without), both runs from the same round
    for n in sorted(table.get("nsnet-port", {})):
        pairs = _paired(data, "nsnet-port", "nsnet", n, lambda a, b: _med_ms(a) - _med_ms(b))
        if pairs:
            diffs[n] = statistics.median(v for v, _ in pairs)
    pc = data.get("extras", {}).get("port_cost", {})
    grid = "attach grid, paired by round: " + ", ".join(f"N={n} {d:+.2f}" for n, d in diffs.items()) if diffs else ""
    if "added_ms" in pc:
        worst = max(pc["added_ms"], pc["added_first_quarter_ms"], pc["added_last_quarter_ms"])
        rows.append(("one published port adds ≤ 0.5 ms, flat in N",
                     f"{pc['added_ms']:+.2f} ms over {2 * pc['n']} interleaved attaches (first quarter "
                     f"{pc['added_first_quarter_ms']:+.2f}, last {pc['added_last_quarter_ms']:+.2f}); {grid} ms",
                     _verdict(worst <= 0.5)))
    else:
        rows.append(("one published port adds ≤ 0.5 ms, flat in N", f"{grid} ms" if grid else "–",
                     _verdict(None if not diffs else all(d <= 0.5 for d in diffs.values()))))
    ds = data.get("extras", {}).get("dual_stack", {})
    if "ratio" in ds:
        rows.append((f"a dual-stack attach ≤ 1.3× an IPv4-only one at N={ds['n']}",
                     f"{ds['ratio']:.2f}× ({ds['dual_ms']:.2f} against {ds['ipv4_ms']:.2f} ms, interleaved; first "
                     f"quarter {ds['ratio_first_quarter']:.2f}×, last {ds['ratio_last_quarter']:.2f}×)",
                     _verdict(ds["ratio"] <= 1.3)))
    cli = {n: ms for n in sorted(table.get("nsnet-cli", {}))
           if (ms := _get(table, "nsnet-cli", n, "sandbox", "median")) is not None}
    if cli:
        rows.append(("`nsnet sandbox create --network` ≤ 25 ms per process (#21)",
                     ", ".join(f"N={n} {ms:.1f} ms" for n, ms in cli.items()), _verdict(max(cli.values()) <= 25)))
    td = _get(table, "nsnet", 200, "teardown_total_s")
    rows.append(("teardown of 200 sandboxes ≤ 0.3 s (#21; was ≤ 1 s)", "–" if td is None else f"{td:.2f} s",
                 _verdict(None if td is None else td <= 0.3)))
    return rows


def paired_gbit(ip: dict, a: str, b: str) -> float:
    """Median over rounds of a/b, both measured back to back in the same round."""
    return statistics.median(x / y for x, y in zip(ip["samples"][a], ip["samples"][b], strict=True))


def extra_rows(ex: dict) -> list[tuple]:
    rows = []
    ip = ex.get("iperf", {})
    if "raw_bridge" in ip:
        r1, r2 = paired_gbit(ip, "nsnet_bridge", "raw_bridge"), paired_gbit(ip, "published", "direct")
        rows += [("bridge throughput ≥ 0.95× a hand-made bridge", f"{r1:.3f}× (median of per-round ratios; medians "
                  f"{ip['nsnet_bridge']:.1f} vs {ip['raw_bridge']:.1f} Gbit/s)", _verdict(r1 >= 0.95)),
                 ("published port ≥ 0.9× the same server reached directly", f"{r2:.3f}× (same; {ip['published']:.1f} "
                  f"vs {ip['direct']:.1f} Gbit/s)", _verdict(r2 >= 0.9))]
    topo = ex.get("topology", {})
    runs = topo.get("runs", [])
    for key, label, limit in (("up_s", "up", 1.0), ("down_s", "down", 1.0), ("noop_s", "no-change up", 0.3)):
        api, cli = _med(runs, "nsnet-api", key), _med(runs, "nsnet-cli", key)
        best = min((r[key] for r in runs if r.get("tool") == "nsnet-api" and key in r), default=None)
        if api is not None:
            rows.append((f"topology of {topo['n']} sandboxes: {label} ≤ {limit:g} s",
                         f"API {api:.2f} s (best round {best:.2f}), CLI {cli:.2f} s" if cli is not None
                         else f"API {api:.2f} s",
                         _verdict(api <= limit) + ("" if cli is None or (cli <= limit) == (api <= limit)
                                                   else f" (CLI {_verdict(cli <= limit)})")))
    dns = ex.get("dns", {})
    if dns.get("runs"):
        eight = dns["runs"][-1]
        rss = max(dns["rss_mb"], dns.get("rss_after_mb", 0))
        rows += [(f"DNS ≥ 50,000 queries/s ({eight['clients']} clients)", f"{eight['qps']:,.0f} q/s",
                  _verdict(eight["qps"] >= 50000)),
                 ("DNS p99 latency ≤ 1 ms", f"{eight['p99_ms']:.2f} ms", _verdict(eight["p99_ms"] <= 1)),
                 (f"DNS server RSS ≤ 40 MB ({dns['names']:,} names)", f"{rss:.1f} MB", _verdict(rss <= 40))]
    def med_p95(xs):
        xs = sorted(xs)
        return statistics.median(xs), xs[min(len(xs) - 1, int(len(xs) * 0.95))]

    fixture, lab = dns.get("fixture"), dns.get("lab", {}).get("dns")
    if fixture:  # the per-test lab as the nsnet_lab fixture makes it; the other ways of using it beside it
        med, p95 = med_p95(fixture["body_100ms"])
        also = "; back to back {:.1f} (p95 {:.1f})".format(*med_p95(fixture["back_to_back"]))
        if lab:
            also += "; call by call on one host {:.1f} (p95 {:.1f})".format(*med_p95(lab["total_ms"]))
        rows.append(("5-sandbox per-test lab with DNS ≤ 30 ms median, ≤ 50 ms p95 (the `nsnet_lab` fixture, "
                     "tests with a 100 ms body)", f"{med:.1f} ms, p95 {p95:.1f} ms{also}",
                     _verdict(med <= 30 and p95 <= 50)))
    elif lab:
        med, p95 = med_p95(lab["total_ms"])
        rows.append(("5-sandbox lab with DNS ≤ 30 ms median, ≤ 50 ms p95", f"{med:.1f} ms, p95 {p95:.1f} ms",
                     _verdict(med <= 30 and p95 <= 50)))
    run = ex.get("run", {})
    if "overhead_cli" in run:
        rows += [("`nsnet run -d` to a listening server: overhead ≤ 40 ms (#21; was ≤ 50)",
                  f"CLI {run['overhead_cli']:.0f} ms, API {run['overhead_api']:.0f} ms",
                  _verdict(run["overhead_cli"] <= 40) + ("" if run["overhead_cli"] <= 40 else
                                                         f" (API {_verdict(run['overhead_api'] <= 40)})")),
                 ("`nsnet ps` start-up ≤ 20 ms", f"{run['ps_cli']['median']:.0f} ms",
                  _verdict(run["ps_cli"]["median"] <= 20))]
    ov = ex.get("overlay", {})
    if "throughput" in ov:
        r = ov["throughput"]["overlay_vs_routed"]
        j = ov["join"]["median_join_ms"]
        rows += [("overlay throughput ≥ 0.8× routed underlay", f"{r:.2f}×", _verdict(r >= 0.8)),
                 ("overlay join (connect until the other host pings it) ≤ 200 ms", f"{j:.0f} ms",
                  _verdict(j <= 200))]
    return rows


def render(table, data: dict) -> list[str]:
    rows = attach_rows(table, data) + extra_rows(data.get("extras", {}))
    out = ["| target | measured | verdict |", "|---|---|---|"]
    out += [f"| {t} | {m} | {v} |" for t, m, v in rows]
    return out
