"""A real podman (CNI backend, runc) with nsnet-cni as its only plugin, in a
throwaway host namespace. If podman cannot start containers here the test
fails with podman's reason: it is never skipped."""

import os
import subprocess

import pytest

from .helpers import in_ns, wait_until
from .outside import HOST_IP
from .podman_env import IMAGE, Podman

SERVE = ["httpd", "-f", "-p", "80", "-h", "/www"]


@pytest.fixture
def podman(host):
    p = Podman(host)
    try:
        yield p
    finally:
        p.destroy()


GET = "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=2).read().decode(), end='')"


def fetch(ns: str, url: str, tries: int = 10) -> str | None:
    """An HTTP GET from namespace `ns` (busybox's wget crashes here); the first
    packet after a change is retried, bounded."""
    for _ in range(tries):
        r = in_ns(ns, "python3", "-c", GET, url)
        if r.returncode == 0:
            return r.stdout
    return None


def reaches(podman, container: str, ip: str) -> bool:
    return wait_until(lambda: podman.run("exec", container, "ping", "-c", "1", "-W", "1", ip,
                                         check=False).returncode == 0, timeout=10, interval=0.2)


def address(podman, container: str, network: str) -> dict:
    net = podman.inspect(container)["NetworkSettings"]["Networks"][network]
    return {"ip": net["IPAddress"], "mac": net["MacAddress"]}


def test_podman_runs_containers_on_nsnet(host, podman, outside):
    eng = host.engine
    podman.network("pnet", subnet="10.90.0.0/24")
    podman.network("pnet2", subnet="10.91.0.0/24")

    podman.run("run", "-d", "--name", "web", "--network", "pnet", "-p", "18090:80", IMAGE, *SERVE)
    podman.run("run", "-d", "--name", "peer", "--network", "pnet", IMAGE, "sleep", "300")
    web = address(podman, "web", "pnet")
    assert web["ip"] == "10.90.0.2" and address(podman, "peer", "pnet")["ip"] == "10.90.0.3"
    assert "inet 10.90.0.2/24" in podman.run("exec", "web", "ip", "addr", "show", "eth0").stdout
    assert reaches(podman, "peer", "10.90.0.2")  # container to container
    assert fetch(outside.name, f"http://{HOST_IP}:18090/") == "hello from podman\n"  # -p from outside

    # --ip and --mac-address (podman sends them as CNI_ARGS IP= / MAC=), with a published port
    podman.run("run", "-d", "--name", "fixed", "--network", "pnet", "--ip", "10.90.0.50",
               "--mac-address", "02:42:0a:5a:00:32", "-p", "18092:80", IMAGE, *SERVE)
    assert address(podman, "fixed", "pnet") == {"ip": "10.90.0.50", "mac": "02:42:0a:5a:00:32"}
    assert reaches(podman, "peer", "10.90.0.50")
    assert fetch(outside.name, f"http://{HOST_IP}:18092/") == "hello from podman\n"

    # two networks, one published port on both
    podman.run("run", "-d", "--name", "multi", "--network", "pnet,pnet2", "-p", "18091:80", IMAGE, *SERVE)
    assert address(podman, "multi", "pnet2")["ip"] == "10.91.0.2"
    assert address(podman, "multi", "pnet")["ip"] == "10.90.0.4"
    assert fetch(outside.name, f"http://{HOST_IP}:18091/") == "hello from podman\n"
    podman.run("network", "connect", "pnet2", "web")  # a container that publishes a port joins another network
    assert address(podman, "web", "pnet2")["ip"] == "10.91.0.3"

    # reload: podman DELs and ADDs again while conmon holds the host port
    podman.run("network", "reload", "web")
    assert address(podman, "web", "pnet") == web
    assert fetch(outside.name, f"http://{HOST_IP}:18090/") == "hello from podman\n"

    namespaces = {c: podman.netns(c) for c in ("web", "peer", "fixed", "multi")}
    podman.run("rm", "--force", "--time", "0", "web", "peer", "fixed", "multi")
    # nothing is left: namespaces, host links, nft elements, store rows, address leases. (Only
    # these containers' namespaces are looked at: other podman runs on the machine make theirs.)
    assert not any(os.path.exists(path) for path in namespaces.values())
    assert wait_until(lambda: [link for link in host.host_links() if link.startswith("nsv")] == [], timeout=10)
    elements = subprocess.run(["ip", "netns", "exec", host.name, "nft", "list", "map", "inet", "nsnet",
                               "pub_any_addr"], capture_output=True, text=True).stdout
    assert "1809" not in elements
    assert eng.sandbox_ls() == [] and eng.port_ls() == []
    assert eng.network_inspect("pnet")["endpoints"] == [] and eng.network_inspect("pnet2")["endpoints"] == []
    podman.run("run", "-d", "--name", "again", "--network", "pnet", IMAGE, "sleep", "300")
    assert address(podman, "again", "pnet")["ip"] == "10.90.0.2"  # the first address is free again
