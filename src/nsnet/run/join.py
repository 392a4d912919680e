"""`nsnet exec` into a sandbox whose process has a PID namespace of its own
(`run --isolate-pid`): the command joins that process's namespaces (network;
mounts: its /proc, /sys and /etc files; PID), as `docker exec` does, and sees
the processes it sees. A process cannot enter a PID namespace itself (setns
applies to the children it makes next), so nsnet forks the command and waits
for it: the exit code, Ctrl-C and the terminal pass as with `run`."""

import os

from ..kernel import process
from . import foreground, spawn
from .launch import Launch


def exec_joined(pid: int, argv: list[str]) -> int:
    """Run argv in the namespaces of process `pid`; its exit code (StartError
    if it cannot start: 127 not found, 126 not executable)."""
    process.join(pid)
    launch = Launch(argv, dict(os.environ), None, None, tty=foreground.terminal())
    child, leader = spawn.start_foreground(launch)
    return foreground.wait(child, leader, launch.tty)
