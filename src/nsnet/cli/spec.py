"""The shapes of the command table (table.py): options, arguments, commands and
groups. Plain classes, no imports: every `nsnet` process loads this module,
and `import dataclasses` alone would cost ~10 ms of start-up."""


class Option:
    """`-p, --publish VALUE`: a flag (no value), a value (the last one given
    wins) or a repeatable value (a tuple, in the order given)."""

    __slots__ = ("complete", "convert", "default", "dest", "help", "metavar", "multiple", "names", "required",
                 "takes_value")

    def __init__(self, *names: str, help: str, dest: str | None = None, flag: bool = False, multiple: bool = False,
                 metavar: str = "TEXT", default=None, convert=None, required: bool = False,
                 complete: str | None = None):
        self.names = names
        self.dest = dest or max(names, key=len).lstrip("-").replace("-", "_")
        self.takes_value = not flag
        self.multiple = multiple
        self.metavar = metavar if not flag else ""
        self.help = help
        self.default = False if flag else (() if multiple else default)
        self.convert = convert  # str -> value; raises ValueError with the reason
        self.required = required
        self.complete = complete  # what completes its value: sandbox, network, process, file, or a|b|c choices


class Arg:
    """A positional argument. `many`: one or more (or none, if not required);
    `rest`: the command line from here on, as given (`run ... CMD ARGS`)."""

    __slots__ = ("complete", "dest", "many", "metavar", "required", "rest")

    def __init__(self, dest: str, metavar: str | None = None, required: bool = True, many: bool = False,
                 rest: bool = False, complete: str | None = None):
        self.dest = dest
        self.metavar = metavar or dest.upper()
        self.required = required
        self.many = many or rest
        self.rest = rest
        self.complete = complete


class Command:
    """A command: what it does (help: a summary line, then more), its arguments
    and options, and its handler as "module:function" under nsnet.cli, imported
    only when the command runs."""

    __slots__ = ("args", "handler", "help", "name", "options")

    def __init__(self, name: str, handler: str, help: str, args: tuple = (), options: tuple = ()):
        self.name = name
        self.handler = handler
        self.help = help
        self.args = args
        self.options = options


class Group:
    """A command with subcommands (`nsnet network ...`)."""

    __slots__ = ("commands", "help", "name")

    def __init__(self, name: str, help: str, commands: tuple):
        self.name = name
        self.help = help
        self.commands = {c.name: c for c in commands}


def integer(low: int | None = None, high: int | None = None):
    """A converter: digits (with an optional minus sign) within [low, high]."""

    def convert(text: str) -> int:
        digits = text[1:] if text.startswith("-") else text
        if not (digits.isascii() and digits.isdigit()):
            raise ValueError(f"'{text}' is not a whole number")
        return _within(int(text), low, high)

    return convert


def number(low: float | None = None, high: float | None = None):
    """A converter: a decimal number within [low, high]."""

    def convert(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"'{text}' is not a number")
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"'{text}' is not a number")
        return _within(value, low, high)

    return convert


def _within(value, low, high):
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"{low}..{high}" if low is not None and high is not None else \
            (f">= {low}" if low is not None else f"<= {high}")
        raise ValueError(f"{value} is out of range ({bounds})")
    return value
