"""The command line's one parser (cli/parse.py) and its table (cli/table.py):
what `run` calls parse to (the expected values are what click, the parser
before it, gave for the same argv), usage errors, global options anywhere,
and a table that matches its handlers."""

import inspect
import os
import subprocess
import sys

import pytest

from nsnet.cli import parse as p
from nsnet.cli.spec import Group
from nsnet.cli.table import COMMANDS

RUN_DEFAULTS = {"name": None, "sandbox": None, "hostname": None, "networks": (), "publish": (), "env": (),
                "workdir": None,
                "detach": False, "interactive": False, "tty": False, "rm": False, "isolate_pid": False,
                "init": False, "log_max_size": "10M", "log_max_files": 3}
NO_GLOBALS = {"host_netns": None, "state_dir": None, "store": None, "as_json": False}


def run_call(globals_=None, **values):
    return {**NO_GLOBALS, **(globals_ or {})}, {**RUN_DEFAULTS, **values}


RUN = [
    (["run", "--", "echo", "hi"], run_call(argv=("echo", "hi"))),
    (["run", "echo", "hi", "-d"], run_call(argv=("echo", "hi", "-d"))),
    (["run", "-d", "--", "--"], run_call(detach=True, argv=("--",))),
    (["run", "-d", "x", "--", "y"], run_call(detach=True, argv=("x", "--", "y"))),
    (["run", "--", "--", "x"], run_call(argv=("--", "x"))),
    (["--json", "run", "-d", "--", "x"], run_call({"as_json": True}, detach=True, argv=("x",))),
    (["--state-dir", "/s", "--host-netns=h", "--store", "etcd://a:1", "run", "--rm", "--", "x", "-y"],
     run_call({"state_dir": "/s", "host_netns": "h", "store": "etcd://a:1"}, rm=True, argv=("x", "-y"))),
    (["--state-dir=/s", "--json", "--state-dir", "/t", "run", "x"],
     run_call({"state_dir": "/t", "as_json": True}, argv=("x",))),
    (["run", "-d", "--name", "web", "--network", "lan", "--network=db:10.0.0.5", "-p", "8080:80",
      "--publish=9000:90/udp", "-e", "A=1", "--env", "B=2", "-w", "/tmp", "--", "socat", "-v", "STDIO"],
     run_call(detach=True, name="web", networks=("lan", "db:10.0.0.5"), publish=("8080:80", "9000:90/udp"),
              env=("A=1", "B=2"), workdir="/tmp", argv=("socat", "-v", "STDIO"))),
    (["run", "--sandbox", "sb", "--isolate-pid", "--init", "--log-max-size", "1M", "--log-max-files", "5", "x"],
     run_call(sandbox="sb", isolate_pid=True, init=True, log_max_size="1M", log_max_files=5, argv=("x",))),
    (["run", "--name", "a", "--name=b", "--rm", "--rm", "--detach", "x"],
     run_call(name="b", rm=True, detach=True, argv=("x",))),
    (["run", "--name=", "--workdir=", "x"], run_call(name="", workdir="", argv=("x",))),
    (["run", "--log-max-files=0", "x"], run_call(log_max_files=0, argv=("x",))),
    (["run", "--log-max-files", "-1", "x"], run_call(log_max_files=-1, argv=("x",))),
    # forms the earlier fast path left to click, parsed as click did
    (["run", "-dp", "1:2", "x"], run_call(detach=True, publish=("1:2",), argv=("x",))),
    (["run", "-p8080:80", "x"], run_call(publish=("8080:80",), argv=("x",))),
    (["run", "--name", "-d", "x"], run_call(name="-d", argv=("x",))),
    (["run", "--name", "--", "x"], run_call(name="--", argv=("x",))),
    (["run", "-", "x"], run_call(argv=("-", "x"))),
    # docker's habits (pflag): -p=VALUE, global options after the command, -i
    (["run", "-p=1:2", "x"], run_call(publish=("1:2",), argv=("x",))),
    (["run", "--json", "x"], run_call({"as_json": True}, argv=("x",))),
    (["run", "-it", "sh"], run_call(interactive=True, tty=True, argv=("sh",))),
    (["run", "-di", "--state-dir", "/s", "x", "--json"], run_call({"state_dir": "/s"}, detach=True, interactive=True,
                                                                   argv=("x", "--json"))),
]


@pytest.fixture(autouse=True)
def no_env(monkeypatch):
    for var in ("NSNET_HOST_NETNS", "NSNET_STATE_DIR", "NSNET_STORE"):
        monkeypatch.delenv(var, raising=False)


@pytest.mark.parametrize("argv,expected", RUN, ids=[" ".join(a) for a, _ in RUN])
def test_run_parses_as_click_did(argv, expected):
    call = p.parse(argv)
    assert call.command.handler == "run:run" and not call.help
    assert (call.globals, call.values) == expected


