"""A real distributed system under a partition: a 3-node etcd cluster in three
nsnet sandboxes. Cut the leader off; the majority elects a new leader; a
write through the isolated node fails while the majority accepts writes;
heal; all three agree on the data.

Runs with the nsnet pytest plugin (installed with nsnet), as root:

    pytest examples/pytest

Every wait is bounded; etcd's timers are shortened (heartbeat 50 ms,
election 500 ms) so the test takes seconds, not minutes."""

import json
import time

NAMES = ("n1", "n2", "n3")


def etcdctl(lab, sandbox, *args, timeout=5):
    endpoint = f"http://{lab.ip(sandbox)}:2379"
    return lab.exec(sandbox, "etcdctl", "--endpoints", endpoint, "--command-timeout=2s", *args, timeout=timeout)


def wait_for(what, check, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def start_cluster(lab, data_dir):
    lab.network("etcd", subnet="10.80.0.0/24")
    ips = dict(zip(NAMES, lab.sandboxes(*NAMES, network="etcd"), strict=True))
    cluster = ",".join(f"{name}=http://{ip}:2380" for name, ip in ips.items())
    for name, ip in ips.items():
        lab.start(name, "etcd", "--name", name, "--data-dir", str(data_dir / name),
                  "--listen-peer-urls", f"http://{ip}:2380", "--initial-advertise-peer-urls", f"http://{ip}:2380",
                  "--listen-client-urls", f"http://{ip}:2379", "--advertise-client-urls", f"http://{ip}:2379",
                  "--initial-cluster", cluster, "--initial-cluster-state", "new",
                  "--heartbeat-interval", "50", "--election-timeout", "500")
    wait_for("a healthy cluster", lambda: all(etcdctl(lab, n, "endpoint", "health").returncode == 0 for n in NAMES))


def leader_seen_by(lab, sandbox):
    """The name of the member `sandbox` takes for the leader (None: it knows none)."""
    status = etcdctl(lab, sandbox, "endpoint", "status", "-w", "json")
    members = etcdctl(lab, sandbox, "member", "list", "-w", "json")
    if status.returncode or members.returncode:
        return None
    leader = json.loads(status.stdout)[0]["Status"].get("leader")  # left out (zero) during an election
    return next((m["name"] for m in json.loads(members.stdout)["members"] if m["ID"] == leader), None)


def test_the_majority_goes_on_without_the_isolated_leader(nsnet_lab, tmp_path):
    lab = nsnet_lab
    start_cluster(lab, tmp_path)
    assert etcdctl(lab, "n1", "put", "color", "blue").returncode == 0
    leader = wait_for("a leader", lambda: leader_seen_by(lab, "n1"))
    majority = [n for n in NAMES if n != leader]

    with lab.partitioned([leader]):  # the leader alone; the other two are the implicit group
        new_leader = wait_for("a new leader among the majority",
                              lambda: (seen := leader_seen_by(lab, majority[0])) in majority and seen)
        assert etcdctl(lab, leader, "put", "color", "red").returncode != 0  # no quorum behind it
        assert etcdctl(lab, new_leader, "put", "color", "green").returncode == 0

    def agreed():
        values = [etcdctl(lab, n, "get", "color", "--print-value-only", "--consistency=s").stdout.strip()
                  for n in NAMES]
        return values == ["green"] * 3

    wait_for("all three to agree after heal", agreed)
