"""A sandbox's MAC follows from its address (02:42 + the IPv4 address, as
Docker makes them): a sandbox re-created or repaired with the same address is
reached at once, where a random MAC left its peers' ARP entries pointing at
the old one for ~20-25 s."""

from .helpers import in_ns, sh


def neighbour_mac(ns: str, ip: str) -> str | None:
    words = in_ns(ns, "ip", "neigh", "show", ip).stdout.split()
    return words[words.index("lladdr") + 1] if "lladdr" in words else None


def eth0_mac(ns: str) -> str:
    words = in_ns(ns, "ip", "-o", "link", "show", "eth0").stdout.split()
    return words[words.index("link/ether") + 1]


def reaches(ns: str, ip: str, tries: int = 3) -> bool:
    """The first packet after a change is retried (bounded): 3 pings of 1 s, far
    below the ~20 s a stale ARP entry lasts."""
    return any(in_ns(ns, "ping", "-n", "-q", "-c", "1", "-W", "1", ip).returncode == 0 for _ in range(tries))


def test_a_sandbox_re_created_with_the_same_address_is_reached_at_once(host):
    e = host.engine
    e.network_create("n", subnet="10.62.0.0/24")
    e.sandbox_create("s1", networks=["n"])
    e.sandbox_create("peer", networks=["n"])
    peer = host.prefix + "peer"
    assert reaches(peer, "10.62.0.2")
    assert eth0_mac(host.prefix + "s1") == "02:42:0a:3e:00:02"
    e.sandbox_rm("s1")
    e.sandbox_create("s2", networks=["n"])  # the freed address again
    assert e.sandbox_inspect("s2")["endpoints"][0]["ip"] == "10.62.0.2"
    assert eth0_mac(host.prefix + "s2") == "02:42:0a:3e:00:02"
    assert neighbour_mac(peer, "10.62.0.2") == "02:42:0a:3e:00:02"  # the peer's cache is still right
    assert reaches(peer, "10.62.0.2")
    assert reaches(host.name, "10.62.0.2")  # and so is the host's


def test_a_repaired_sandbox_is_reached_at_once(host):
    e = host.engine
    e.network_create("n", subnet="10.63.0.0/24")
    e.sandbox_create("s1", networks=["n"])
    e.sandbox_create("peer", networks=["n"])
    peer = host.prefix + "peer"
    assert reaches(peer, "10.63.0.2")
    sh("ip", "netns", "del", host.prefix + "s1")  # gone behind nsnet's back
    assert e.repair()["errors"] == []
    assert eth0_mac(host.prefix + "s1") == "02:42:0a:3f:00:02"
    assert reaches(peer, "10.63.0.2")


def test_a_fixed_mac_wins_over_the_derived_one(host):
    e = host.engine
    e.network_create("n", subnet="10.64.0.0/24")
    e.sandbox_create("s")
    e.network_connect("n", "s", mac="02:aa:00:00:00:07")
    assert eth0_mac(host.prefix + "s") == "02:aa:00:00:00:07"
    assert e.drift() == []
