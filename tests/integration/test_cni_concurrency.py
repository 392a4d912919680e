"""50 containers ADDed at once on a network that does not exist yet (#16 item
4): the network is made once, in the same change as the first attachment,
and every ADD gets its own address; no "database is locked" escapes."""

import concurrent.futures
import subprocess

import pytest

from .cni_env import Cni, single
from .helpers import ping, sh

COUNT = 50


@pytest.fixture
def containers(host):
    names = [f"{host.name}k{i}" for i in range(COUNT)]
    try:
        for n in names:
            sh("ip", "netns", "add", n)
        yield [f"/run/netns/{n}" for n in names]
    finally:
        for n in names:
            subprocess.run(["ip", "netns", "del", n], capture_output=True)


BAD = range(0, COUNT, 10)  # these ask for a host port another network's container holds


def test_50_parallel_adds_on_a_network_not_made_yet(host, containers):
    """Among them, 5 that fail (and are started first, so one of them is likely to
    be the ADD that makes the network): a failed ADD takes back only what it made
    and never the network the others are attaching to."""
    cni = Cni(host)
    try:
        holder = cni.conf(name="holder", subnet="10.90.0.0/24")
        sh("ip", "netns", "add", f"{host.name}holder")
        ports = {"runtimeConfig": {"portMappings": [{"hostPort": 18090, "containerPort": 80, "protocol": "tcp"}]}}
        assert cni.call("ADD", single(holder, **ports), container="holder",
                        netns=f"/run/netns/{host.name}holder")[0] == 0
        conf = single(cni.conf(name="burst", subnet="10.89.0.0/24"))

        def add(i):
            return cni.call("ADD", dict(conf, **ports) if i in BAD else conf, container=f"ctr{i}",
                            netns=containers[i])

        order = [*BAD, *(i for i in range(COUNT) if i not in BAD)]
        with concurrent.futures.ThreadPoolExecutor(COUNT) as pool:
            done = dict(zip(order, pool.map(add, order), strict=True))
        results = [done[i] for i in range(COUNT)]
        assert all(results[i][0] != 0 and "18090" in results[i][1]["msg"] for i in BAD), [results[i] for i in BAD]
        failed = [(i, out) for i, (code, out) in enumerate(results) if code != 0 and i not in BAD]
        assert failed == [], failed[:3]
        good = [i for i in range(COUNT) if i not in BAD]
        addresses = [results[i][1]["ips"][0]["address"].split("/")[0] for i in good]
        assert len(set(addresses)) == len(good)
        assert sorted(n["name"] for n in host.engine.network_rows()) == ["burst", "holder"]
        assert all(ping(host.name, ip) for ip in addresses)
        first, last = (containers[i].rsplit("/", 1)[1] for i in (good[0], good[-1]))
        assert ping(first, addresses[-1]) and ping(last, addresses[0])
        with concurrent.futures.ThreadPoolExecutor(COUNT) as pool:
            gone = list(pool.map(lambda i: cni.call("DEL", conf, container=f"ctr{i}", netns=containers[i]),
                                 range(COUNT)))
        assert [code for code, _ in gone] == [0] * COUNT, gone[:3]
        assert [ep["sandbox"] for ep in host.engine.endpoint_rows()] == ["cni-holder"]
    finally:
        cni.destroy()
        subprocess.run(["ip", "netns", "del", f"{host.name}holder"], capture_output=True)
