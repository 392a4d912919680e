"""Commands in topology files: `up` starts them (and restarts what died or
changed), `status` reports them, `down` stops them with their sandboxes."""

import json
import os
import shutil
import signal
import subprocess

from .helpers import wait_until

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "web-app.yaml")


def http_get(host, port=8080) -> bool:
    code = ("import urllib.request;"
            f"print(urllib.request.urlopen('http://127.0.0.1:{port}/', timeout=3).status)")
    r = subprocess.run(["ip", "netns", "exec", host.name, "python3", "-c", code], capture_output=True, text=True)
    return r.stdout.strip() == "200"


def procs(host) -> dict:
    return {p["name"]: p for p in json.loads(host.cli("--json", "ps", "-a").stdout)}


def test_up_starts_keeps_and_down_stops_commands(host, tmp_path, bridge_nf):
    path = tmp_path / "web-app.yaml"
    shutil.copy(EXAMPLE, path)
    r = host.cli("up", str(path))
    assert r.returncode == 0, r.stderr
    assert "+ process 'web-app.web': python3 -m http.server 8000 --bind 0.0.0.0" in r.stdout
    assert wait_until(lambda: http_get(host), timeout=10)  # through the published port
    running = procs(host)
    assert running["web-app.web"]["state"] == "running" and running["web-app.worker"]["state"] == "running"
    ps_inside = host.cli("exec", "worker", "--", "cat", "/proc/1/comm")  # isolate_pid: exec joins its PID view
    assert (ps_inside.returncode, ps_inside.stdout) == (0, "nsnet-init\n"), ps_inside.stderr  # init: true
    assert "0 changes" in host.cli("up", str(path)).stdout
    assert host.cli("status", str(path)).returncode == 0
    # a process that dies is seen by status and restarted by up
    os.kill(running["web-app.web"]["pid"], signal.SIGKILL)
    assert wait_until(lambda: procs(host)["web-app.web"]["state"] != "running", timeout=10)
    st = host.cli("status", str(path))
    assert st.returncode != 0 and "web-app.web" in st.stdout and "missing" in st.stdout
    r = host.cli("up", str(path))
    assert "+ process 'web-app.web'" in r.stdout
    assert wait_until(lambda: http_get(host), timeout=10)
    # a changed command is restarted; a dropped one is stopped
    text = path.read_text().replace("--bind 0.0.0.0", "--bind 0.0.0.0 --directory /tmp")
    text = text.replace('    command: ["sh", "-c", "while true; do sleep 1; done"]\n', "")
    text = text.replace("    env: {ROLE: worker}\n    isolate_pid: true\n    init: true\n", "")
    path.write_text(text)
    r = host.cli("up", str(path))
    assert "~ process 'web-app.web' (the command changed)" in r.stdout and "- process 'web-app.worker'" in r.stdout
    assert procs(host)["web-app.worker"]["state"] != "running"
    pid = procs(host)["web-app.web"]["pid"]
    assert host.cli("down", str(path)).returncode == 0
    assert not os.path.exists(f"/proc/{pid}") or procs(host)["web-app.web"]["state"] != "running"
    assert host.sandbox_namespaces() == []


def test_bad_command_entries_point_at_the_place(host, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\nsandboxes:\n  a:\n    command: []\n  b:\n    env: {X: 1}\n"
                    "  c:\n    command: sleep 1\n    isolate_pid: maybe\n  d:\n    command: true\n")
    r = host.cli("up", str(path))
    assert r.returncode == 2
    for text in ("sandboxes.a.command: must not be empty", "sandboxes.b.env: only applies with a 'command'",
                 "sandboxes.c.isolate_pid: expected true", "(and 1 more)"):
        assert text in r.stderr, r.stderr
    assert host.sandbox_namespaces() == []
