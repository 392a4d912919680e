"""Rendering: plain tables for people, JSON for machines.

Plain text only, written as is: names, MACs, commands and kernel messages
print verbatim (a terminal library that reads markup or emoji codes in them,
as rich did with `:cd:` in a MAC, cannot alter them), and no library costs
start-up time."""

import sys


def visible(text: str) -> str:
    """`text` as is, but control characters (a newline in a name given on the
    command line, a terminal escape in an interface name) as Python writes them
    in a string (\\n, \\x1b): an error stays one line and a table one row per
    object, and nothing printed steers the terminal."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def error(message: str) -> None:
    """One plain line on stderr (never wrapped: scripts grep these)."""
    sys.stderr.write(f"nsnet: error: {visible(message)}\n")


def warning(message: str) -> None:
    sys.stderr.write(f"nsnet: warning: {visible(message)}\n")


def emit_json(data) -> None:
    import json  # imports re: only when asked for

    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def line(text: str) -> None:
    sys.stdout.write(text + "\n")


def cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):  # as in JSON, not Python's True
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return visible(", ".join(str(v) for v in value))
    return visible(str(value))


def table(rows: list[dict], columns: list[tuple[str, str]], title: str | None = None) -> None:
    """columns: [(key, HEADER)]; columns two spaces apart, no trailing blanks."""
    grid = [[header for _, header in columns]] + [[cell(row.get(key)) for key, _ in columns] for row in rows]
    sys.stdout.write(render(grid, title))


def render(grid: list[list[str]], title: str | None = None, centred: frozenset = frozenset()) -> str:
    """Rows of cells as aligned text; the columns whose index is in `centred`
    are centred (the reachability matrix)."""
    widths = [max(len(r[i]) for r in grid) for i in range(len(grid[0]))]
    out = [title] if title else []
    for r in grid:
        cells = [c.center(w) if i in centred else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        out.append("  ".join(cells).rstrip())
    return "\n".join(out) + "\n"


def names(rows: list[dict], key: str = "name") -> None:
    """`ls -q`: one name per line."""
    sys.stdout.write("".join(f"{row[key]}\n" for row in rows))


def commands(lines: list[str], header: str | None = None) -> None:
    """Commands, one per line and never wrapped: they are meant to be copied."""
    sys.stdout.write("".join(f"{text}\n" for text in ([f"# {header}"] if header else []) + list(lines)))


def kv(data: dict, title: str) -> None:
    out = [title]
    for key, value in data.items():
        if not isinstance(value, (list, dict)):
            out.append(f"  {key:<12} {cell(value)}".rstrip())
    sys.stdout.write("\n".join(out) + "\n")


def result(result, summary: str, as_json: bool) -> None:
    """Dry runs print their commands; real runs print a summary (or JSON) and
    their warnings."""
    if as_json:
        return emit_json(result)
    if isinstance(result, dict) and result.get("dry_run"):
        return commands(result["commands"], "dry run: nothing was changed")
    line(summary)
    if isinstance(result, dict):  # what a best-effort teardown or the work after the commit could not do
        for problem in result.get("errors", []) + result.get("warnings", []):
            warning(problem)
