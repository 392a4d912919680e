"""`nsnet ps`: rows from the state files and a plain table. Imports nothing
beyond os/time and the C half of json (json itself only for --json), so the
command line (cli/run.py) can answer `ps` without loading re, sqlite3 or the
engine."""

import sys
import time

from ..isotime import iso
from ..state.processes import ProcessRecords
from .procfs import effective_state

DEFAULT_STATE_DIR = "/var/lib/nsnet"  # = engine.context.DEFAULT_STATE_DIR (a unit test checks)
COLUMNS = (("name", "NAME"), ("sandbox", "SANDBOX"), ("pid", "PID"), ("state", "STATE"),
           ("exit", "EXIT"), ("uptime", "UPTIME"), ("command", "COMMAND"))


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(max(0, seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s // 60 % 60:02d}m"
    return f"{s // 86400}d{s // 3600 % 24}h"


def row(record: dict, now: float) -> dict:
    current = effective_state(record)
    started = record.get("started_at")
    running = current == "running"
    return {
        "name": record["name"],
        "sandbox": record.get("sandbox"),
        "pid": record.get("pid"),
        "state": current,
        "exit_code": None if running else record.get("exit_code"),
        "signal": None if running else record.get("signal"),
        "uptime": round(now - started, 3) if running and started else None,  # seconds
        "started_at": iso(started),
        "finished_at": iso(record.get("finished_at")),
        "command": record.get("argv") or [],
        "detached": record.get("detached"),
        "isolate_pid": record.get("isolate_pid"),
    }


def rows(state_dir: str, everything: bool = True) -> list[dict]:
    """Every record's row; without `everything`, only those that run (or start)."""
    now = time.time()
    out = [row(r, now) for r in ProcessRecords(state_dir).all()]
    return out if everything else [r for r in out if r["state"] != "exited"]


def cells(r: dict) -> dict:
    return {
        "name": r["name"], "sandbox": r["sandbox"] or "", "pid": "" if r["pid"] is None else str(r["pid"]),
        "state": r["state"], "exit": "-" if r["exit_code"] is None else str(r["exit_code"]),
        "uptime": duration(r["uptime"]), "command": _join(r["command"]),
    }


def _join(argv: list[str]) -> str:
    safe = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_")
    return " ".join(a if a and set(a) <= safe else "'" + a.replace("'", "'\"'\"'") + "'" for a in argv)


def render(rs: list[dict]) -> str:
    table = [dict(COLUMNS)] + [cells(r) for r in rs]
    keys = [k for k, _ in COLUMNS]
    widths = {k: max(len(t[k]) for t in table) for k in keys}
    lines = ["  ".join(t[k].ljust(widths[k]) for k in keys).rstrip() for t in table]
    return "\n".join(lines) + "\n"


def main(state_dir: str | None, as_json: bool, quiet: bool = False, everything: bool = False) -> None:
    rs = rows(state_dir or DEFAULT_STATE_DIR, everything)
    if quiet and not as_json:
        out = "".join(f"{r['name']}\n" for r in rs)
    elif as_json:
        import json  # imports re: only when asked for

        out = json.dumps(rs, indent=2) + "\n"
    else:
        out = render(rs)
    sys.stdout.write(out)
    sys.stdout.flush()
