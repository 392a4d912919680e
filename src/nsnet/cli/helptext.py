"""--help, rendered from the command table: usage, description, arguments
and options (the global ones too), or a group's commands."""

from .table import GLOBAL

HELP_LINE = ("-h, --help", "Show this help.")


def render(node, path: list[str]) -> str:
    prog = " ".join(path)
    if not hasattr(node, "handler"):
        return _group(node, prog, top=len(path) == 1)
    usage = f"Usage: {prog}" + (" [OPTIONS]" if node.options else "")
    for arg in node.args:
        shown = arg.metavar + ("..." if arg.many and not arg.rest else "")
        if arg.rest:
            shown = f"[--] {arg.metavar} [ARGS...]"
        usage += " " + (shown if arg.required else f"[{shown}]")
    parts = [usage, _indent(node.help)]
    parts.append("Options:\n" + _rows([(_names(o), _help(o)) for o in node.options] + [HELP_LINE]))
    parts.append("Global options (before or after the command):\n" + _rows([(_names(o), o.help) for o in GLOBAL]))
    return "\n\n".join(parts) + "\n"


def _group(group, prog: str, top: bool) -> str:
    parts = [f"Usage: {prog}{' [OPTIONS]' if top else ''} COMMAND [ARGS]...", _indent(group.help)]
    if top:
        parts.append("Options (before or after the command):\n" + _rows(
            [(_names(o), o.help) for o in GLOBAL] + [("--version", "Print the version."), HELP_LINE]))
    parts.append("Commands:\n" + _rows([(name, sub.help.split("\n", 1)[0]) for name, sub in group.commands.items()]))
    parts.append(f"Run '{prog} COMMAND --help' for more on a command."
                 + ("\nShell completion: see 'nsnet completion --help'." if top else ""))
    return "\n\n".join(parts) + "\n"


def _names(option) -> str:
    shown = ", ".join(option.names)
    return f"{shown} {option.metavar}" if option.takes_value else shown


def _help(option) -> str:
    if option.takes_value and not option.multiple and option.default is not None:
        return f"{option.help}  [default: {option.default}]"
    return option.help


def _rows(rows: list[tuple[str, str]]) -> str:
    width = min(max(len(left) for left, _ in rows), 28)
    lines = []
    for left, text in rows:
        if len(left) > width:
            lines.append(f"  {left}\n  {'':{width}}  {text}")
        else:
            lines.append(f"  {left:{width}}  {text}")
    return "\n".join(lines)


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" if line else "" for line in text.split("\n"))
