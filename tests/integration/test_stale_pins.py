"""A command killed between making a namespace's pin file and mounting on it
(or between unmounting and unlinking it) leaves /run/netns/NAME as an empty
file that pins nothing. Found by a timed kill of `down` under load: the next
`down` failed with "[Errno 22] setns: Invalid argument"."""

import os
import subprocess

from nsnet.kernel import nsfs

from .helpers import NSNET, sh


def stale(path: str) -> None:
    """Leave `path` as a killed command would: the file, no mount on it."""
    subprocess.run(["umount", path], check=True)
    assert os.path.isfile(path) and not os.path.ismount(path)


def test_down_after_a_kill_between_unmount_and_unlink(host):
    eng = host.engine
    eng.network_create("n", subnet="10.38.0.0/24")
    eng.sandbox_create("a", networks=["n"])
    eng.sandbox_create("b", networks=["n"])
    eng.close()
    stale(nsfs.netns_path(host.prefix + "a"))
    rm = host.cli("sandbox", "rm", "a")
    assert rm.returncode == 0, rm.stderr
    assert rm.stderr == ""
    assert not os.path.exists(nsfs.netns_path(host.prefix + "a"))
    assert host.cli("sandbox", "rm", "b").returncode == 0
    assert host.cli("network", "rm", "n").returncode == 0
    assert host.sandbox_namespaces() == []


def test_down_killed_between_unmount_and_unlink_then_down_and_up_again(host, tmp_path):
    """`down` killed at its first kill point (NSNET_KILL_AT=1), its pins left as
    the timed kill left one: the next `down` settles it and succeeds (it said
    "[Errno 22] setns: Invalid argument", exit 1), and so does `up`."""
    topo = tmp_path / "t.yaml"
    topo.write_text("name: t\nnetworks:\n  n: {subnet: 10.39.0.0/24}\n"
                    "sandboxes:\n  a: {networks: [n]}\n  b: {networks: [n], publish: ['8080:80']}\n")
    assert host.cli("up", str(topo)).returncode == 0
    killed = subprocess.run([NSNET, "down", str(topo)], env=dict(host.env, NSNET_KILL_AT="1"),
                            capture_output=True, text=True, timeout=60)
    assert killed.returncode == -9
    for sandbox in ("a", "b"):
        path = nsfs.netns_path(host.prefix + sandbox)
        if os.path.ismount(path):
            stale(path)
    again = host.cli("down", str(topo))
    assert again.returncode == 0, again.stderr
    assert "error" not in again.stderr
    assert host.sandbox_namespaces() == []
    up = host.cli("up", str(topo))
    assert up.returncode == 0, up.stderr
    assert host.cli("down", str(topo)).returncode == 0


def test_create_takes_the_place_of_a_pin_that_pins_nothing(host):
    path = nsfs.netns_path(host.prefix + "c")
    os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0o444))  # killed before its mount
    made = host.cli("sandbox", "create", "c")
    assert made.returncode == 0, made.stderr
    assert nsfs.exists(host.prefix + "c")
    assert "lo" in sh("ip", "-n", host.prefix + "c", "-o", "link").stdout
    doctor = host.cli("doctor")
    assert doctor.returncode == 0, doctor.stdout
    assert host.cli("sandbox", "rm", "c").returncode == 0


def test_entering_a_pin_that_pins_nothing_says_it_does_not_exist(host):
    path = nsfs.netns_path(host.prefix + "d")
    os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0o444))
    try:
        try:
            with nsfs.inside(host.prefix + "d"):
                raise AssertionError("entered a file that is no namespace")
        except FileNotFoundError as exc:
            assert "pins no namespace" in str(exc)
        assert nsfs.identity(host.prefix + "d") is None
        assert nsfs.delete(host.prefix + "d") is True and not os.path.exists(path)
    finally:
        if os.path.exists(path):
            os.unlink(path)
