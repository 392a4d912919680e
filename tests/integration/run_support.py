"""Shared by the test_run_* integration tests: a host whose started processes
are all stopped afterwards (and checked: no supervisor, init or command of
this host's state dir may outlive the test)."""

import contextlib
import json
import os
import select
import signal
import socket
import time

from nsnet.run import procfs
from nsnet.state.processes import ProcessRecords

from .helpers import NSNET, Host, wait_until

SERVER = ("import socket,sys\n"
          "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
          "s.bind(('0.0.0.0', int(sys.argv[1]))); s.listen(8); print('listening', flush=True)\n"
          "while True:\n"
          "    c, peer = s.accept(); c.sendall(b'hello ' + peer[0].encode() + b'\\n'); c.close()\n")


def pids_of(state_dir: str) -> list[int]:
    """nsnet.run's helpers (supervisors) of this state dir, plus the commands
    the records say are running."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
            if b"_boot.py" in cmdline and state_dir.encode() in cmdline:
                found.append(int(entry))
    for record in ProcessRecords(state_dir).all():
        if procfs.is_running(record) and record.get("state") == "running":
            found.append(record["pid"])
    return sorted(set(found))


def running_host():
    """Generator for a fixture (each test module: `rhost = pytest.fixture(running_host)`).
    A throwaway host. Afterwards, whatever still runs is stopped through
    nsnet itself; anything that then survives (a supervisor, an init, a
    command nsnet lost track of) fails the test, and is killed by pid."""
    h = Host("r")
    try:
        yield h
    finally:
        try:
            for rec in ProcessRecords(h.state_dir).all():
                if procfs.is_running(rec) and rec.get("state") == "running":
                    with contextlib.suppress(Exception):
                        h.engine.stop(rec["name"], timeout=2)
            wait_until(lambda: not pids_of(h.state_dir), timeout=5)
            leftovers = pids_of(h.state_dir)
            described = [_describe(pid) for pid in leftovers]
            for pid in leftovers:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        finally:
            h.destroy()
        assert leftovers == [], f"processes left running after the test: {described}"


def _describe(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f"{pid}: " + f.read().replace(b"\0", b" ").decode(errors="replace")[:200]
    except OSError:
        return f"{pid}: (gone)"


def nsnet_argv() -> list[str]:
    return [NSNET]


def cli(host, *args, **kw):
    return host.cli(*args, **kw)


def ps(host) -> dict:
    r = cli(host, "--json", "ps", "-a")
    assert r.returncode == 0, r.stderr
    return {row["name"]: row for row in json.loads(r.stdout)}


def tcp_hello(host, client_sandbox: str, ip: str, port: int) -> str | None:
    """Connect from inside client_sandbox (a foreground `nsnet run`)."""
    code = ("import socket,sys; s=socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3); "
            "print(s.recv(100).decode().strip())")
    r = cli(host, "run", "--sandbox", client_sandbox, "--", "python3", "-c", code, ip, str(port))
    return r.stdout.strip() if r.returncode == 0 else None


def wait_listening(netns: str, ip: str, port: int, timeout: float = 10.0) -> bool:
    """Poll a TCP connect from the given namespace (in-process, via setns in a thread)."""
    from nsnet.kernel import nsfs

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with nsfs.inside(netns):
            s = socket.socket()
        s.settimeout(0.5)
        try:
            s.connect((ip, port))
            return True
        except OSError:
            time.sleep(0.02)
        finally:
            s.close()
    return False


def record(host, name: str) -> dict | None:
    return ProcessRecords(host.state_dir).read(name)


def alive(rec: dict) -> bool:
    return procfs.alive(rec["pid"], rec["starttime"])


def read_until(fd: int, marker: bytes, seconds: float) -> bytes:
    """What fd gives until `marker` shows up (or EOF, or `seconds` pass)."""
    out = b""
    deadline = time.monotonic() + seconds
    while marker not in out and time.monotonic() < deadline:
        if select.select([fd], [], [], 0.2)[0]:
            try:
                chunk = os.read(fd, 1024)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    return out