USAGE = [
    (["run", "--det", "x"], "unknown option '--det'"),  # click ran a command named "--det"
    (["run", "-x", "sh"], "unknown option '-x'"),
    (["run", "--foo", "--", "x"], "unknown option '--foo'"),
    (["run", "--log-max-files", "3_0", "x"], "--log-max-files: '3_0' is not a whole number"),
    (["run", "--log-max-files", " 3", "x"], "is not a whole number"),
    (["run", "--rm=yes", "x"], "option '--rm' takes no value"),
    (["run", "--name"], "option '--name' needs a value"),
    (["run"], "missing CMD"),
    (["run", "-d", "--"], "missing CMD"),
    (["nosuch"], "unknown command 'nosuch'"),
    (["sandbox", "lss"], "did you mean 'ls'?"),
    (["sandbox", "create"], "missing NAME"),
    (["sandbox", "create", "a", "b"], "unexpected argument 'b'"),
    (["network", "create", "n", "--mtu", "big"], "--mtu: 'big' is not a whole number"),
    (["check", "--timeout", "99"], "--timeout: 99.0 is out of range (0.1..30)"),
    (["agent"], "missing option '--advertise-address'"),
    (["agent", "--advertise-address", "10.0.0.1", "--ttl", "0"], "--ttl: 0 is out of range (1..3600)"),
    (["stop", "-t", "nan", "x"], "-t: 'nan' is not a number"),
    (["--state-dir"], "option '--state-dir' needs a value"),
    (["-p=1", "run", "x"], "unknown option '-p'"),
]


@pytest.mark.parametrize("argv,message", USAGE, ids=[" ".join(a) for a, _ in USAGE])
def test_usage_errors_are_one_line_with_a_hint(argv, message):
    with pytest.raises(p.Usage) as err:
        p.parse(argv)
    text = str(err.value)
    assert message in text and "\n" not in text and text.endswith("--help')")
    assert err.value.exit_code == 2


@pytest.mark.parametrize("argv", [["network", "ls", "--json"], ["--json", "network", "ls"],
                                  ["network", "--json", "ls"]])
def test_global_options_before_or_after_the_command(argv):
    call = p.parse(argv)
    assert call.command.handler == "network:ls" and call.globals["as_json"] is True


def test_store_after_agent_as_the_readme_shows():
    call = p.parse(["agent", "--advertise-address", "10.0.0.1", "--store", "etcd://10.0.0.9:2379"])
    assert call.globals["store"] == "etcd://10.0.0.9:2379"
    assert call.values == {"advertise_address": "10.0.0.1", "host_name": None, "ttl": 10}


def test_environment_fills_global_options_not_given(monkeypatch):
    monkeypatch.setenv("NSNET_STATE_DIR", "/from/env")
    assert p.parse(["ps"]).globals["state_dir"] == "/from/env"
    assert p.parse(["ps", "--state-dir", "/flag"]).globals["state_dir"] == "/flag"


@pytest.mark.parametrize("argv,path", [
    (["run", "--help"], ["nsnet", "run"]), (["run", "-h"], ["nsnet", "run"]),
    (["--help", "run", "x"], ["nsnet", "run"]),
    (["run", "-dh"], ["nsnet", "run"]), ([], ["nsnet"]), (["network"], ["nsnet", "network"]),
    (["network", "create", "--help"], ["nsnet", "network", "create"]),
])
def test_help(argv, path):
    call = p.parse(argv)
    assert call.help and call.path == path


def test_help_after_the_command_line_belongs_to_the_command():
    call = p.parse(["run", "sh", "--help"])
    assert not call.help and call.values["argv"] == ("sh", "--help")


def test_exec_takes_docker_flags_before_the_name():
    call = p.parse(["exec", "-it", "web1", "sh", "-c", "ls -l"])
    assert call.values == {"name": "web1", "argv": ("sh", "-c", "ls -l"), "interactive": True, "tty": True}


def test_ls_commands_take_quiet():
    for argv in (["sandbox", "ls", "-q"], ["network", "ls", "--quiet"], ["ps", "-q"], ["overlay", "ls", "-q"]):
        assert p.parse(argv).values["quiet"] is True


def commands(group=COMMANDS, path=("nsnet",)):
    for name, node in group.commands.items():
        if isinstance(node, Group):
            yield from commands(node, (*path, name))
        else:
            yield (*path, name), node


@pytest.mark.parametrize("path,command", list(commands()), ids=lambda x: " ".join(x) if isinstance(x, tuple) else "")
def test_every_handler_takes_what_its_command_parses(path, command):
    module, _, function = command.handler.partition(":")
    handler = getattr(__import__(f"nsnet.cli.{module}", fromlist=[function]), function)
    params = list(inspect.signature(handler).parameters)
    dests = [a.dest for a in command.args] + [o.dest for o in command.options]
    assert params[0] == "ctx" and sorted(params[1:]) == sorted(dests)
    names = [n for o in command.options for n in o.names]
    assert len(names) == len(set(names)), "an option name used twice"


def nsnet(*args, env=None):
    launcher = os.path.join(os.path.dirname(sys.executable), "nsnet")
    return subprocess.run([launcher, *args], capture_output=True, text=True, timeout=60, env=env)


def test_help_comes_from_the_table():
    out = nsnet("run", "--help")
    assert out.returncode == 0 and "Run CMD in a sandbox" in out.stdout and "--isolate-pid" in out.stdout
    assert "--log-max-size SIZE" in out.stdout and "[default: 10M]" in out.stdout


def test_a_usage_error_through_the_launcher(tmp_path):
    env = dict(os.environ, NSNET_STATE_DIR=str(tmp_path))
    out = nsnet("run", "-it", "--foo", "sh", env=env)
    assert (out.returncode, out.stdout) == (2, "")
    assert out.stderr == "nsnet: error: unknown option '--foo' (see 'nsnet run --help')\n"
    assert os.listdir(tmp_path) == []


def test_version():
    out = nsnet("--version")
    assert (out.returncode, out.stdout) == (0, "nsnet, version 0.1.0\n")
