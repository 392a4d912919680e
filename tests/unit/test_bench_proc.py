"""bench/proc.py: runs a process as subprocess.run would, and times it to its exit."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[2]))  # the repository: bench/ is no installed package
from bench import proc


def test_output_input_and_exit_code_are_those_of_the_process():
    res = proc.run([sys.executable, "-c", "import sys; d = sys.stdin.read(); print(d.upper()); "
                    "print('e', file=sys.stderr); sys.exit(3)"], input="abc", text=True)
    assert (res.returncode, res.stdout, res.stderr) == (3, "ABC\n", "e\n")
    with pytest.raises(subprocess.CalledProcessError):
        proc.run(["sh", "-c", "exit 2"], check=True)
    assert proc.run(["sh", "-c", "printf x"]).stdout == b"x"


def test_the_time_runs_to_the_exit():
    assert proc.run(["sleep", "0.05"]).ms >= 50


def test_past_its_timeout_the_process_is_killed_and_reaped():
    with pytest.raises(subprocess.TimeoutExpired):
        proc.run(["sleep", "30"], timeout=0.1)
    child = subprocess.Popen(["sleep", "30"])
    with pytest.raises(subprocess.TimeoutExpired):
        proc.exit_ms(child, time.perf_counter(), timeout=0.1)
    assert child.returncode == -9  # killed, and reaped (Popen knows how it ended)
