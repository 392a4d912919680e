"""The kill sweep's machinery: run an nsnet command that SIGKILLs itself at its
k-th kill point (NSNET_KILL_AT, engine/executor.py) or is killed from outside
after a while, then the next ordinary command, `doctor`, an independent check
that the store matches the kernel, and the command's reverse, which brings the
host back to where the sweep started.

The independent check does not trust nsnet's own reading: namespaces come
from /run/netns, host links and nft elements from `ip` and `nft`, the DNS
server from /proc."""

import json
import os
import random
import signal
import subprocess
import time

from nsnet import Engine
from nsnet.kernel import nsfs

from .helpers import NSNET, sh, wait_until


class Tally:
    """What a sweep saw: points tried, leftovers found by `doctor` after the
    next command (before any --fix), and what `doctor --fix` repaired."""

    def __init__(self, name: str):
        self.name = name
        self.points = self.killed = self.found = self.repaired = 0
        self.notes: list[str] = []

    def line(self) -> str:
        seconds = sum(PHASES.values())
        return (f"{self.name}: {self.points} kill points, {self.killed} killed, {self.found} leftovers found "
                f"by doctor after the next command, {self.repaired} repaired by doctor --fix "
                f"({seconds:.0f} s: {', '.join(f'{k} {v:.0f}' for k, v in PHASES.items())})")


