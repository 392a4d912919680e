"""The engine <-> DNS server protocol on real unix sockets (no root, no server
process): one starter whatever the concurrency, messages and sockets queued
before the server reads, nothing lost when the server closes its door."""

import os
import selectors
import socket
import threading

import pytest

from nsnet.dns import control


class FakeServer:
    """What `python -m nsnet.dns` does with the fds it inherits: keeps the lock
    and reads the door. spawn() is the ServerLink's spawn hook."""

    def __init__(self):
        self.spawned = 0
        self.lock_fd = None
        self.listener = None
        self.got: list = []

    def spawn(self, lock_fd, control_fd):
        self.spawned += 1
        self.lock_fd = os.dup(lock_fd)  # the inherited copy: the lock stays held
        self.listener = socket.socket(fileno=os.dup(control_fd))
        return 4242

    def door(self, paths):
        sel = selectors.DefaultSelector()
        return sel, control.Door(sel, self.listener, paths.control,
                                 lambda words, socks, conn: self.got.append((words, socks)))

    def die(self):
        os.close(self.lock_fd)
        self.listener.close()


@pytest.fixture
def paths(tmp_path):
    return control.Paths(str(tmp_path))


def test_the_first_sender_starts_the_server_and_nobody_waits_for_it(paths):
    server = FakeServer()
    link = control.ServerLink(paths, server.spawn)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    assert link.send([(control.encode(control.ADD, "web1", "h-web1"), [udp]), (control.STALE, [])])
    assert server.spawned == 1 and link.started == [4242]
    with open(paths.pid) as f:
        assert f.read() == "4242\n"
    # Only now does the "server" read: the connection and both messages waited in the kernel.
    _, door = server.door(paths)
    door.take_queued()
    (words, socks), (stale, _) = server.got
    assert words == ["add", "web1", "h-web1"] and stale == ["stale"]
    assert socks[0].type == socket.SOCK_DGRAM and socks[0].fileno() != udp.fileno()
    assert control.ServerLink(paths, server.spawn).send([(control.STALE, [])]) and server.spawned == 1


def test_concurrent_senders_start_one_server(paths):
    server = FakeServer()
    barrier = threading.Barrier(8)

    def send():
        barrier.wait()
        assert control.ServerLink(paths, server.spawn).send([(control.STALE, [])])

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert server.spawned == 1


def test_a_dead_server_is_replaced_by_the_next_sender(paths):
    first, second = FakeServer(), FakeServer()
    link = control.ServerLink(paths, first.spawn)
    assert link.send([(control.STALE, [])])
    first.die()  # kill -9: the lock goes with it, the connection breaks
    link._spawn = second.spawn
    assert link.send([(control.encode(control.DROP, "x"), [])])
    assert second.spawned == 1
    _, door = second.door(paths)
    door.take_queued()
    assert second.got == [(["drop", "x"], [])]


def test_no_start_when_not_asked_for(paths):
    server = FakeServer()
    assert control.ServerLink(paths, server.spawn).send([(control.RELOAD, [])], start=False) is False
    assert server.spawned == 0


def test_a_closing_door_reads_what_was_sent_and_refuses_the_rest(paths):
    server = FakeServer()
    link = control.ServerLink(paths, server.spawn)
    assert link.send([(control.STALE, [])])
    _, door = server.door(paths)
    door.take_queued()
    assert link.send([(control.RELOAD, [])])  # delivered: in the queue of an accepted connection
    door.shut()
    assert [w for w, _ in server.got] == [["stale"], ["reload"]]  # read before the door closed
    assert not os.path.exists(paths.control)
    with pytest.raises(BrokenPipeError):
        link._sock.send(control.STALE)  # refused: the sender knows it was not delivered
    door.reopen()
    link.close()
    assert link.send([(control.STALE, [])])
    door.take_queued()
    assert [w for w, _ in server.got][-1] == ["stale"]


def test_changes_on_networks_without_dns_tell_no_server(engine, monkeypatch):
    """With no network that resolves names no server serves any: a change
    sends nothing, and does not even try the control socket (a socket and a
    failed connect per attach, measured in the attach's budget)."""
    from nsnet.dns.control import ServerLink

    tried = []
    monkeypatch.setattr(ServerLink, "_connect", lambda self: tried.append(1) or False)
    engine.network_create("quiet", subnet="10.9.0.0/24", dns=False)
    assert len(tried) == 1  # the network change's RELOAD: a server of another network may be stopping
    tried.clear()
    engine.sandbox_create("a", networks=["quiet"])
    engine.network_disconnect("quiet", "a")
    engine.network_connect("quiet", "a")
    engine.sandbox_rm("a")
    assert tried == []
