"""Encrypted overlays (`--opt encrypted`): three simulated hosts ('gw'
namespaces on an underlay bridge) with a real etcd, an agent each and a
WireGuard device each (wireguard-go on this kernel). What crosses the underlay
is captured with a raw socket: only WireGuard's UDP, never the payload nor
VXLAN's ports."""

import contextlib
import json
import os
import signal
import socket
import struct
import time
import uuid

import pytest

from nsnet.drivers import tunnel
from nsnet.drivers.overlay import endpoint_mac
from nsnet.kernel import nsfs, wireguard

from . import overlay_fixtures
from .capture import Capture
from .helpers import NSNET, blocked, in_ns, ping, sh, wait_until
from .overlay_env import Lab, wait_ping
from .traffic import roundtrip

etcd = overlay_fixtures.etcd
SUBNET = "10.230.0.0/24"


@pytest.fixture
def wlab(etcd):
    """Underlay + hosts on a fresh etcd prefix; afterwards no namespace and no
    wireguard-go of the lab may be left."""
    lab = Lab(f"{etcd.url}/gw{uuid.uuid4().hex[:8]}", prefix="gw")
    pids = []
    try:
        yield lab
    finally:
        pids = [p for p in (h.wireguard_pid() for h in lab.hosts) if p]
        lab.destroy()
    assert lab.leftovers() == [], f"namespaces leaked: {lab.leftovers()}"
    left = [p for p in pids if running(p)]
    assert not left, f"wireguard-go left running: {left}"


def running(pid: int) -> bool:
    """Alive and not a zombie (a zombie is its parent's to reap: init's, once the agent that started it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def peer_hosts(host) -> set:
    """The hosts `host`'s device peers with, by name (as long as they are in the cluster store)."""
    return {p["host"] for p in host.engine.tunnel_status()["peers"]}


def peer_keys(host) -> set:
    return {p["key"] for p in host.engine.tunnel_status()["peers"]}


def key_of(host) -> str:
    return host.engine.overlay_host()["wg"]["key"]


def links(ns: str) -> str:
    return sh("ip", "-n", ns, "-o", "link", "show").stdout


def encrypted_hosts(lab, count=3, ttls=None):
    hosts = [lab.add_host(ttl=(ttls or {}).get(i, 3)) for i in range(count)]
    hosts[0].engine.overlay_create("sec", subnet=SUBNET, encrypted=True)
    ips = [h.sandbox(f"s{h.index}", "sec") for h in hosts]
    for h, ip in zip(hosts[1:], ips[1:], strict=True):
        assert wait_ping(hosts[0].netns("s1"), ip, timeout=10) is not None, h.agent_log()
    return hosts, ips


