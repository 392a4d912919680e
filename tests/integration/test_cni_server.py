"""The plugin's warm server (cni/client.py, cni/server.py): one per state
directory, started by the first call, answering the next ones, replaced when
killed, stopping when idle; a call it cannot take is made in the calling
process."""

import os
import signal

import pytest

from nsnet.cni.client import Paths, server_pid, stop_server

from .cni_env import container_namespaces, single
from .helpers import ping, wait_until


@pytest.fixture
def runtime(host):
    with container_namespaces(host, 3) as paths:
        yield paths


def add(cni, conf, netns, container, env=None):
    code, out = cni.call("ADD", single(conf), container=container, netns=netns, env=env)
    assert code == 0, out
    return out["ips"][0]["address"].split("/")[0]


def test_one_warm_server_answers_the_calls(host, cni, runtime):
    conf = cni.conf(dnsServer=False)
    ip0 = add(cni, conf, runtime[0], "a")
    pid = server_pid(host.state_dir)
    assert pid is not None and os.path.exists(Paths(host.state_dir).sock)
    ip1 = add(cni, conf, runtime[1], "b")
    ip2 = add(cni, conf, runtime[2], "c")
    assert server_pid(host.state_dir) == pid and len({ip0, ip1, ip2}) == 3
    assert ping(os.path.basename(runtime[1]), ip0)
    assert cni.call("DEL", single(conf), container="a", netns=runtime[0]) == (0, None)
    assert sorted(s["name"] for s in host.engine.sandbox_ls()) == ["cni-b", "cni-c"]
    assert stop_server(host.state_dir) and not os.path.exists(Paths(host.state_dir).sock)
    for name, netns in (("b", runtime[1]), ("c", runtime[2])):  # the first starts a new one
        assert cni.call("DEL", single(conf), container=name, netns=netns) == (0, None)
    assert host.engine.sandbox_ls() == []


def test_bad_configs_start_no_server(host, cni, runtime, tmp_path):
    conf = cni.conf(dnsServer=False)
    new = str(tmp_path / "new")
    for bad in ({"stateDir": "state"}, {"stateDir": new}):  # relative; a state directory nobody made
        code, err = cni.call("ADD", single(conf, **bad), container="a", netns=runtime[0])
        assert server_pid(bad["stateDir"]) is None and not os.path.exists(Paths(bad["stateDir"]).folder)
    assert code == 0, err  # an absolute stateDir is valid: the call makes the directory and its store
    code, err = cni.call("ADD", single(conf, stateDir="state"), container="b", netns=runtime[1])
    assert code == 1 and err["code"] == 7 and "absolute path" in err["msg"], err
    assert not os.path.exists("state") and server_pid(host.state_dir) is None
    assert cni.call("DEL", single(conf, stateDir=new), container="a", netns=runtime[0]) == (0, None)
    stop_server(new)


def test_a_killed_server_is_replaced(host, cni, runtime):
    conf = cni.conf(dnsServer=False)
    add(cni, conf, runtime[0], "a")
    pid = server_pid(host.state_dir)
    os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: server_pid(host.state_dir) is None)
    add(cni, conf, runtime[1], "b")  # its lock was freed with it: the call starts another
    assert server_pid(host.state_dir) not in (None, pid)
    assert sorted(s["name"] for s in host.engine.sandbox_ls()) == ["cni-a", "cni-b"]


def test_calls_it_cannot_take_are_made_in_process(host, cni, runtime):
    conf = cni.conf(dnsServer=False)
    add(cni, conf, runtime[0], "a", env={"NSNET_CNI_LINGER": "0"})
    assert server_pid(host.state_dir) is None and not os.path.exists(Paths(host.state_dir).folder)
    add(cni, conf, runtime[1], "b")
    pid = server_pid(host.state_dir)
    add(cni, conf, runtime[2], "c", env={"NSNET_LOCK_TIMEOUT": "7"})  # other settings: not the server's
    assert server_pid(host.state_dir) == pid
    assert sorted(s["name"] for s in host.engine.sandbox_ls()) == ["cni-a", "cni-b", "cni-c"]


def test_the_server_stops_when_idle_or_when_its_socket_goes(host, cni, runtime):
    conf = cni.conf(dnsServer=False)
    add(cni, conf, runtime[0], "a", env={"NSNET_CNI_LINGER": "0.5"})
    assert server_pid(host.state_dir) is not None
    assert wait_until(lambda: server_pid(host.state_dir) is None, timeout=10)
    assert not os.path.exists(Paths(host.state_dir).sock)
    add(cni, conf, runtime[1], "b")
    assert server_pid(host.state_dir) is not None
    os.unlink(Paths(host.state_dir).sock)  # the state directory cleared away under it
    assert wait_until(lambda: server_pid(host.state_dir) is None, timeout=10)
