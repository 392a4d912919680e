"""argv -> the command to run and its values, by the table (table.py).

As docker and most Unix tools: options and arguments may mix; global options
(--json, --host-netns, --state-dir, --store) work before or after the
command; `--name VALUE`, `--name=VALUE`, `-p VALUE`, `-pVALUE`, `-p=VALUE` and
bundled short flags (`-dit`, `-dp 80:80`) all work; `--` ends the options.
For commands that run a command line (`run`, `exec`) the options end at that
command line's first word: an option before it that nsnet does not know is a
usage error, never the command's name.
"""

import os

from ..errors import InvalidInput
from .table import COMMANDS, ENV, GLOBAL


class Usage(InvalidInput):
    """A command line that does not fit the table: one line and a hint, exit 2."""

    def __init__(self, message: str, path: list[str]):
        super().__init__(f"{message} (see '{' '.join(path)} --help')")


class Call:
    """What argv asks for: `command` (a Command, or a Group when only its help
    makes sense), the values of its options and arguments, the global options."""

    __slots__ = ("command", "globals", "help", "path", "values", "version")

    def __init__(self, command, path: list[str], values: dict, globals_: dict, help: bool, version: bool):
        self.command = command
        self.path = path
        self.values = values
        self.globals = globals_
        self.help = help
        self.version = version


def _defaults(options) -> dict:
    return {o.dest: (list(o.default) if o.multiple else o.default) for o in options}


class _State:
    """The walk through argv: where in the table we are and what was found."""

    def __init__(self):
        self.node = COMMANDS
        self.path = ["nsnet"]
        self.options = {name: o for o in GLOBAL for name in o.names}
        self.values: dict = {}
        self.globals = _defaults(GLOBAL)
        self.given: set = set()
        self.positionals: list[str] = []
        self.help = self.version = False

    def enter(self, name: str) -> None:
        sub = self.node.commands.get(name)
        if sub is None:
            raise Usage(f"unknown command '{name}'{_suggest(name, self.node.commands)}", self.path)
        self.node = sub
        self.path.append(name)
        if hasattr(sub, "handler"):
            self.options = {**self.options, **{name: o for o in sub.options for name in o.names}}
            self.values = _defaults(sub.options)

    def rest_starts_at(self) -> int | None:
        """Index of the positional from which the command line is taken as given."""
        for i, arg in enumerate(getattr(self.node, "args", ())):
            if arg.rest:
                return i
        return None

    def store(self, option, name: str, value: str | None) -> None:
        target = self.globals if option in GLOBAL else self.values
        self.given.add(option.dest)
        if not option.takes_value:
            target[option.dest] = True
            return
        if option.convert is not None:
            try:
                value = option.convert(value)
            except ValueError as exc:
                raise Usage(f"{name}: {exc}", self.path)
        if option.multiple:
            target[option.dest].append(value)
        else:
            target[option.dest] = value

    def lookup(self, name: str, shown: str):
        option = self.options.get(name)
        if option is None:
            raise Usage(f"unknown option '{shown}'", self.path)
        return option


def parse(argv: list[str]) -> Call:
    s = _State()
    i, options_done, rest = 0, False, False
    while i < len(argv):
        arg = argv[i]
        i += 1
        if rest:
            s.positionals.append(arg)
        elif arg == "--" and not options_done:
            options_done = True
        elif options_done or not arg.startswith("-") or arg == "-":
            if not hasattr(s.node, "handler"):
                s.enter(arg)
                continue
            s.positionals.append(arg)
            start = s.rest_starts_at()
            rest = start is not None and len(s.positionals) > start
        elif arg in ("-h", "--help"):
            s.help = True
        elif arg == "--version":
            s.version = True
        elif arg.startswith("--"):
            i = _long(s, argv, i, arg)
        else:
            i = _short(s, argv, i, arg)
    return _finish(s)


def _long(s: _State, argv: list[str], i: int, arg: str) -> int:
    name, eq, value = arg.partition("=")
    option = s.lookup(name, name)
    if not option.takes_value:
        if eq:
            raise Usage(f"option '{name}' takes no value", s.path)
        s.store(option, name, None)
        return i
    if not eq:
        if i >= len(argv):
            raise Usage(f"option '{name}' needs a value ({option.metavar})", s.path)
        value, i = argv[i], i + 1
    s.store(option, name, value)
    return i


def _short(s: _State, argv: list[str], i: int, arg: str) -> int:
    """-d, -dit (flags bundled), -p VALUE, -pVALUE, -p=VALUE, -dp VALUE."""
    for j in range(1, len(arg)):
        name = "-" + arg[j]
        if name == "-h":
            s.help = True
            continue
        option = s.lookup(name, name if len(arg) == 2 else f"{name}' in '{arg}")
        if not option.takes_value:
            s.store(option, name, None)
            continue
        value = arg[j + 1:]
        if value.startswith("="):
            value = value[1:]
        elif not value:
            if i >= len(argv):
                raise Usage(f"option '{name}' needs a value ({option.metavar})", s.path)
            value, i = argv[i], i + 1
        s.store(option, name, value)
        break
    return i


def _finish(s: _State) -> Call:
    for option in GLOBAL:
        if option.dest in ENV and option.dest not in s.given:
            s.globals[option.dest] = os.environ.get(ENV[option.dest]) or None
    node = s.node
    if s.help or s.version or not hasattr(node, "handler"):
        return Call(node, s.path, s.values, s.globals, s.help or not s.version, s.version)
    values, left = s.values, list(s.positionals)
    for arg in node.args:
        if arg.many:
            taken, left = left, []
            if arg.required and not taken:
                raise Usage(f"missing {arg.metavar}" + ("..." if not arg.rest else " [ARGS...]"), s.path)
            values[arg.dest] = tuple(taken)
        elif left:
            values[arg.dest] = left.pop(0)
        elif arg.required:
            raise Usage(f"missing {arg.metavar}", s.path)
        else:
            values[arg.dest] = None
    if left:
        raise Usage(f"unexpected argument '{left[0]}'", s.path)
    for option in node.options:
        if option.required and option.dest not in s.given:
            raise Usage(f"missing option '{option.names[-1]}' ({option.metavar})", s.path)
        if option.multiple:
            values[option.dest] = tuple(values[option.dest])
    return Call(node, s.path, values, s.globals, False, False)


def _suggest(word: str, names) -> str:
    """ "; did you mean 'x'?" for a near miss (difflib only on this error path)."""
    import difflib

    close = difflib.get_close_matches(word, list(names), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""
