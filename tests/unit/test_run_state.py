"""Process records, pid + start-time liveness, ps rows (no root needed)."""

import json
import os
import time
from pathlib import Path

import pytest

from nsnet.engine.context import DEFAULT_STATE_DIR
from nsnet.run import procfs, pslist
from nsnet.state.processes import ProcessRecords


def me() -> dict:
    return {"pid": os.getpid(), "starttime": procfs.starttime(os.getpid())}


def test_parse_stat_with_awkward_command_names():
    raw = b"1234 (a) b (c) d) S 1 1234 1234 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 98765 0 0"
    st = procfs.parse_stat(raw)
    assert (st.state, st.ppid, st.pgrp, st.starttime) == ("S", 1, 1234, 98765)
    assert procfs.parse_stat(b"garbage") is None
    assert procfs.parse_stat(b"1 (x) S 1") is None


def test_alive_needs_the_same_start_time():
    m = me()
    assert procfs.alive(m["pid"], m["starttime"])
    assert not procfs.alive(m["pid"], m["starttime"] + 1)  # same pid, another process: pid reuse
    assert not procfs.alive(None, 1) and not procfs.alive(m["pid"], None)
    assert not procfs.alive(2**22 + 12345, 1)  # beyond pid_max: no such process


def test_a_zombie_is_not_alive():
    pid = os.fork()
    if pid == 0:
        os._exit(3)
    try:
        deadline = time.monotonic() + 5
        while procfs.stat(pid).state != "Z" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not procfs.alive(pid, procfs.starttime(pid))
        assert procfs.group_exists(os.getpgrp())
    finally:
        _, status = os.waitpid(pid, 0)
    assert procfs.wait_status_code(status) == 3


def test_wait_status_codes():
    assert procfs.wait_status_code(0) == 0
    assert procfs.wait_status_code(7 << 8) == 7
    assert procfs.wait_status_code(9) == 137  # killed by SIGKILL
    assert procfs.wait_status_code(15) == 143


def test_reserve_replace_and_discard(tmp_path):
    records = ProcessRecords(str(tmp_path))
    assert records.reserve("web", {"state": "running", **me(), "started_at": 1.0}, procfs.is_running)
    assert records.read("web")["name"] == "web"
    # The name belongs to a live process: refused, record untouched.
    assert not records.reserve("web", {"state": "starting"}, procfs.is_running)
    assert records.read("web")["state"] == "running"
    # Once that process is gone (here: a start time that does not match), it is replaced, logs and all.
    records.update("web", starttime=me()["starttime"] + 1)
    Path(records.folder("web"), "stdout.log").write_text("old")
    assert records.reserve("web", {"state": "starting", "creator_pid": os.getpid(),
                                   "creator_starttime": me()["starttime"]}, procfs.is_running)
    assert os.listdir(records.folder("web")) == ["state.json"]
    assert procfs.effective_state(records.read("web")) == "starting"
    records.discard("web")
    assert records.names() == [] and os.listdir(records.root) == []
    records.discard("web")  # idempotent


def test_effective_state_and_ps_rows(tmp_path):
    sd = str(tmp_path)
    now = time.time()
    records = ProcessRecords(sd)
    reserve = lambda name, record: records.reserve(name, record, procfs.is_running)  # noqa: E731
    reserve("alive", {"state": "running", **me(), "sandbox": "a", "argv": ["sleep", "9"],
                                "started_at": now - 75})
    reserve("reused", {"state": "running", "pid": os.getpid(), "starttime": 1, "sandbox": "b",
                                 "argv": ["x"], "started_at": now - 5})
    reserve("done", {"state": "exited", "pid": 1, "starttime": 1, "exit_code": 3, "sandbox": "c",
                               "argv": ["sh", "-c", "exit 3"], "started_at": now - 1})
    rows = {r["name"]: r for r in pslist.rows(sd)}
    assert rows["alive"]["state"] == "running" and 74 <= rows["alive"]["uptime"] < 80
    assert rows["reused"]["state"] == "exited" and rows["reused"]["exit_code"] is None
    assert rows["done"]["state"] == "exited" and rows["done"]["exit_code"] == 3
    text = pslist.render(list(rows.values()))
    lines = text.splitlines()
    assert lines[0].split() == ["NAME", "SANDBOX", "PID", "STATE", "EXIT", "UPTIME", "COMMAND"]
    assert "1m1" in lines[1] and "sh -c 'exit 3'" in text
    json.dumps(pslist.rows(sd))  # JSON-clean


@pytest.mark.parametrize("seconds,text", [(None, "-"), (0, "0s"), (59.9, "59s"), (61, "1m01s"),
                                          (3600 * 5 + 120, "5h02m"), (86400 * 2 + 3600 * 3, "2d3h")])
def test_durations(seconds, text):
    assert pslist.duration(seconds) == text


def test_command_quoting():
    assert pslist._join(["sh", "-c", "echo 'hi' there", ""]) == "sh -c 'echo '\"'\"'hi'\"'\"' there' ''"


def test_default_state_dir_matches_the_engine():
    # The light modules keep their own copy: importing the engine's costs sqlite3.
    from nsnet.cli import served
    from nsnet.cni import client

    assert pslist.DEFAULT_STATE_DIR == served.DEFAULT_STATE_DIR == client.DEFAULT_STATE_DIR == DEFAULT_STATE_DIR
