"""pid 1 of an isolated sandbox (`--isolate-pid`): reaps every process that
ends up its child (orphans are re-parented to pid 1), and exits with the
command's code once the command exits; the kernel then kills whatever is left
in the namespace. Signals are not forwarded: nsnet signals the command's whole
process group, which the command shares with this init."""

import os

from .procfs import wait_status_code


def reap_until(child: int) -> int:
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 255  # cannot happen while the command is our child
        if pid == child:
            return wait_status_code(status)


def main(args: list[str]) -> None:
    try:
        from ..kernel.process import set_name

        set_name("nsnet-init")
    except (ImportError, OSError):
        pass
    code = reap_until(int(args[0]))
    os._exit(code)
