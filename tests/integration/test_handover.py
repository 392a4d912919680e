"""A process that changed nftables and is about to exit hands its netlink
sockets to a keeper (kernel/handover.py): the kernel's wait on releasing them
(an RCU grace period) happens there, after the command has ended. The keeper
holds nothing but netlink sockets (not the caller's pipes, not the store) and
dies with its parent."""

import json
import subprocess
import sys

from .helpers import ended, wait_until

# An engine on the test's host: `work`, then close(exiting=True); reports its
# children and what each holds, then leaves as the command line does (_exit)
CHILD = """
import json, os, sys, time
from nsnet import Engine
eng = Engine()
eng.network_create("hn", subnet="10.96.7.0/24")
eng.sandbox_create("k1", networks=[("hn", None)])
if sys.argv[1] == "publish":
    eng.port_publish("k1", ["18451:80"])
eng.close(exiting=True)
me = os.getpid()
dns = str(eng.dns_pid())  # started by this engine: a child too (in a session of its own)
kids = [k for k in open(f"/proc/{me}/task/{me}/children").read().split() if k != dns]

def held(k):
    kinds = []
    for fd in os.listdir(f"/proc/{k}/fd"):
        try:
            kinds.append(os.readlink(f"/proc/{k}/fd/{fd}").split(":")[0])
        except FileNotFoundError:  # closed while we look
            pass
    return sorted(kinds)

deadline = time.monotonic() + 10  # the keeper closes what is not netlink at once
while time.monotonic() < deadline and any(set(held(k)) - {"socket"} for k in kids):
    time.sleep(0.005)
print(json.dumps({k: held(k) for k in kids}))
sys.stdout.flush()
os._exit(0)
"""


def _run(host, what: str) -> dict:
    r = subprocess.run([sys.executable, "-c", CHILD, what], env=host.env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_after_an_nftables_change_a_keeper_holds_only_netlink_sockets_and_dies_with_its_parent(host):
    held = _run(host, "publish")
    assert len(held) == 1, held  # one keeper
    (keeper, fds), = held.items()
    assert fds and set(fds) == {"socket"}, fds  # no pipe of the caller, no file of the store
    assert wait_until(lambda: ended(keeper), timeout=10)
    assert host.engine.sandbox_rm("k1") and host.engine.network_rm("hn") is not None


def test_without_an_nftables_change_there_is_no_keeper(host):
    r = subprocess.run([sys.executable, "-c", "import os; from nsnet import Engine\n"
                        "e = Engine(); e.sandbox_rows(); e.close(exiting=True)\n"
                        "me = os.getpid(); print(open(f'/proc/{me}/task/{me}/children').read().split())\n"
                        "os._exit(0)"],
                       env=host.env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "[]", (r.stdout, r.stderr)

