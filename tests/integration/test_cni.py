"""nsnet as a CNI plugin, driven exactly as a container runtime drives one:
CNI_* environment, config on stdin, run inside the host's namespace, the
container's namespace made by the 'runtime' (the test)."""

import json
import os
import subprocess
import sys

import pytest

from .helpers import in_ns, ping, sh
from .traffic import roundtrip

PLUGIN = os.path.join(os.path.dirname(sys.executable), "nsnet-cni")


def cni(host, command, container, netns, conf=None, ifname="eth0", raw=None):
    env = dict(os.environ, CNI_COMMAND=command, CNI_CONTAINERID=container, CNI_NETNS=netns, CNI_IFNAME=ifname,
               CNI_PATH="/nonexistent")
    env.pop("NSNET_HOST_NETNS", None)
    stdin = raw if raw is not None else json.dumps(conf or {})
    r = subprocess.run(["nsenter", f"--net=/run/netns/{host.name}", PLUGIN], input=stdin, env=env,
                       capture_output=True, text=True, timeout=30)
    out = json.loads(r.stdout) if r.stdout.strip() else None
    return r.returncode, out


@pytest.fixture
def runtime(host):
    """Two container namespaces, made by the 'runtime' (removed by it too)."""
    names = [f"{host.name}c{i}" for i in range(2)]
    for n in names:
        sh("ip", "netns", "add", n)
        sh("ip", "-n", n, "link", "set", "lo", "up")
    try:
        yield names
    finally:
        for n in names:
            subprocess.run(["ip", "netns", "del", n], capture_output=True)


def conf(host, **extra):
    return {"cniVersion": "1.0.0", "name": "cninet", "type": "nsnet", "subnet": "10.88.0.0/24",
            "stateDir": host.state_dir, **extra}


def test_add_check_del_like_a_runtime(host, runtime):
    c0, c1 = runtime
    mappings = {"portMappings": [{"hostPort": 18080, "containerPort": 80, "protocol": "tcp"}]}
    code, res = cni(host, "ADD", "ctr0", f"/run/netns/{c0}", conf(host, runtimeConfig=mappings))
    assert code == 0, res
    assert res["cniVersion"] == "1.0.0"
    assert res["ips"] == [{"address": "10.88.0.2/24", "gateway": "10.88.0.1", "interface": 1}]
    assert res["interfaces"][1]["name"] == "eth0" and res["interfaces"][1]["sandbox"] == f"/run/netns/{c0}"
    assert len(res["interfaces"][1]["mac"]) == 17
    assert res["routes"] == [{"dst": "0.0.0.0/0", "gw": "10.88.0.1"}]
    assert res["dns"] == {"nameservers": ["10.88.0.1"]}
    code, res1 = cni(host, "ADD", "ctr1", f"/run/netns/{c1}", conf(host))
    assert code == 0 and res1["ips"][0]["address"] == "10.88.0.3/24"
    assert ping(c0, "10.88.0.3") and ping(c1, "10.88.0.1")
    assert roundtrip(c0, host.name, "127.0.0.1", port=18080, server_port=80) is not None  # portMappings
    assert cni(host, "CHECK", "ctr0", f"/run/netns/{c0}", conf(host))[0] == 0
    sh("ip", "-n", c0, "link", "del", "eth0")  # drift: CHECK must notice
    code, err = cni(host, "CHECK", "ctr0", f"/run/netns/{c0}", conf(host))
    assert code == 1 and err["code"] == 999 and "no longer matches" in err["msg"]
    assert cni(host, "DEL", "ctr0", f"/run/netns/{c0}", conf(host))[0] == 0
    assert cni(host, "DEL", "ctr0", f"/run/netns/{c0}", conf(host))[0] == 0  # twice is fine
    assert os.path.exists(f"/run/netns/{c0}")  # the runtime's namespace is not nsnet's to remove
    assert "18080" not in sh("ip", "netns", "exec", host.name, "nft", "list", "map", "inet", "nsnet",
                             "pub_any_port").stdout
    subprocess.run(["ip", "netns", "del", c1])  # the runtime removed the container first
    assert cni(host, "DEL", "ctr1", f"/run/netns/{c1}", conf(host))[0] == 0
    assert host.engine.store.snapshot()["sandboxes"] == []
    assert not any(link.startswith("nsv") for link in host.host_links())


def test_protocol_errors(host, runtime):
    c0 = runtime[0]
    assert cni(host, "ADD", "x", f"/run/netns/{c0}", raw="{not json")[1]["code"] == 6
    code, err = cni(host, "ADD", "x", f"/run/netns/{c0}", conf(host, cniVersion="9.9.9"))
    assert code == 1 and err["code"] == 1
    code, err = cni(host, "ADD", "x", "", conf(host))
    assert code == 1 and err["code"] == 4 and "CNI_NETNS" in err["msg"]
    code, err = cni(host, "ADD", "x", "/run/netns/nt-nope", conf(host))
    assert code == 1 and "does not exist" in err["msg"]
    code, err = cni(host, "ADD", "x", f"/run/netns/{c0}", conf(host, subnet="10.88.0.0/33"))
    assert code == 1 and err["code"] == 7 and "not a valid CIDR" in err["msg"]
    code, err = cni(host, "CHECK", "ghost", f"/run/netns/{c0}", conf(host))
    assert code == 1 and err["code"] == 3
    assert host.engine.store.snapshot()["sandboxes"] == []
    code, out = cni(host, "VERSION", "", "", raw="")
    assert code == 0 and "1.0.0" in out["supportedVersions"]
    assert in_ns(c0, "ip", "-o", "link").stdout.count("eth0") == 0
