"""PNG plots of per-sandbox times vs N (matplotlib, Agg backend)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # after choosing the backend
from matplotlib.ticker import NullFormatter, ScalarFormatter


def _plot(table: dict, tools: dict, key: str, title: str, path: Path) -> Path | None:
    fig, ax = plt.subplots(figsize=(9, 5), dpi=110)
    colors = plt.get_cmap("tab10").colors
    bases = sorted({t.removesuffix("-port") for t in table if not t.startswith("nsnet")})
    allns: set = set()
    names = sorted(table, key=lambda t: (not t.startswith("nsnet"), tools.get(t, {}).get("label", t)))
    for name in names:
        pts = sorted((n, f[key]) for n, f in table[name].items() if f.get(key))
        if not pts:
            continue
        info = tools.get(name, {})
        ns = [n for n, _ in pts]
        allns.update(ns)
        med = [s["median"] for _, s in pts]
        mine = name.startswith("nsnet")
        base = name.removesuffix("-port")  # a peer and its +port variant share a colour
        color = "black" if mine else colors[bases.index(base) % len(colors)]
        ls = "--" if info.get("batch") else (":" if info.get("ports") else "-")
        if name == "nsnet-cli":  # a process per sandbox: set apart from the API
            color, ls = "dimgray", "-."
        ax.plot(ns, med, ls, marker="s" if info.get("ports") else "o", color=color,
                linewidth=3 if mine else 1.5, label=info.get("label", name))
        if mine or not info.get("batch"):
            ax.fill_between(ns, [s["p10"] for _, s in pts], [s["p90"] for _, s in pts],
                            color=color, alpha=0.15 if mine else 0.05)
    if not allns:
        plt.close(fig)
        return None
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(sorted(allns))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_major_formatter(ScalarFormatter())
    ax.set_xlabel("N sandboxes on one bridge")
    ax.set_ylabel("ms per sandbox (median; band p10-p90)")
    ax.set_title(title + "  (dashed: batch, total/N; dotted: with a published port; black: nsnet)",
                 fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def write_plots(table: dict, tools: dict, img_dir: Path) -> list[Path]:
    made = [
        _plot(table, tools, "sandbox", "Create netns + attach, per sandbox",
              img_dir / "bench-attach.png"),
        _plot(table, tools, "teardown", "Teardown, per sandbox", img_dir / "bench-teardown.png"),
    ]
    return [p for p in made if p]
