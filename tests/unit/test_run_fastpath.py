"""`nsnet ps` stays at Python's own start-up (no root needed)."""

import json
import os
import subprocess
import sys
import time

import pytest

from nsnet.cli.parse import parse
from nsnet.run import procfs, pslist
from nsnet.state.processes import ProcessRecords


@pytest.fixture(autouse=True)
def no_env_state_dir(monkeypatch):
    monkeypatch.delenv("NSNET_STATE_DIR", raising=False)


@pytest.mark.parametrize("argv,opts", [
    (["ps"], {"state_dir": None, "json": False}),
    (["--json", "ps"], {"state_dir": None, "json": True}),
    (["ps", "--json"], {"state_dir": None, "json": True}),
    (["--state-dir", "/x", "ps"], {"state_dir": "/x", "json": False}),
    (["--state-dir=/y", "--host-netns", "h", "ps"], {"state_dir": "/y", "json": False}),
    (["--host-netns=h", "--json", "ps"], {"state_dir": None, "json": True}),
    (["ps", "--state-dir", "/x"], {"state_dir": "/x", "json": False}),
])
def test_ps_calls(argv, opts):
    call = parse(argv)
    assert call.command.handler == "ps:ps" and not call.help
    assert {"state_dir": call.globals["state_dir"], "json": call.globals["as_json"]} == opts


def test_env_state_dir(monkeypatch):
    monkeypatch.setenv("NSNET_STATE_DIR", "/from/env")
    assert parse(["ps"]).globals["state_dir"] == "/from/env"
    assert parse(["--state-dir", "/flag", "ps"]).globals["state_dir"] == "/flag"


def test_fast_ps_output_matches_the_rows(tmp_path):
    sd = str(tmp_path)
    me = os.getpid()
    ProcessRecords(sd).reserve("web", {"state": "running", "pid": me, "starttime": procfs.starttime(me),
                                       "pgid": me, "sandbox": "web", "argv": ["python3", "-m", "http.server"],
                                       "started_at": time.time()}, procfs.is_running)
    code = "import sys; from nsnet.cli.main import run; sys.argv = ['nsnet', *sys.argv[1:]]; run()"
    out = subprocess.run([sys.executable, "-c", code, "--state-dir", sd, "--json", "ps"],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    rows = json.loads(out)
    assert [(r["name"], r["state"], r["pid"]) for r in rows] == [("web", "running", me)]
    text = subprocess.run([sys.executable, "-c", code, "--state-dir", sd, "ps"],
                          capture_output=True, text=True, timeout=30, check=True).stdout
    assert text.splitlines()[0].split() == pslist.render([]).splitlines()[0].split()
    assert "python3 -m http.server" in text


def test_fast_ps_imports_neither_re_nor_json(tmp_path):
    """What keeps `nsnet ps` at Python's own start-up time (issue #7)."""
    code = ("import sys; from nsnet.cli import main\n"
            "main.main(['--state-dir', sys.argv[1], 'ps'])\n"
            "print(sorted(m for m in ('re', 'json', 'click', 'rich', 'argparse', 'dataclasses', 'sqlite3',\n"
            "                          'pyroute2', 'nsnet.engine') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-I", "-c", code, str(tmp_path)], capture_output=True, text=True,
                         timeout=30, check=True).stdout
    assert out.splitlines()[-1] == "[]"


def test_installed_launcher_is_the_light_one():
    """bin/nsnet (script-files), not pip's console-script template, which imports re."""
    launcher = os.path.join(os.path.dirname(sys.executable), "nsnet")
    with open(launcher) as f:
        text = f.read()
    assert "import re" not in text and "from nsnet.cli.main import run" in text


def test_fast_paths_exit_with_their_code_and_flushed_output(tmp_path):
    """The fast paths leave through os._exit: stdout must still arrive in full,
    and a command's error keeps its exit code."""
    launcher = os.path.join(os.path.dirname(sys.executable), "nsnet")
    env = dict(os.environ, NSNET_STATE_DIR=str(tmp_path))
    ps = subprocess.run([launcher, "--json", "ps"], capture_output=True, text=True, timeout=30, env=env)
    assert ps.returncode == 0 and ps.stdout.strip() == "[]"
    bad = subprocess.run([launcher, "run", "--sandbox", "nosuch", "--", "true"], capture_output=True, text=True,
                         timeout=30, env=env)
    assert bad.returncode == 3 and bad.stderr.strip() == "nsnet: error: sandbox 'nosuch' not found"
