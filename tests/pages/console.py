"""Console blocks of the docs, run as a user types them and compared with what
they show.

A block is ```console with `$ COMMAND` lines, each followed by the output it
shows. Every command runs through a bash of its own (comments, pipes and `>` as
in a shell; files are what carries over from one command to the next, not
`cd` or variables)
with the page's environment (conftest.py: a throwaway host namespace and state
directory in NSNET_HOST_NETNS / NSNET_STATE_DIR, .venv/bin first on PATH), its
stdout and stderr together as a terminal shows them. The comparison:

- a line `...` stands for any number of lines (none too);
- a command must succeed, unless its comment says which exit it ends with:
  `$ nsnet exec web1 -- getent hosts db1   # not found (exit 2)`;
- both sides go through NORMALISE first: the parts that legitimately vary
  from run to run, in this one place.
"""

import re
import subprocess

# What varies from one run to the next, on both sides of the comparison. The
# page's host namespace name is handled apart (normalise() below): sandboxes of
# a host namespace are NAME-SANDBOX, shown in the docs as SANDBOX.
NORMALISE = [
    (re.compile(r"\bnsv\d+\b"), "nsvN"),  # host-side veth names count up per state dir
    (re.compile(r"\b\d+(\.\d+)? (s|ms)\b"), "T \\2"),  # timings
    (re.compile(r"[ \t]+$", re.M), ""),  # trailing blanks of table cells
]
ANY_LINES = "..."
EXIT = re.compile(r"#.*\(exit (\d+)\)\s*$")
TIMEOUT = 120


def normalise(text: str, host: str) -> str:
    # The pages show commands as on a machine whose own namespace is the host;
    # a page runs in a throwaway host namespace, which nsnet names in every
    # command it prints for the host (ip -n HOST ..., ip netns exec HOST nft ...).
    for tool in ("ip", "bridge", "tc"):
        text = text.replace(f"{tool} -n {host} ", f"{tool} ")
    text = text.replace(f"ip netns exec {host} ", "")
    text = text.replace(f"{host}-", "").replace(host, "HOST")
    for pattern, repl in NORMALISE:
        text = pattern.sub(repl, text)
    return text.rstrip("\n")


def commands(block: str) -> list[tuple[str, list[str]]]:
    """[(command, expected output lines)] of a console block."""
    out: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            out.append((line[2:], []))
        elif out:
            out[-1][1].append(line)
        elif line.strip():
            raise ValueError(f"console block: output before the first command: {line!r}")
    return out


def matches(expected: list[str], actual: str) -> bool:
    parts = [r"(?:[^\n]*\n)*?" if line.strip() == ANY_LINES else re.escape(line) + r"\n" for line in expected]
    return re.fullmatch("".join(parts), actual + "\n" if actual else "") is not None


def run(command: str, env: dict, cwd: str) -> tuple[int, str]:
    proc = subprocess.run(["bash", "-c", command], env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=TIMEOUT)
    return proc.returncode, proc.stdout


def evaluate(block: str, env: dict, cwd: str, host: str) -> str | None:
    """None when every command gives what the block shows; else what differed."""
    for command, expected in commands(block):
        code, output = run(command, env, cwd)
        want_code = int(m.group(1)) if (m := EXIT.search(command)) else 0
        actual = normalise(output, host)
        want = [normalise(line, host) for line in expected]
        if code != want_code or not matches(want, actual):
            return (f"$ {command}\n--- the doc shows (exit {want_code}):\n" + "\n".join(want)
                    + f"\n--- it gives (exit {code}):\n{actual}")
    return None