def test_three_hosts_reach_each_other_only_through_wireguard(wlab):
    (a, b, c), (ip_a, ip_b, ip_c) = encrypted_hosts(wlab)
    marker = f"nsnet-marker-{uuid.uuid4().hex}"
    with Capture(wlab.underlay.name) as cap:
        for src, dst in ((a, ip_b), (a, ip_c), (b, ip_c), (c, ip_a)):
            assert wait_ping(src.netns(f"s{src.index}"), dst, timeout=5) is not None
        assert roundtrip(b.netns("s2"), a.netns("s1"), ip_b, proto="tcp", payload=marker) == \
            f"{marker.upper()} {ip_a}"
        assert roundtrip(c.netns("s3"), b.netns("s2"), ip_c, proto="udp", payload=marker) == \
            f"{marker.upper()} {ip_b}"
        assert roundtrip(a.netns("s1"), c.netns("s3"), ip_a, proto="tcp", payload=marker) == \
            f"{marker.upper()} {ip_c}"
    frames = cap.ipv4()
    wg = [f for f in frames if tunnel.WG_PORT in f.ports and f.proto == socket.IPPROTO_UDP]
    assert len(wg) >= 20, f"the capture saw no WireGuard traffic: {frames[:5]}"
    assert {(f.src, f.dst) for f in wg} >= {(a.address, b.address), (b.address, c.address), (c.address, a.address)}
    # The hosts' own IGMP membership reports (to 224.0.0.22) carry nothing of the sandboxes'.
    others = [f for f in frames if f not in wg and f.proto != socket.IPPROTO_IGMP]
    assert others == [], f"not WireGuard on the underlay: {others[:5]}"
    assert cap.containing(marker.encode()) == [] and cap.containing(marker.upper().encode()) == []
    assert not any(f.ports & {4789, tunnel.ENCRYPTED_VXLAN_PORT} for f in cap.frames if f.ports)
    # one device per host, peering with the two others, no VXLAN on the advertise addresses
    for host in (a, b, c):
        status = host.engine.tunnel_status()
        assert status["running"] and status["backend"] in (wireguard.USERSPACE, wireguard.KERNEL)
        assert peer_hosts(host) == {h.name for h in (a, b, c)} - {host.name}
        assert all(p["handshake"] for p in status["peers"])
        details = sh("ip", "-n", host.name, "-d", "link", "show", "nsvx-4096").stdout
        assert f"local {status['address'].split('/')[0]}" in details and "dstport 4790" in details
    # the MTU leaves room for both headers: a full-size packet with DF set crosses
    assert "mtu 1390" in sh("ip", "-n", a.netns("s1"), "link", "show", "eth0").stdout
    assert "mtu 1440" in links(a.name).split("nswg0")[1].splitlines()[0]
    assert in_ns(a.netns("s1"), "ping", "-c", "1", "-W", "2", "-M", "do", "-s", "1362", ip_b).returncode == 0
    assert a.engine.drift() == [] and b.engine.drift() == []


def test_the_private_key_stays_on_its_host(wlab):
    a, b = wlab.add_host(), wlab.add_host()
    a.engine.overlay_create("sec", subnet=SUBNET, encrypted=True)
    key_file = tunnel.key_path(a.state_dir)
    assert os.stat(key_file).st_mode & 0o777 == 0o600 and os.stat(os.path.dirname(key_file)).st_mode & 0o777 == 0o700
    with open(key_file) as f:
        private = f.read().strip()
    cluster = json.dumps(a.engine.cluster.kv.range("/")[0], default=lambda item: item.__dict__)
    assert private not in cluster and a.engine.overlay_hosts()[a.name]["wg"]["key"] in cluster
    assert private not in "\n".join(a.engine.explain()) + a.agent_log()
    # several hosts on one machine: each socket in its own state dir, none in the machine's /run
    for host in (a, b):
        host.sandbox("x", "sec")
        assert os.path.exists(wireguard.socket_path(host.tunnel_device))
    assert not os.path.exists("/var/run/wireguard/nswg0.sock")
    # wireguard-go holds no copy of the machine's namespace mounts (it would keep deleted ones alive)
    with open(f"/proc/{a.wireguard_pid()}/mountinfo") as f:
        assert "/run/netns/" not in f.read()


def test_a_host_that_leaves_stops_being_a_peer(wlab):
    (a, b, c), (ip_a, ip_b, ip_c) = encrypted_hosts(wlab)
    assert c.stop_agent(signal.SIGTERM) == 0
    assert wait_until(lambda: key_of(c) not in peer_keys(a) | peer_keys(b), timeout=15), a.agent_log()
    assert peer_keys(a) == {key_of(b)} and peer_keys(b) == {key_of(a)}
    assert endpoint_mac(ip_c) not in a.fdb("nsvx-4096")
    assert blocked(c.netns("s3"), ip_a, wait=2)  # A no longer knows C's key
    assert ping(a.netns("s1"), ip_b)
    c.start_agent()  # it comes back: a peer again, reachable again
    assert wait_until(lambda: c.name in peer_hosts(a) and c.name in peer_hosts(b), timeout=10), a.agent_log()
    # WireGuard retries a handshake every 5 s: bounded at 20 s on a busy machine
    assert wait_ping(c.netns("s3"), ip_a, timeout=20) is not None


