"""The child side of a start: runs in a freshly forked process and never
returns (it execs the command or exits).

Plain:   child = the command: own process group, enters the sandbox, execs.
Isolated (--isolate-pid), after the parent unshared CLONE_NEWPID:
         child = pid 1 of the new PID namespace: own process group, enters the
         sandbox, mounts a /proc of its own and execs the command, which is
         pid 1 (as with `docker run`). With init (`--init`) it forks the
         command (pid 2) instead and becomes a tiny init that reaps every
         zombie and exits with the command's code (the kernel then kills what
         is left).
In the foreground the CLI must not unshare its own PID namespace (its later
forks would fail), so a relay process does it and passes the exit code on.

Errors before exec go to the parent over `status_w` ("err ERRNO STAGE"); the
pipe is close-on-exec, so EOF without a message means the exec succeeded.
"""

import os
import signal
import sys

from ..kernel import process
from ..plain import PlainData
from . import procfs
from .foreground import give_terminal

RESET_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGPIPE,
                 signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU, signal.SIGCHLD, signal.SIGUSR1,
                 signal.SIGUSR2, signal.SIGALRM, signal.SIGXFSZ)
# What a relay / init must survive: signals meant for the command's group.
SHIELD_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGPIPE,
                  signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM)
BOOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_boot.py")


class Launch(PlainData):
    def __init__(self, argv: list[str], env: dict[str, str], workdir: str | None, netns: str | None,
                 isolate_pid: bool = False, init: bool = False, tty: int | None = None, pty: int | None = None,
                 hostname: str | None = None):
        self.argv = argv
        self.env = env  # the complete environment of the command
        self.workdir = workdir
        self.netns = netns  # None: stay in the caller's network namespace
        self.isolate_pid = isolate_pid
        self.init = init  # with isolate_pid: a reaping init is pid 1 (else the command is)
        self.tty = tty  # foreground on a terminal: the command's group takes it
        self.pty = pty  # run -t: the slave end of a pseudo-terminal, the command's stdio and terminal
        self.hostname = hostname  # the sandbox's (its UTS namespace, made by its first command); None: the caller's


def report(fd: int, err: int, stage: str) -> None:
    try:
        os.write(fd, f"err {err} {stage}\n".encode())
    except OSError:
        pass


def _setup_fds(keep: int, stdio: tuple | None) -> None:
    if stdio is not None:
        for target, fd in enumerate(stdio):
            os.dup2(fd, target)
    os.closerange(3, keep)
    os.closerange(keep + 1, 1 << 20)


def _own_group(launch: Launch) -> None:
    """A process group of its own; with a pty, a session whose terminal it is."""
    if launch.pty is not None:
        import fcntl
        import termios

        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        return
    os.setpgid(0, 0)
    tty = launch.tty
    if tty is not None:
        old = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
        try:
            os.tcsetpgrp(tty, os.getpgrp())
        finally:
            signal.signal(signal.SIGTTOU, old)


def _exec(launch: Launch, status_w: int) -> None:
    stage = "workdir"
    try:
        if launch.workdir:
            os.chdir(launch.workdir)
        stage = "exec"
        for sig in RESET_SIGNALS:
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        os.execvpe(launch.argv[0], launch.argv, launch.env)
    except OSError as exc:
        report(status_w, exc.errno or 0, stage)


def child(launch: Launch, status_w: int, stdio: tuple | None = None) -> None:
    """The forked child of a plain start, or pid 1 of an isolated one."""
    stage = "setup"
    try:
        _setup_fds(status_w, stdio)
        _own_group(launch)
        stage = "netns"
        process.enter(launch.netns, private_mounts=launch.isolate_pid, hostname=launch.hostname)
        if launch.isolate_pid:
            stage = "proc"
            process.mount_proc()
            if launch.init:
                _init(launch, status_w)
        _exec(launch, status_w)
    except OSError as exc:
        report(status_w, exc.errno or 0, stage)
    except BaseException:
        report(status_w, 0, stage)
    finally:
        os._exit(127)


def _init(launch: Launch, status_w: int) -> None:
    """pid 1: fork the command, then exec a fresh, small interpreter that
    reaps (the forked one would keep the CLI's memory for the command's life)."""
    for sig in SHIELD_SIGNALS:  # pid 1 ignores them anyway; SIG_IGN also keeps Python's
        signal.signal(sig, signal.SIG_IGN)  # KeyboardInterrupt handler out of the new interpreter
    pid = os.fork()
    if pid == 0:
        try:
            _exec(launch, status_w)
        finally:
            os._exit(127)
    os.close(status_w)
    process.set_name("nsnet-init")
    try:
        os.execv(sys.executable, [sys.executable, "-I", "-S", BOOT, "init", str(pid)])
    except OSError:
        from .init import reap_until

        os._exit(reap_until(pid))


def relay(launch: Launch, status_w: int, stdio: tuple | None = None) -> None:
    """Foreground --isolate-pid: the CLI's child. Unshares the PID namespace,
    forks its pid 1, tells the CLI that pid ("pid N") and exits with its code."""
    stage = "pidns"
    try:
        _setup_fds(status_w, stdio)
        for sig in SHIELD_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        process.unshare_pid()
        pid = os.fork()
        if pid == 0:
            child(launch, status_w)
        if launch.pty is None:  # else pid 1 makes a session of its own
            hand_over(pid, launch.tty)
        os.write(status_w, f"pid {pid}\n".encode())
        os.close(status_w)
        _, status = os.waitpid(pid, 0)
        os._exit(procfs.wait_status_code(status))
    except OSError as exc:
        report(status_w, exc.errno or 0, stage)
    finally:
        os._exit(127)


def hand_over(pid: int, tty: int | None) -> None:
    """Parent side of _own_group (as shells do it: both sides, no race)."""
    try:
        os.setpgid(pid, pid)
    except OSError:
        pass  # the child was first, or already exec'd
    if tty is not None:
        give_terminal(tty, pid)
