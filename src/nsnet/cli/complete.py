"""Shell completion from the command table: `nsnet completion bash|zsh|fish`
prints a script; the script calls `nsnet __complete WORD...` (the words
after `nsnet`, the last one being completed), which prints one candidate a
line: commands, options, and the names of sandboxes, networks and processes
from the state (as --state-dir / --host-netns among the words say)."""

import os
import sys

from ..errors import InvalidInput
from .table import COMMANDS, GLOBAL

FILES = "__files__"  # tells the script to complete file names itself

BASH = r"""# nsnet completion for bash (and zsh through bashcompinit)
_nsnet_complete() {
    local IFS=$'\n' cur=${COMP_WORDS[COMP_CWORD]}
    local -a out
    out=($(nsnet __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
    if [[ ${out[0]} == __files__ ]]; then
        COMPREPLY=($(compgen -f -- "$cur"))
    else
        COMPREPLY=("${out[@]}")
    fi
}
complete -o filenames -F _nsnet_complete nsnet
"""

ZSH = "# nsnet completion for zsh\nautoload -U +X bashcompinit && bashcompinit\n" + BASH.split("\n", 1)[1]

FISH = r"""# nsnet completion for fish
function __nsnet_complete
    set -l out (nsnet __complete (commandline -opc)[2..-1] (commandline -ct) 2>/dev/null)
    if test "$out[1]" = __files__
        __fish_complete_path (commandline -ct)
    else
        printf '%s\n' $out
    end
end
complete -c nsnet -f -a '(__nsnet_complete)'
"""

SCRIPTS = {"bash": BASH, "zsh": ZSH, "fish": FISH}


def script(ctx, shell):
    """`nsnet completion SHELL`."""
    if shell not in SCRIPTS:
        raise InvalidInput(f"no completion for shell '{shell}' (bash, zsh or fish)")
    sys.stdout.write(SCRIPTS[shell])


def main(words: list[str]) -> int:
    """`nsnet __complete WORD...`: never fails loudly (a shell is waiting)."""
    try:
        found = candidates(words or [""])
    except Exception:
        return 0
    sys.stdout.write("".join(f"{c}\n" for c in found))
    return 0


def candidates(words: list[str]) -> list[str]:
    *before, current = words
    node, options, positionals, globals_ = COMMANDS, {n: o for o in GLOBAL for n in o.names}, [], {}
    pending = None  # the option whose value `current` is
    options_done = False
    for word in before:
        if pending is not None:
            if pending.dest in ("host_netns", "state_dir"):
                globals_[pending.dest] = word
            pending = None
        elif word == "--":
            options_done = True
        elif word.startswith("-") and not options_done:
            option = options.get(word.partition("=")[0])
            if option is not None and option.takes_value and "=" not in word:
                pending = option
        elif not hasattr(node, "handler"):
            node = node.commands.get(word)
            if node is None:
                return []
            if hasattr(node, "handler"):
                options.update({n: o for o in node.options for n in o.names})
        else:
            positionals.append(word)
    if pending is not None:
        return _values(pending.complete, current, globals_)
    if current.startswith("-") and not options_done:
        return sorted(n for n in options if n.startswith(current) and n.startswith("--")) or \
            sorted(n for n in options if n.startswith(current))
    if not hasattr(node, "handler"):
        return [name for name in node.commands if name.startswith(current)]
    arg = _positional(node, len(positionals))
    return _values(arg.complete if arg else None, current, globals_)


def _positional(command, index: int):
    for i, arg in enumerate(command.args):
        if i == index or (arg.many and i <= index):
            return None if arg.rest else arg  # the command line of `run` / `exec`: the shell's business
    return None


def _values(kind: str | None, current: str, globals_: dict) -> list[str]:
    if kind is None:
        return []
    if kind in ("file", "dir"):
        return [FILES]
    found: list[str] = []
    for what in kind.split():
        if "|" in what:
            found += what.split("|")
        elif what == "netns":
            found += sorted(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else []
        elif what == "process":
            from ..run import pslist

            state_dir = globals_.get("state_dir") or os.environ.get("NSNET_STATE_DIR") or pslist.DEFAULT_STATE_DIR
            found += [r["name"] for r in pslist.rows(state_dir)]
        else:
            found += _names(what, globals_)
    return [name for name in found if name.startswith(current)]


def _names(what: str, globals_: dict) -> list[str]:
    """Sandbox or network names, read through the engine (no kernel call)."""
    from ..engine import Engine

    with Engine(host_netns=globals_.get("host_netns"), state_dir=globals_.get("state_dir")) as engine:
        rows = engine.sandbox_ls() if what == "sandbox" else engine.network_ls()
    return [row["name"] for row in rows]