def test_agent_killed_and_restarted_resyncs_its_peers(wlab):
    (a, b, c), (ip_a, ip_b, _) = encrypted_hosts(wlab, ttls={1: 60})  # B stays registered while its agent is down
    pid = b.wireguard_pid()
    b.stop_agent(signal.SIGKILL)
    assert wait_ping(b.netns("s2"), ip_a, timeout=5) is not None  # the data plane does not need the agent
    assert c.stop_agent(signal.SIGTERM) == 0  # meanwhile C leaves and D joins
    d = wlab.add_host()
    ip_d = d.sandbox("s4", "sec")
    assert wait_until(lambda: peer_hosts(a) == {b.name, d.name}, timeout=15), a.agent_log()
    assert peer_keys(b) == {key_of(a), key_of(c)}  # nobody told B's device yet
    b.start_agent()
    assert wait_until(lambda: peer_hosts(b) == {a.name, d.name}, timeout=10), b.agent_log()
    assert b.wireguard_pid() == pid  # the same wireguard-go all along
    assert wait_ping(b.netns("s2"), ip_d, timeout=10) is not None, b.agent_log()
    assert ping(d.netns("s4"), ip_b)


def test_a_wireguard_go_that_dies_is_started_again(wlab):
    (a, _, _), (_, ip_b, _) = encrypted_hosts(wlab)
    pid = a.wireguard_pid()
    assert pid
    os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: (a.wireguard_pid() or pid) != pid, timeout=10), a.agent_log()
    assert wait_ping(a.netns("s1"), ip_b, timeout=10) is not None, a.agent_log()
    assert peer_hosts(a) == {h.name for h in wlab.hosts} - {a.name}
    assert "WireGuard device nswg0: started" in a.agent_log()
    # without an agent, doctor's check says so, and a sync puts it right
    a.stop_agent(signal.SIGKILL)
    os.kill(a.wireguard_pid(), signal.SIGKILL)
    assert wait_until(lambda: a.engine.tunnel_check() != [], timeout=5)
    assert "need nswg0" in a.engine.tunnel_check()[0]["problem"]
    out = a.cli("overlay", "tunnel", "sync")
    assert out.returncode == 0 and "started" in out.stdout, out.stderr
    assert a.engine.tunnel_check() == [] and wait_ping(a.netns("s1"), ip_b, timeout=10) is not None


def test_the_device_goes_with_the_last_encrypted_network(wlab):
    a, b = wlab.add_host(), wlab.add_host()
    a.engine.overlay_create("sec", subnet=SUBNET, encrypted=True)
    a.engine.overlay_create("pub", subnet="10.231.0.0/24")  # a plaintext overlay beside it
    a.engine.overlay_create("sec2", subnet="10.232.0.0/24", encrypted=True)
    b.sandbox("b1", "sec")
    b.sandbox("b2", "pub")
    explained = a.engine.explain()
    assert sum(line.startswith(f"ip -n {a.name} link add nswg0 type wireguard") for line in explained) == 1
    pids = {h.name: h.wireguard_pid() for h in (a, b)}
    assert all(pids.values())
    a.engine.network_rm("sec2")
    assert a.wireguard_pid() == pids[a.name]  # 'sec' still needs it
    b.engine.network_disconnect("sec", "b1")
    assert a.engine.network_rm("sec")["errors"] == []
    assert a.wireguard_pid() is None and "nswg0" not in links(a.name)
    assert wireguard.read_record(a.tunnel_device) is None
    # B's agent drops its copy of 'sec' (the cluster removed it) and with it the device
    assert wait_until(lambda: b.wireguard_pid() is None and "nswg0" not in links(b.name), timeout=10), \
        b.agent_log()
    assert not running(pids[b.name])
    assert "nsvx" in links(b.name) and b.engine.store.network("pub")  # the plaintext overlay stays


