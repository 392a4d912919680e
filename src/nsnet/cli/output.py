"""Rendering: rich tables for people, JSON for machines.

rich is imported on first use (`output.console`): a command that prints one
plain line, or JSON, does not pay ~50 ms for it."""

import json
import sys

_consoles: dict = {}


def __getattr__(name):
    if name in ("console", "err_console"):
        if name not in _consoles:
            from rich.console import Console

            # soft_wrap: never break a line (commands printed here must stay runnable)
            _consoles[name] = Console(stderr=name == "err_console", soft_wrap=True)
        return _consoles[name]
    raise AttributeError(name)


def error(message: str) -> None:
    """One plain line on stderr (never wrapped: scripts grep these)."""
    sys.stderr.write(f"nsnet: error: {message}\n")


def warning(message: str) -> None:
    sys.stderr.write(f"nsnet: warning: {message}\n")


def emit_json(data) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def table(rows: list[dict], columns: list[tuple[str, str]], title: str | None = None) -> None:
    """columns: [(key, header)]; lists are joined with ', '."""
    from rich.table import Table

    t = Table(title=title, title_justify="left", title_style="bold", header_style="bold", box=None,
              pad_edge=False)
    for _, header in columns:
        t.add_column(header)
    for row in rows:
        cells = []
        for key, _ in columns:
            value = row.get(key)
            if isinstance(value, (list, tuple)):
                value = ", ".join(str(v) for v in value)
            cells.append("" if value is None else str(value))
        t.add_row(*cells)
    __getattr__("console").print(t)


def commands(lines: list[str], header: str | None = None) -> None:
    if header:
        __getattr__("console").print(f"[dim]# {header}[/dim]")
    for line in lines:
        sys.stdout.write(line + "\n")


def line(text: str) -> None:
    """One plain line on stdout (no markup, no wrapping, no rich import)."""
    sys.stdout.write(text + "\n")


def kv(data: dict, title: str) -> None:
    console = __getattr__("console")
    console.print(f"[bold]{title}[/bold]")
    for key, value in data.items():
        if isinstance(value, (list, dict)):
            continue
        console.print(f"  {key:<12} {'' if value is None else value}", highlight=False)
