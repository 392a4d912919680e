"""The process a runtime starts (cni/client.py): what it imports, where it
looks for its server, and the request it sends."""

import subprocess
import sys

import pytest

from nsnet.cni import client
from nsnet.engine.context import DEFAULT_STATE_DIR


def test_the_client_imports_no_engine_json_or_sqlite():
    """Its whole point: Python's start-up and little more (the server imported the rest)."""
    code = ("import sys; import nsnet.cni.client as c; c.state_dir_of('{\"stateDir\": \"/x\"}'); "
            "c.request('ADD', '{}'); print(sorted(m for m in ('json', 're', 'sqlite3', 'socket', 'ctypes', "
            "'ipaddress', 'enum', 'nsnet.engine', 'nsnet.cni.plugin') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_config_cut_short_is_refused_in_process():
    """Without the json package loaded, the C scanner's error for '{' was a SystemError."""
    code = "import nsnet.cni.client as c; print(c.state_dir_of('{'), c.state_dir_of('\"abc'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin"}).stdout
    assert out.split() == ["None", "None"]


@pytest.mark.parametrize("raw, env, expected", [
    ('{"stateDir": "/srv/n"}', {"NSNET_STATE_DIR": "/e"}, "/srv/n"),
    ('{"name": "n"}', {"NSNET_STATE_DIR": "/e"}, "/e"),
    ('{"name": "n"}', {}, DEFAULT_STATE_DIR),
    ('{"stateDir": 3}', {}, None),  # bad configs are refused in the calling process
    ('{"stateDir": "state"}', {}, None),
    ("[]", {}, None),
])
def test_the_state_directory_as_the_plugin_decides_it(monkeypatch, raw, env, expected):
    monkeypatch.delenv("NSNET_STATE_DIR", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert client.state_dir_of(raw) == expected


def test_a_request_carries_the_cni_and_nsnet_variables_and_the_config():
    env = {"CNI_COMMAND": "ADD", "CNI_ARGS": "", "NSNET_HOST_NETNS": "h", "HOME": "/root", "PATH": "/bin"}
    netns, command, got, raw = client.parse_request(client.request("ADD", '{"a": "b=c"}', env))
    assert (netns, command, raw) == (client.netns_id(), "ADD", '{"a": "b=c"}')
    assert got == {"CNI_COMMAND": "ADD", "CNI_ARGS": "", "NSNET_HOST_NETNS": "h"}
    with pytest.raises(ValueError):
        client.parse_request(b"2\0x\0ADD\0\0{}")


def test_the_server_collects_children_that_ended():
    """A DNS server a call started and that stopped itself is no zombie of the warm server."""
    import os
    import time

    from nsnet.cni.loop import reap_children as _reap

    def state(pid):
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0]

    pid = os.posix_spawn("/bin/true", ["true"], {})
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and state(pid) != "Z":
        time.sleep(0.01)
    assert state(pid) == "Z"
    _reap()
    assert not os.path.exists(f"/proc/{pid}")
