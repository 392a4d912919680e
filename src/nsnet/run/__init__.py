"""Processes in sandboxes: `nsnet run`, `ps`, `logs`, `stop`.

Kept import-light on purpose: `nsnet ps` and the supervisor / init processes
(fresh interpreters started with `python -I -S`) load only the modules they
need from here, never sqlite3 or the engine.

    procfs.py     /proc/PID/stat: liveness that survives pid reuse (of a record too)
    logfiles.py   size-capped, rotated log files; reading and following them
    spec.py       validation of run options (env, sizes, names)
    launch.py     the child side: enter the sandbox, exec; the pid-namespace chain
                  (the system calls: kernel/process.py)
    spawn.py      the parent side: detached (via a supervisor) or foreground
    foreground.py waiting for a foreground process: tty, signals, exit code
    terminal.py   run -t: a pseudo-terminal of its own, copied to and from nsnet's stdio
    supervise.py  one small process per detached command: logs, exit code
    init.py       pid 1 of an isolated sandbox with --init: reaps zombies
    join.py       `nsnet exec` into a sandbox with a PID namespace: joins it
    stop.py       SIGTERM, then SIGKILL, to process groups
    pslist.py     `nsnet ps` rows and their plain-text table

The process records themselves are state: nsnet/state/processes.py.
"""
