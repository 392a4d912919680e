"""What the command line hands to its warm server (cli/served.py): which
commands, and a request read back as it was sent."""

import os

import pytest

from nsnet.cli import served


@pytest.mark.parametrize("argv, expected", [
    (["sandbox", "create", "a", "--network", "n"], True),
    (["network", "connect", "n", "a"], True),
    (["publish", "a", "80:80"], True),
    (["port"], True),
    (["partition", "a", "b,c"], True),
    (["impair", "a", "--loss", "5"], True),
    (["faults", "--json"], True),
    (["sandbox", "ls", "--json"], True),
    (["--json", "sandbox", "ls"], True),  # global options before the command
    (["--host-netns", "lab", "sandbox", "create", "a"], True),
    (["--host-netns=lab", "--json", "network", "ls"], True),
    (["--host-netns", "lab", "--json", "run", "-d", "--", "sleep", "1"], True),
    (["--host-netns", "lab", "run", "--", "ls", "-d", "/"], False),
    (["--host-netns", "lab", "ps"], False),
    (["--state-dir", "/tmp/x", "sandbox", "ls"], False),
    (["--host-netns"], False),
    (["--host-netns", "run", "run", "-d", "--", "sleep", "1"], True),  # a namespace named run
    (["sandbox", "ls", "--state-dir", "/tmp/x"], False),  # the state dir decides the server
    (["network", "ls", "--store=etcd://h:1"], False),
    (["run", "-d", "--", "sleep", "1"], True),  # the server parses it for real (cli/server.py)
    (["run", "--detach", "--name", "x", "--", "sleep", "1"], True),
    (["run", "-dit", "--", "sh"], True),  # refused by the server: a terminal
    (["run", "--", "sleep", "1"], False),  # the foreground
    (["run", "--", "ls", "-d", "/"], False),  # -d of the command, not of run
    (["run", "--name", "x", "sleep", "1"], False),
    (["exec", "a", "--", "sh"], False),
    (["ps"], False),
    (["up", "f.yaml"], False),
    (["--version"], False),
    ([], False),
])
def test_served_commands(argv, expected):
    assert served.is_served(argv) is expected


def test_a_request_reads_back_as_sent(monkeypatch):
    monkeypatch.setenv("NSNET_HOST_NETNS", "lab")
    argv = ["sandbox", "create", "", "--network", "caf\udcc3"]  # an empty word; bytes that are no UTF-8
    req = served.Request(served.request(argv))
    assert req.argv == argv and req.cwd == os.getcwd() and req.env["NSNET_HOST_NETNS"] == "lab"
    assert req.identity == served.identity() and "CapEff:" in req.identity and req.version
    with pytest.raises(ValueError):
        served.Request(b"nsnet-cli/0\0x\0\0ls")


def test_settings_leave_the_linger_out():
    assert served.settings({"NSNET_CLI_LINGER": "30", "NSNET_STATE_DIR": "/s", "PATH": "/bin"}) == {
        "NSNET_STATE_DIR": "/s"}


@pytest.mark.parametrize("value, expected", [(None, 30.0), ("0", 0.0), ("5", 5.0), ("-3", 0.0), ("soon", 30.0)])
def test_the_warm_server_is_on_unless_the_linger_is_zero(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("NSNET_CLI_LINGER", raising=False)
    else:
        monkeypatch.setenv("NSNET_CLI_LINGER", value)
    assert served.linger() == expected


def test_the_leading_options_are_the_tables_global_ones():
    """served.py skips the global options before a command without importing the table:
    the same options, each taking as many words (the rest are never served)."""
    from nsnet.cli.table import GLOBAL

    words = {name: 2 if o.takes_value else 1 for o in GLOBAL for name in o.names}
    assert {**served.LEADING_OPTIONS, **{o: 2 for o in served.NOT_SERVED_OPTIONS}} == words