def cli(host, *args, kill_at: int | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(host.env)
    if kill_at is not None:
        env["NSNET_KILL_AT"] = str(kill_at)
    return subprocess.run([NSNET, *args], env=env, capture_output=True, text=True, timeout=timeout)


def cli_killed_after(host, *args, delay: float) -> int:
    """Start the command, SIGKILL it after `delay` seconds (if it still runs); its exit code."""
    proc = subprocess.Popen([NSNET, *args], env=host.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
    return proc.wait(timeout=60)


def _nft_elements(host) -> dict[str, int] | None:
    r = sh("ip", "netns", "exec", host.name, "nft", "-j", "list", "table", "inet", "nsnet", check=False)
    if r.returncode != 0:
        return None
    out = {}
    for obj in json.loads(r.stdout)["nftables"]:
        body = obj.get("map") or obj.get("set")
        if body:
            out[body["name"]] = len(body.get("elem", []))
    return out


def _dns_server_pids(state_dir: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            with open(f"/proc/{entry}/stat", "rb") as f:
                if f.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                    continue
        except OSError:
            continue
        if b"nsnet.dns" in argv and state_dir.encode() in argv:
            found.append(int(entry))
    return found


def mismatches(host) -> list[str]:
    """Every way the kernel differs from the store (independent of doctor)."""
    eng = Engine(host_netns=host.name, state_dir=host.state_dir)
    try:
        store = eng.store
        sandboxes = {sb["netns"] for sb in store.sandboxes()}
        wanted_links = ({n["bridge"] for n in store.networks() if n["bridge"]}
                        | {ep["host_ifname"] for ep in store.endpoints() if ep["host_ifname"]})
        ports = len({(p["host_ip"], p["proto"], p["host_port"]) for p in store.ports()})
        dns_networks = {n["name"] for n in store.networks()
                        if n["bridge"] and (n.get("options") or {}).get("dns", True)}
        # The server starts with the first sandbox on a DNS network and stops with the last DNS network.
        served = any(ep["network"] in dns_networks for ep in store.endpoints())
        drift = [" ".join(d.commands) for d in eng.drift()]
        intents = os.path.join(host.state_dir, "intents")
        leftover_intents = [f for f in (os.listdir(intents) if os.path.isdir(intents) else [])
                            if not os.path.exists(f"/proc/{f.split('-')[0]}")]
    finally:
        eng.close()
    problems = []
    namespaces = set(host.sandbox_namespaces())
    if namespaces != sandboxes:
        problems.append(f"namespaces {sorted(namespaces)} but the store has {sorted(sandboxes)}")
    # Unpinned namespaces take their veths with them a moment later.
    if not wait_until(lambda: set(host.host_links()) - {"lo"} == wanted_links, timeout=10):
        have = sorted(set(host.host_links()) - {"lo"})
        problems.append(f"host links {have} but the store has {sorted(wanted_links)}")
    if drift:
        problems.append(f"drift: {drift}")
    elements = _nft_elements(host)
    have = (elements or {}).get("pub_any_addr", 0) + (elements or {}).get("pub_ip_addr", 0)
    if have != ports:
        problems.append(f"{have} published-port elements in nft, {ports} ports in the store")
    servers = _dns_server_pids(host.state_dir)
    if servers and not dns_networks:  # the server leaves by itself, a moment after the last DNS network
        wait_until(lambda: not _dns_server_pids(host.state_dir), timeout=10)
        servers = _dns_server_pids(host.state_dir)
    if len(servers) > 1 or (served and not servers) or (servers and not dns_networks):
        problems.append(f"{len(servers)} DNS servers running for {len(dns_networks)} DNS networks")
    stray = [d for d in os.listdir("/etc/netns") if d.startswith(host.prefix) and d not in sandboxes]
    if stray:
        problems.append(f"/etc/netns directories of no sandbox: {stray}")
    if leftover_intents:
        problems.append(f"intents of dead processes left: {leftover_intents}")
    return problems


def doctor_count(host) -> tuple[int, str]:
    """What `doctor` finds (through the API: the CLI's start-up is half the cost of a kill point).
    A namespace deleted a moment ago takes its veths with it only when the kernel frees it, in the
    background (under load, a while later): found interfaces alone are looked at again for up to
    3 s; an orphan that stays is still found."""
    eng = Engine(host_netns=host.name, state_dir=host.state_dir)
    deadline = time.monotonic() + 3
    try:
        found = eng.doctor()
        while found and all(f["subject"].startswith("interface ") for f in found) and time.monotonic() < deadline:
            time.sleep(0.1)
            found = eng.doctor()
    finally:
        eng.close()
    return len(found), "; ".join(f"{f['subject']}: {f['problem']}" for f in found)


PHASES: dict[str, float] = {}


def _phase(name: str, t0: float) -> float:
    now = time.monotonic()
    PHASES[name] = PHASES.get(name, 0.0) + now - t0
    return now


def after_kill(host, tally: Tally, what: str, again, reverse, again_ok) -> None:
    """The next ordinary command, doctor, the check, then the reverse."""
    t = time.monotonic()
    r = cli(host, *again)
    t = _phase("again", t)
    assert r.returncode == 0 or again_ok(r), f"{what}: `{' '.join(again)}` again: {r.returncode} {r.stderr}"
    found, text = doctor_count(host)
    t = _phase("doctor", t)
    if found:
        tally.found += found
        tally.notes.append(f"{what}: {text}")
        fixed = cli(host, "doctor", "--fix")
        # 0: gone by itself meanwhile -- the kernel removes a deleted namespace's
        # veths in the background, so a host end seen a moment ago may be gone.
        assert fixed.returncode in (0, 1), f"{what}: doctor --fix: {fixed.stdout}{fixed.stderr}"
        left, text = doctor_count(host)
        assert left == 0, f"{what}: doctor --fix left {text}"
        tally.repaired += found - left
    t = _phase("fix", t)
    problems = mismatches(host)
    assert not problems, f"{what}: the store and the kernel differ: {problems}"
    t = _phase("check", t)
    r = cli(host, *reverse)
    assert r.returncode == 0, f"{what}: reverse `{' '.join(reverse)}`: {r.returncode} {r.stderr}"
    t = _phase("reverse", t)
    problems = mismatches(host)
    assert not problems, f"{what}, after the reverse: {problems}"
    _phase("check2", t)


def sweep(host, tally: Tally, command, again=None, reverse=(), again_ok=lambda r: False,
          every: int = 1, limit: int = 1000) -> int:
    """Kill `command` at kill point 1, 1 + every, ... until it finishes unkilled;
    after each kill, after_kill(). Returns the number of kill points the command has."""
    again = again or command
    k = 1
    while k < limit:
        t = time.monotonic()
        r = cli(host, *command, kill_at=k)
        _phase("killed", t)
        if r.returncode != -signal.SIGKILL:
            assert r.returncode == 0, f"`{' '.join(command)}` unkilled: {r.returncode} {r.stderr}"
            r = cli(host, *reverse)
            assert r.returncode == 0, r.stderr
            return k - 1
        tally.points += 1
        tally.killed += 1
        after_kill(host, tally, f"killed at point {k}", again, reverse, again_ok)
        k += every
    raise AssertionError(f"`{' '.join(command)}` still killed at point {limit}")


def timed(host, tally: Tally, command, again=None, reverse=(), again_ok=lambda r: False, tries: int = 2,
          seed: int = 14) -> None:
    """SIGKILL from outside at random moments within an unkilled run's duration."""
    again = again or command
    t0 = time.monotonic()
    r = cli(host, *command)
    assert r.returncode == 0, r.stderr
    duration = time.monotonic() - t0
    r = cli(host, *reverse)
    assert r.returncode == 0, r.stderr
    rng = random.Random(seed)
    for _ in range(tries):
        delay = rng.uniform(0.02, duration)
        code = cli_killed_after(host, *command, delay=delay)
        tally.points += 1
        tally.killed += code == -signal.SIGKILL
        if code == 0:  # it finished first: the reverse brings the host back
            after_kill(host, tally, f"timed {delay:.3f}s (finished)", again, reverse, again_ok)
        else:
            after_kill(host, tally, f"timed {delay:.3f}s", again, reverse, again_ok)


def no_namespaces_left(prefix: str) -> bool:
    return not [n for n in nsfs.list_names() if n.startswith(prefix)]
