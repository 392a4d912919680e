"""Stopping: SIGTERM to each process group, up to `timeout` seconds for the
groups to empty, then SIGKILL to what is left. Only the groups nsnet made are
signalled, and only while their leader (pid + start time) is ours or the group
still has members (a group id cannot be reused while it has members)."""

import os
import signal
import time

from . import procfs

SETTLE_SECONDS = 3.0  # after the kill: for the supervisor to record the exit
POLL = 0.01


def _signal(pgid: int, sig: int) -> bool:
    try:
        os.killpg(pgid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def _gone(record: dict) -> bool:
    return not procfs.alive(record["pid"], record["starttime"]) and not procfs.group_exists(record["pgid"])


def stop_records(records, chosen: list[dict], timeout: float) -> list[dict]:
    """Stop every running process of `chosen` (records of `records`, a
    state.processes.ProcessRecords) at once; returns one result each."""
    targets = [r for r in chosen if procfs.is_running(r) and r.get("state") == "running"]
    for r in targets:
        _signal(r["pgid"], signal.SIGTERM)
    deadline = time.monotonic() + max(0.0, timeout)
    pending = list(targets)
    while pending and time.monotonic() < deadline:
        time.sleep(POLL)
        pending = [r for r in pending if not _gone(r)]
    results = []
    for r in targets:
        killed = r in pending and _signal(r["pgid"], signal.SIGKILL)
        results.append({"name": r["name"], "pid": r["pid"], "signal": "SIGKILL" if killed else "SIGTERM"})
    _settle(records, targets)
    for res in results:
        final = records.read(res["name"]) or {}
        res["exit_code"] = final.get("exit_code")
    return results


def _settle(records, targets: list[dict]) -> None:
    """Wait (bounded) until the supervisors have recorded the exits; record it
    ourselves where the supervisor is gone (exit code unknown)."""
    deadline = time.monotonic() + SETTLE_SECONDS
    pending = list(targets)
    while pending and time.monotonic() < deadline:
        still = []
        for r in pending:
            # the supervisor first, the record after: it records the exit just before it goes, so
            # one seen gone has written all it will by the time the record is read
            supervised = procfs.alive(r.get("supervisor_pid"), r.get("supervisor_starttime"))
            now = records.read(r["name"])
            if now is None or now.get("state") == "exited" or now.get("pid") != r["pid"]:
                continue
            if not supervised and _gone(r):
                records.update(r["name"], state="exited", exit_code=None, signal=None, finished_at=time.time())
                continue
            still.append(r)
        pending = still
        if pending:
            time.sleep(POLL)
