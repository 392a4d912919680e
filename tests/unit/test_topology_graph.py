"""`nsnet graph` at 200 sandboxes: grouped by network in blocks of columns (not
one long column), in graphviz, Mermaid and JSON alike."""

import json
import subprocess

from nsnet.topology.graph import Picture, column_height, groups, text, write


def picture(n: int, nets: int = 4, multi_homed_every: int = 0) -> Picture:
    pic = Picture("big", "host")
    pic.networks = [{"name": f"net{i}", "driver": "bridge", "subnet": f"10.{i}.0.0/16", "gateway": f"10.{i}.0.1",
                     "bridge": f"nsbr-net{i}", "internal": False} for i in range(nets)]
    pic.sandboxes = [{"name": f"sb{j}", "mode": "netns", "routes": [],
                      "ifaces": [("eth0", f"10.{j % nets}.0.{j + 2}", f"net{j % nets}")]} for j in range(n)]
    if multi_homed_every:
        for sb in pic.sandboxes[::multi_homed_every]:
            sb["ifaces"].append(("eth1", None, "net0" if sb["ifaces"][0][2] != "net0" else "net1"))
    pic.links = [{"a": "sb1", "b": "sb2", "ifname_a": "to-sb2", "ifname_b": "to-sb1", "ip_a": None, "ip_b": None}
                 ] if n > 2 else []
    return pic


def test_each_sandbox_under_its_first_network_and_link_only_ones_apart():
    pic = picture(8, nets=2)
    pic.sandboxes.append({"name": "loner", "mode": "netns", "routes": [], "ifaces": [("x0", "10.9.0.1/30", None)]})
    grouped = [(net["name"] if net else None, [sb["name"] for sb in members]) for net, members in groups(pic)]
    assert grouped == [("net0", ["sb0", "sb2", "sb4", "sb6"]), ("net1", ["sb1", "sb3", "sb5", "sb7"]),
                       (None, ["loner"])]


def test_a_small_picture_is_one_column_a_large_one_a_grid():
    assert column_height(picture(12)) == 12
    height = column_height(picture(200))
    assert 5 <= height < 50, height


def test_200_sandboxes_make_a_picture_about_as_wide_as_tall():  # graphviz's dot: scripts/setup.sh
    source = text(picture(200, nets=4, multi_homed_every=10), "dot")
    assert source.count("subgraph cluster_") == 4
    plain = subprocess.run(["dot", "-Tplain"], input=source, capture_output=True, text=True, check=True).stdout
    _, _scale, width, height = plain.splitlines()[0].split()
    # One long column (every sandbox on one rank) was 5.6 x 125 inches: 22 times as tall as wide.
    assert 1 / 3 < float(height) / float(width) < 3, (width, height)


def test_mermaid_has_a_subgraph_per_network_and_every_sandbox_once():
    pic = picture(200, nets=4, multi_homed_every=10)
    mmd = text(pic, "mmd")
    lines = mmd.splitlines()
    assert lines[:2] == ["%% nsnet graph: big", "flowchart LR"]
    assert sum(line.startswith("  subgraph ") for line in lines) == 4 == lines.count("  end")
    for j in range(200):
        assert sum(line.startswith(f"    s{j}[") for line in lines) == 1
    assert any("~~~" in line for line in lines)  # columns side by side
    assert sum("---|" in line for line in lines) == 20  # the multi-homed sandboxes' second networks
    assert '  s1 ===|"to-sb2 - to-sb1"| s2' in lines


def test_json_holds_the_groups_and_every_interface(tmp_path):
    out = write(picture(20, nets=2), str(tmp_path / "g.json"))
    with open(out) as f:
        data = json.load(f)
    assert [n["name"] for n in data["networks"]] == ["net0", "net1"]
    assert data["networks"][0]["sandboxes"][:2] == ["sb0", "sb2"] and data["networks"][0]["subnet"] == "10.0.0.0/16"
    assert data["sandboxes"][3] == {"name": "sb3", "mode": "netns", "routes": [],
                                    "interfaces": [{"ifname": "eth0", "ip": "10.1.0.5", "network": "net1"}]}


def test_a_label_with_quotes_stays_one_mermaid_label():
    pic = picture(1, nets=1)
    pic.host = 'host "lab"'
    assert '  host[["host #quot;lab#quot;"]]' in text(pic, "mmd").splitlines()


def test_a_topology_not_up_shows_the_bridge_the_engine_would_make():
    # A long network name does not fit 'nsbr-NAME' in IFNAMSIZ: the engine hashes it (names.bridge_name).
    from nsnet.names import bridge_name
    from nsnet.topology import loads
    from nsnet.topology.graph import from_topology

    topo = loads("name: t\nnetworks:\n  analytics-backend: {subnet: 10.5.0.0/24}\n  db: {subnet: 10.6.0.0/24}\n"
                 "sandboxes:\n  a: {networks: [analytics-backend, db]}\n")
    bridges = {n["name"]: n["bridge"] for n in from_topology(topo).networks}
    assert bridges == {"analytics-backend": bridge_name("analytics-backend"), "db": "nsbr-db"}
    assert len(bridges["analytics-backend"]) <= 15
