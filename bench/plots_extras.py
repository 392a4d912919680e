"""PNG plots of the extras: topology up/down, iperf3 paths, port add/remove vs count."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # after choosing the backend

from .report_extras import IPERF, LABELS
from .stats import summary


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def topology(rec: dict, path: Path) -> Path | None:
    runs = [r for r in (rec or {}).get("runs", []) if "error" not in r]
    tools = [t for t in LABELS if any(r["tool"] == t for r in runs)]
    if not tools:
        return None
    fig, ax = plt.subplots(figsize=(8, 4.2), dpi=110)
    phases = [("up_s", "up"), ("noop_s", "no-change up"), ("down_s", "down")]
    width = 0.8 / len(phases)
    for k, (key, label) in enumerate(phases):
        meds, lo, hi = [], [], []
        for t in tools:
            xs = [r[key] for r in runs if r["tool"] == t and key in r]
            s = summary(xs) if xs else {"median": 0, "min": 0, "max": 0}
            meds.append(s["median"])
            lo.append(s["median"] - s["min"])
            hi.append(s["max"] - s["median"])
        xs = [i + (k - 1) * width for i in range(len(tools))]
        ax.bar(xs, meds, width, yerr=[lo, hi], capsize=3, label=label)
    ax.axhline(1.0, color="grey", ls="--", lw=1)
    ax.set_xticks(range(len(tools)), [LABELS[t].split(" (")[0].split(",")[0] for t in tools])
    ax.set_ylabel("seconds (median, min-max)")
    ax.set_title(f"Topology of {rec['n']} sandboxes: up / no-change up / down (dashed: 1 s target)", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(True, axis="y", alpha=0.3)
    return _save(fig, path)


def iperf(rec: dict, path: Path) -> Path | None:
    if not rec or "samples" not in rec:
        return None
    fig, ax = plt.subplots(figsize=(8, 4.2), dpi=110)
    labels = [label for _, label in IPERF]
    vals = [rec["samples"][k] for k, _ in IPERF]
    meds = [summary(v)["median"] for v in vals]
    colors = ["grey", "grey", "black", "tab:blue", "tab:blue"]
    ax.barh(range(len(labels)), meds, color=colors)
    for i, v in enumerate(vals):
        ax.plot(v, [i] * len(v), "o", color="orange", ms=4)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("Gbit/s (bar: median; dots: rounds)")
    ax.set_title("iperf3, one TCP stream", fontsize=10)
    ax.grid(True, axis="x", alpha=0.3)
    return _save(fig, path)


def ports(rec: dict, path: Path) -> Path | None:
    if not rec or "add_ms" not in rec:
        return None
    fig, ax = plt.subplots(figsize=(8, 4.2), dpi=110)
    add, rm = rec["add_ms"], rec["rm_ms"]
    ax.plot(range(1, len(add) + 1), add, ".", ms=2, alpha=0.5, label="add the k-th port (k-1 present)")
    ax.plot(range(len(rm), 0, -1), rm, ".", ms=2, alpha=0.5, label="remove a port (k present)")
    ax.set_yscale("log")
    ax.set_xlabel("ports published on the sandbox (k)")
    ax.set_ylabel("ms per call")
    ax.set_title(f"{rec['count']:,} ports on one sandbox", fontsize=10)
    ax.legend(fontsize=8, markerscale=4)
    ax.grid(True, which="both", alpha=0.3)
    return _save(fig, path)


def write(extras: dict, img_dir: Path) -> list[Path]:
    made = [topology(extras.get("topology"), img_dir / "bench-topology.png"),
            iperf(extras.get("iperf"), img_dir / "bench-iperf.png"),
            ports(extras.get("ports"), img_dir / "bench-ports.png")]
    return [p for p in made if p]
