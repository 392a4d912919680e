"""Run a process and time it to its exit, without the poll loop of
`subprocess.run(..., timeout=...)`.

Python's wait with a timeout (3.11) sleeps 1, 2, 4 ... 50 ms between checks,
so a timed process is rounded up to the next step: a 35 ms command reads as
64 ms, `python -c pass` (15 ms) as 16-20. Here the parent sleeps in poll() on
a pidfd, which wakes when the child exits; output goes to temporary files, so
no pipe has to be drained before the exit can be seen."""

import os
import select
import subprocess
import tempfile
import time


class Finished(subprocess.CompletedProcess):
    """subprocess.CompletedProcess, and `ms`: from the start to the exit."""

    ms: float


def run(argv: list[str], *, input: bytes | str | None = None, env: dict | None = None, timeout: float = 60,
        text: bool = False, check: bool = False, **popen) -> Finished:
    """Like subprocess.run(argv, input=, env=, capture_output=True, text=,
    timeout=, check=); `popen` goes to Popen (preexec_fn, cwd...)."""
    with tempfile.TemporaryFile() as stdin, tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        if input is not None:
            stdin.write(input.encode() if isinstance(input, str) else input)
            stdin.seek(0)
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=stdin if input is not None else subprocess.DEVNULL, stdout=out,
                                stderr=err, env=env, **popen)
        ms = exit_ms(proc, t0, timeout)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if text:
        stdout, stderr = stdout.decode(errors="replace"), stderr.decode(errors="replace")
    res = Finished(argv, proc.returncode, stdout, stderr)
    res.ms = ms
    if check:
        res.check_returncode()
    return res


def exit_ms(proc: subprocess.Popen, t0: float, timeout: float = 60) -> float:
    """Milliseconds from t0 to the child's exit; reaps it. Past `timeout`
    seconds the child is killed and TimeoutExpired raised."""
    fd = os.pidfd_open(proc.pid)
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        if not poller.poll(timeout * 1000):
            proc.kill()
            proc.wait()
            raise subprocess.TimeoutExpired(proc.args, timeout)
        ms = (time.perf_counter() - t0) * 1000
    finally:
        os.close(fd)
    proc.wait()  # already exited: reaps at once
    return ms
