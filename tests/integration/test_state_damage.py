"""Every CLI command against a damaged state store: truncated to 0 bytes, cut
in half, overwritten, a directory, read-only, locked by another process. Each
one ends in one line on stderr and a non-zero exit (no traceback, never a
silently empty state), or, where it does not need the database (`ps`), does
its job; and nothing changes in the kernel."""

import os
import shutil
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from .helpers import NSNET

TOPOLOGY = "name: gs-t\nnetworks: {gstn: {subnet: 10.0.8.0/24}}\nsandboxes: {gsts: {networks: [gstn]}}\n"

MUST_FAIL = [
    ["sandbox", "ls"], ["--json", "sandbox", "ls"], ["sandbox", "inspect", "web"], ["sandbox", "create", "x"],
    ["sandbox", "create", "x", "--network", "lan", "--dry-run"], ["sandbox", "rm", "db"],
    ["exec", "web", "--", "true"],
    ["link", "add", "web", "db"], ["link", "ls"], ["link", "rm", "web", "db"],
    ["network", "create", "n2"], ["network", "ls"], ["network", "inspect", "lan"], ["network", "rm", "lan"],
    ["network", "connect", "lan", "db"], ["network", "disconnect", "lan", "web"],
    ["publish", "web", "8080:80"], ["unpublish", "web", "8080:80"], ["port"],
    ["route", "add", "web", "10.9.0.0/16", "via", "10.0.7.1"], ["route", "rm", "web", "10.9.0.0/16"],
    ["route", "ls"],
    ["up", "{file}"], ["down", "{file}"], ["status", "{file}"], ["graph", "-o", "{out}"], ["check"],
    ["run", "-d", "--network", "lan", "--", "sleep", "5"], ["run", "--sandbox", "web", "--", "true"],
    ["explain"], ["firewall", "show"], ["firewall", "reload"], ["dns", "status"], ["dns", "sync"],
]
NO_DATABASE = [["ps"], ["logs", "nothing"], ["stop", "nothing"]]  # process records only
LISTINGS = {("sandbox", "ls"), ("--json", "sandbox", "ls"), ("network", "ls")}  # a read-only store still lists


def truncate(path):
    os.truncate(path, 0)


def cut_in_half(path):
    os.truncate(path, os.path.getsize(path) // 2)


def overwrite(path):
    with open(path, "r+b") as f:
        f.write(os.urandom(4096))


def directory(path):
    os.unlink(path)
    os.mkdir(path)


DAMAGES = {"truncated": truncate, "cut in half": cut_in_half, "overwritten": overwrite, "a directory": directory,
           "read-only": None, "locked": None}


@pytest.fixture
def lab(host, tmp_path):
    """A store with a network and two sandboxes, kept pristine to damage again and again."""
    for args in (["network", "create", "lan", "--subnet", "10.0.7.0/24", "--no-dns"],
                 ["sandbox", "create", "web", "--network", "lan"], ["sandbox", "create", "db"]):
        done = host.cli(*args)
        assert done.returncode == 0, done.stderr
    db = os.path.join(host.state_dir, "state.db")
    shutil.copy(db, tmp_path / "pristine.db")
    (tmp_path / "topo.yaml").write_text(TOPOLOGY)
    return host, db, tmp_path


def restore(db, tmp_path):
    if os.path.isdir(db):
        os.rmdir(db)
    for extra in ("-wal", "-shm"):
        if os.path.exists(db + extra):
            os.unlink(db + extra)
    shutil.copy(tmp_path / "pristine.db", db)


def kernel_view(host):
    return sorted(host.sandbox_namespaces()), host.host_links()


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_every_command_against_a_damaged_store(lab, damage):
    host, db, tmp_path = lab
    restore(db, tmp_path)
    before = kernel_view(host)
    env, wrap, holder = dict(host.env), [], None
    if damage == "read-only":
        # A read-only bind mount of the state dir, in a mount namespace of the command's own.
        wrap = ["unshare", "-m", "sh", "-c",
                'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" "$0" && exec "$@"', host.state_dir]
    elif damage == "locked":
        env["NSNET_LOCK_TIMEOUT"] = "0.3"
        holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, db], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        assert holder.stdout.readline().strip() == "locked"
    else:
        DAMAGES[damage](db)

    def one(args):
        argv = [a.format(file=tmp_path / "topo.yaml", out=tmp_path / "g.svg") for a in args]
        done = subprocess.run([*wrap, NSNET, *argv], env=env, capture_output=True, text=True, timeout=60)
        return args, done

    try:
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(one, MUST_FAIL + NO_DATABASE))
    finally:
        if holder is not None:
            holder.send_signal(signal.SIGTERM)
            holder.wait(10)
    problems = []
    for args, done in results:
        err = done.stderr.strip().splitlines()
        if "Traceback" in done.stderr or len(err) > 1 or "unexpected" in done.stderr \
                or "database is locked" in done.stderr:
            problems.append(f"{args}: {done.stderr.strip()}")
        elif args in NO_DATABASE:
            continue
        elif done.returncode == 0 and not (damage == "read-only" and tuple(args) in LISTINGS
                                            and "web" in done.stdout):
            problems.append(f"{args}: exit 0 on a {damage} store: {done.stdout.strip()[:200]}")
        elif done.returncode != 0 and len(err) != 1:
            problems.append(f"{args}: exit {done.returncode} without a one-line error")
    assert problems == [], "\n".join(problems)
    assert kernel_view(host) == before
    if damage in ("truncated", "cut in half", "overwritten"):
        message = next(d.stderr for a, d in results if a == ["sandbox", "ls"])
        assert "state.db.bak" in message  # and the way back works:
        restore_from = db + ".bak"
        os.unlink(db)
        shutil.copy(restore_from, db)
        listed = host.cli("sandbox", "ls")
        assert listed.returncode == 0 and "web" in listed.stdout and "db" in listed.stdout, listed.stderr
    restore(db, tmp_path)  # so that the fixture's cleanup finds a store


HOLD_LOCK = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA locking_mode=EXCLUSIVE")
db.execute("BEGIN EXCLUSIVE")
db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('gs-lock', '1')")
print("locked", flush=True)
sys.stdin.read()
"""
