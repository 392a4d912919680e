"""Stopping waits for the supervisor to record the exit (run/stop.py): an exit
recorded by a supervisor that went between two looks is never overwritten
with "exit code unknown" (under two CPU burners `nsnet ps` showed None for a
process `stop` had killed: 137)."""

import os
import subprocess

from nsnet.run import procfs, stop
from nsnet.state.processes import ProcessRecords


def test_an_exit_recorded_just_before_the_supervisor_went_is_kept(tmp_path):
    records = ProcessRecords(str(tmp_path))
    ended = subprocess.Popen(["true"])
    ended.wait()  # the command: gone, and its group with it
    supervisor = subprocess.Popen(["sleep", "30"])
    try:
        record = {"name": "srv", "state": "running", "pid": ended.pid, "pgid": ended.pid, "starttime": 1,
                  "supervisor_pid": supervisor.pid, "supervisor_starttime": procfs.starttime(supervisor.pid)}
        assert records.reserve("srv", record, lambda old: False)
        looks = []
        read = records.read

        def read_then_supervisor_records_and_goes(name):
            now = read(name)
            looks.append(now)
            if len(looks) == 1:  # between stop's first look and its next: the supervisor's last acts
                records.update(name, state="exited", exit_code=137, signal=9)
                supervisor.kill()
                supervisor.wait()
            return now

        records.read = read_then_supervisor_records_and_goes
        stop._settle(records, [record])
        assert read("srv")["exit_code"] == 137 and read("srv")["state"] == "exited"
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
            supervisor.wait()


def test_an_exit_nobody_recorded_is_recorded_unknown(tmp_path):
    """The supervisor died without a word (killed): the record says exited, code unknown."""
    records = ProcessRecords(str(tmp_path))
    ended = subprocess.Popen(["true"])
    ended.wait()
    supervisor = subprocess.Popen(["sleep", "30"])
    start = procfs.starttime(supervisor.pid)
    supervisor.kill()
    supervisor.wait()
    record = {"name": "srv", "state": "running", "pid": ended.pid, "pgid": ended.pid, "starttime": 1,
              "supervisor_pid": supervisor.pid, "supervisor_starttime": start}
    assert records.reserve("srv", record, lambda old: False)
    stop._settle(records, [record])
    final = records.read("srv")
    assert final["state"] == "exited" and final["exit_code"] is None and os.path.isdir(records.folder("srv"))
