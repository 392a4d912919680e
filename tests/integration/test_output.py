"""What the command line prints: kernel text verbatim (a terminal library once
turned `:cd:` in a MAC into an emoji: issue #15, item 10), and `inspect` in
ISO-8601 times and JSON-shaped values, never Python reprs or epoch floats
(issue #20, item 7)."""

import json
import re

from .helpers import sh

ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
CD_MAC = "02:4c:0f:cd:17:c7"  # the MAC of bridge nsbr-db (derived from its name): `:cd:` is an emoji code


def test_a_mac_with_an_emoji_code_prints_verbatim(host, tmp_path):
    lab = tmp_path / "db.yaml"
    lab.write_text("name: db\nnetworks:\n  db: {subnet: 10.66.0.0/24}\nsandboxes:\n  s: {networks: [db]}\n")
    assert host.cli("up", str(lab)).returncode == 0
    explained = host.cli("explain", "db").stdout
    assert f"ip -n {host.name} link add nsbr-db address {CD_MAC} type bridge" in explained
    sh("ip", "-n", host.name, "link", "del", "nsbr-db")  # drift: status shows the command with the MAC
    status = host.cli("status", str(lab))
    assert status.returncode == 1 and f"address {CD_MAC} type bridge" in status.stdout
    assert f"address {CD_MAC} type bridge" in host.cli("up", "--dry-run", str(lab)).stdout
    assert host.cli("up", str(lab)).returncode == 0
    assert CD_MAC in sh("ip", "-n", host.name, "link", "show", "nsbr-db").stdout


def test_inspect_prints_iso_times_and_json_values(host):
    assert host.cli("network", "create", "n", "--subnet", "10.67.0.0/24").returncode == 0
    assert host.cli("sandbox", "create", "s", "--network", "n").returncode == 0
    net = json.loads(host.cli("--json", "network", "inspect", "n").stdout)
    assert ISO.fullmatch(net["created"]), net["created"]
    assert net["options"] == {"internal": False, "masquerade": True, "dns": True, "direct_routing": False}
    assert net["endpoints"][0]["is_gateway"] is True
    assert ISO.fullmatch(json.loads(host.cli("--json", "network", "ls").stdout)[0]["created"])
    sb = json.loads(host.cli("--json", "sandbox", "inspect", "s").stdout)
    assert sb["endpoints"][0]["is_gateway"] is True
    assert {r["proto"] for r in sb["kernel"]["routes"]} == {"kernel", "static"}
    assert all(set(a) == {"ifname", "cidr"} for a in sb["kernel"]["addresses"])
    for argv in (("network", "inspect", "n"), ("sandbox", "inspect", "s")):
        text = host.cli(*argv).stdout
        assert "{'" not in text and "True" not in text and "False" not in text, text  # no Python reprs
        assert not re.search(r"\b1\d{9}\.\d+", text), text  # no epoch floats
    assert re.search(r"created +" + ISO.pattern, host.cli("network", "inspect", "n").stdout)
    assert re.search(r"internal +false", host.cli("network", "inspect", "n").stdout)


def test_ps_json_times_are_iso(host):
    r = host.cli("run", "--name", "p", "--", "true")
    assert r.returncode == 0, r.stderr
    (record,) = json.loads(host.cli("--json", "ps", "-a").stdout)  # -a: it exited
    assert ISO.fullmatch(record["started_at"]) and ISO.fullmatch(record["finished_at"])
    assert record["uptime"] is None and record["exit_code"] == 0