def test_plaintext_vxlan_for_an_encrypted_network_is_dropped(wlab):
    a = wlab.add_host()
    vni_sec = a.engine.overlay_create("sec", subnet=SUBNET, encrypted=True)["options"]["vni"]
    vni_pub = a.engine.overlay_create("pub", subnet="10.231.0.0/24")["options"]["vni"]
    a.sandbox("a1", "sec")
    a.sandbox("a2", "pub")
    underlay = wlab.underlay.name
    sh("ip", "-n", underlay, "addr", "add", "10.99.0.250/24", "dev", "br0")
    marker = f"injected-{uuid.uuid4().hex}".encode()

    def inject(port: int, vni: int) -> None:
        inner = b"\xff" * 6 + bytes.fromhex("02420a63fafa") + b"\x88\xb5" + marker  # broadcast, local ethertype
        with nsfs.inside(underlay):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with contextlib.closing(sock):
            for _ in range(5):
                sock.sendto(struct.pack("!II", 0x08000000, vni << 8) + inner, (a.address, port))
                time.sleep(0.05)

    def seen_in(ns: str, port: int, vni: int) -> bool:
        with Capture(ns, max_seconds=5) as cap:
            time.sleep(0.1)
            inject(port, vni)
            time.sleep(0.3)
        return bool(cap.containing(marker))

    assert seen_in(a.netns("a2"), 4789, vni_pub)  # the plaintext overlay takes injected frames (no keys)
    assert not seen_in(a.netns("a1"), tunnel.ENCRYPTED_VXLAN_PORT, vni_sec)  # the encrypted one does not
    assert not seen_in(a.netns("a1"), 4789, vni_sec)


def test_bad_input_changes_nothing(wlab):
    a = wlab.add_host()
    cases = [
        (("network", "create", "x", "--opt", "encrypted"), 2, "option 'encrypted' is for --driver overlay"),
        (("network", "create", "x", "--driver", "overlay", "--opt", "colour=red"), 2,
         "unknown option 'colour' for driver 'overlay' (known: encrypted)"),
        (("network", "create", "x", "--driver", "overlay", "-o", "encrypted=maybe"), 2,
         "option 'encrypted' takes true or false"),
        (("network", "create", "x", "--driver", "overlay", "--opt", "=1"), 2, "give KEY or KEY=VALUE"),
        (("network", "create", "x", "--driver", "overlay", "--opt", "encrypted", "--mtu", "1400"), 2,
         "and 60 of WireGuard"),
        (("network", "create", "x", "--driver", "overlay", "--opt", "encrypted", "--subnet", "100.96.8.0/24"), 4,
         "the tunnel addresses of encrypted overlays"),
    ]
    for argv, code, text in cases:
        out = a.cli(*argv)
        assert out.returncode == code and text in out.stderr, (argv, out.returncode, out.stderr)
        assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    assert a.engine.network_ls() == [] and a.engine.cluster.networks() == []
    assert "nswg0" not in links(a.name) and a.wireguard_pid() is None
    dry = a.cli("network", "create", "x", "--driver", "overlay", "--opt", "encrypted", "--dry-run")
    assert dry.returncode == 0 and f"wg set nswg0 listen-port {tunnel.WG_PORT} private-key" in dry.stdout
    assert "dstport 4790" in dry.stdout and "mtu 1390" in dry.stdout
    assert a.engine.network_ls() == [] and "nswg0" not in links(a.name) and a.wireguard_pid() is None


def test_a_failure_half_way_rolls_the_device_back(wlab):
    a, b = wlab.add_host(), wlab.add_host()
    env = dict(a.env, NSNET_FAIL_STEP="vxlan_add")
    out = sh(NSNET, "network", "create", "sec", "--driver", "overlay", "--opt", "encrypted",
             check=False, env=env)
    assert out.returncode == 6 and "injected failure" in out.stderr
    assert a.engine.cluster.networks() == [] and a.engine.network_ls() == []
    assert "nswg0" not in links(a.name) and a.wireguard_pid() is None
    a.engine.overlay_create("sec", subnet=SUBNET, encrypted=True)
    b.engine.sandbox_create("b1")
    out = sh(NSNET, "network", "connect", "sec", "b1", check=False,
             env=dict(b.env, NSNET_FAIL_STEP="cluster_publish"))
    assert out.returncode == 6, out.stderr
    assert "nswg0" not in links(b.name) and b.wireguard_pid() is None and b.engine.store.network("sec") is None
    assert a.engine.cluster.claims("sec") == {}
