"""WireGuard devices for encrypted overlays: the kernel module's when the kernel
has one, else wireguard-go (userspace WireGuard on a TUN device). Both are
configured with `wg` (wireguard-tools), so one code path serves both.

wireguard-go keeps its control socket at /var/run/wireguard/IFNAME.sock, one
directory for the whole machine, and every nsnet host names its device nswg0:
simulated hosts on one machine would take each other's sockets. So
wireguard-go, and `wg` talking to it, run in a mount namespace of their own in
which /run is the device's directory in the state dir (process.private_run):
the socket lands in RUN/wireguard/, and nothing is written to the machine's /run.

A wireguard-go process is known by its record (pid and start time, written as
it starts) and stopped by that pid only; its TUN device goes with it.

A device is a dict (an encrypted overlay's row carries it):
    ifname   nswg0
    run      directory of the socket, the process record and its log
    key      the private key file (root only; read here, given to wg on stdin)
    port     UDP port WireGuard listens on
    address  this host's tunnel address with its prefix
    mtu      the underlay's MTU minus WireGuard's overhead
"""

import contextlib
import errno
import os
import socket
import time

from ..errors import KernelError
from . import nsfs, selfproc
from .netlink import messages

BACKEND_ENV = "NSNET_WIREGUARD"  # auto (default) | kernel | userspace
KERNEL, USERSPACE = "kernel", "wireguard-go"
START_TIMEOUT, STOP_TIMEOUT, WG_TIMEOUT = 5.0, 3.0, 10.0
NO_WG = "wg (wireguard-tools) is not installed: run scripts/setup.sh (apt-get install wireguard-tools wireguard-go)"
NO_WG_GO = ("this kernel has no WireGuard module and wireguard-go is not installed: "
            "run scripts/setup.sh (apt-get install wireguard-go)")


def socket_path(dev: dict) -> str:
    return os.path.join(dev["run"], "wireguard", dev["ifname"] + ".sock")


def record_path(dev: dict) -> str:
    return os.path.join(dev["run"], dev["ifname"] + ".json")


def log_path(dev: dict) -> str:
    return os.path.join(dev["run"], dev["ifname"] + ".log")


def read_record(dev: dict) -> dict | None:
    """{"backend", "pid", "start"} of the device nsnet started (None: none recorded)."""
    import json  # here: the kernel layer is loaded by every change, most never touch WireGuard

    try:
        with open(record_path(dev)) as f:
            record = json.load(f)
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("backend") in (KERNEL, USERSPACE) else None


def _write_record(dev: dict, record: dict) -> None:
    import json

    os.makedirs(dev["run"], mode=0o700, exist_ok=True)
    tmp = record_path(dev) + ".tmp"
    with open(tmp, "w") as f:
        json.dump(record, f)
    os.replace(tmp, record_path(dev))


def _forget_record(dev: dict) -> None:
    for path in (record_path(dev), socket_path(dev)):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _proc_stat(pid: int) -> tuple[str, str, str] | None:
    """(comm, state, start time) of a process, None if there is none."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    comm = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    return comm, fields[0], fields[19]


def is_running(record: dict | None) -> bool:
    """Is the recorded wireguard-go still that process (same pid, same start time), not a zombie?"""
    if not record or record.get("backend") != USERSPACE or not record.get("pid"):
        return False
    pid = int(record["pid"])
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it was our child and has exited
    stat = _proc_stat(pid)
    return bool(stat and stat[0] == "wireguard-go" and stat[1] != "Z" and stat[2] == record.get("start"))


def _last_line(path: str) -> str:
    with contextlib.suppress(OSError), open(path, errors="replace") as f:
        lines = [line.strip() for line in f if line.strip()]
        return lines[-1] if lines else ""
    return ""


class WireguardOps:
    # -- keys ------------------------------------------------------------------------
    def wg_keypair(self, key_path: str) -> str:
        """This host's public key; the private key is made first if there is none
        (a file only root reads, in a directory only root enters)."""
        folder = os.path.dirname(key_path)
        os.makedirs(folder, mode=0o700, exist_ok=True)
        os.chmod(folder, 0o700)
        try:
            with open(key_path) as f:
                private = f.read().strip()
        except FileNotFoundError:
            private = self._wg_tool(None, ["genkey"]).strip()
            try:
                fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            except FileExistsError:  # another nsnet process made it a moment ago: theirs it is
                with open(key_path) as f:
                    private = f.read().strip()
            else:
                with os.fdopen(fd, "w") as f:
                    f.write(private + "\n")
        return self._wg_tool(None, ["pubkey"], private + "\n").strip()

    # -- the device --------------------------------------------------------------------
    def wg_up(self, dev: dict) -> bool:
        """Make sure the device runs and has its key, port, MTU and address (peers
        are wg_set_peers'). True if it was started by this call."""
        ifname, record = dev["ifname"], read_record(dev)
        if self.link_exists(None, ifname):
            if record is None:
                raise KernelError(f"an interface named {ifname} is already in the host namespace and is not "
                                  "nsnet's", errno.EEXIST)
            if record["backend"] == USERSPACE and not is_running(record):
                self.link_del(None, ifname)  # the TUN of a wireguard-go that is gone
                _forget_record(dev)
                record = None
        elif record is not None:
            self._stop(dev, record)  # a process whose device is gone, or the record of a gone one
            record = None
        started = record is None
        if started:
            self._start(dev)
        try:
            self._configure(dev)
        except BaseException:
            if started:
                self.wg_down(dev)
            raise
        return started

    def wg_down(self, dev: dict) -> bool:
        """Stop the device nsnet started (by its recorded pid; the kernel module's:
        delete it). Nothing recorded: nothing is touched. True if something went."""
        record = read_record(dev)
        if record is None:
            return False
        self._stop(dev, record)
        with contextlib.suppress(KernelError):  # the host namespace may be gone already
            self.link_del(None, dev["ifname"])
        return True

    def wg_state(self, dev: dict) -> dict:
        """What runs: backend, pid, process alive, device present (no peers: wg_peers)."""
        record = read_record(dev) or {}
        try:
            link = self.link_exists(None, dev["ifname"])
        except KernelError:
            link = False
        process = is_running(record) if record.get("backend") == USERSPACE else None
        return {"ifname": dev["ifname"], "backend": record.get("backend"), "pid": record.get("pid"),
                "process": process, "link": link, "running": bool(record) and link and process is not False}

    def _start(self, dev: dict) -> None:
        if self._kernel_device(dev):
            _write_record(dev, {"backend": KERNEL})
            return
        import subprocess  # not at the top: most calls start no helper

        from .process import private_run

        os.makedirs(dev["run"], mode=0o700, exist_ok=True)
        fd = nsfs.open_fd(self.host_netns) if self.host_netns else None
        env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "LOG_LEVEL": "error",
               "WG_PROCESS_FOREGROUND": "1"}
        try:
            with open(log_path(dev), "ab") as log:
                proc = subprocess.Popen(["wireguard-go", "-f", dev["ifname"]], stdin=subprocess.DEVNULL,
                                        stdout=log, stderr=log, env=env, start_new_session=True,
                                        preexec_fn=lambda: private_run(fd, dev["run"]))
        except FileNotFoundError:
            raise KernelError(NO_WG_GO, errno.ENOENT)
        except (OSError, subprocess.SubprocessError) as exc:
            raise KernelError(f"starting wireguard-go for {dev['ifname']}: {exc}")
        finally:
            if fd is not None:
                os.close(fd)
        stat = _proc_stat(proc.pid)
        record = {"backend": USERSPACE, "pid": proc.pid, "start": stat[2] if stat else None}
        _write_record(dev, record)
        self._wait_ready(dev, proc, record)

    def _kernel_device(self, dev: dict) -> bool:
        """Create the kernel module's device; False if this kernel has none (or
        NSNET_WIREGUARD=userspace asks for wireguard-go)."""
        want = os.environ.get(BACKEND_ENV) or "auto"
        if want not in ("auto", "kernel", "userspace"):
            raise KernelError(f"{BACKEND_ENV}={want}: use auto, kernel or userspace", errno.EINVAL)
        if want == "userspace":
            return False
        try:
            self._request(None, f"creating WireGuard device {dev['ifname']}", messages.wireguard(dev["ifname"]))
        except KernelError as exc:
            if exc.errno != errno.EOPNOTSUPP or want == "kernel":
                raise
            return False
        return True

    def _wait_ready(self, dev: dict, proc, record: dict) -> None:
        """Until the TUN device and the control socket are there (bounded)."""
        deadline, delay = time.monotonic() + START_TIMEOUT, 0.002
        while True:
            if proc.poll() is not None:
                _forget_record(dev)
                raise KernelError(f"wireguard-go for {dev['ifname']} exited as it started (status "
                                  f"{proc.returncode}): {_last_line(log_path(dev)) or 'no output'}")
            if self.link_exists(None, dev["ifname"]) and _connects(socket_path(dev)):
                return
            if time.monotonic() > deadline:
                self._stop(dev, record)
                raise KernelError(f"wireguard-go for {dev['ifname']} was not ready within {START_TIMEOUT:.0f} s",
                                  errno.ETIMEDOUT)
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def _configure(self, dev: dict) -> None:
        ifname = dev["ifname"]
        with open(dev["key"]) as f:
            private = f.read()
        self._wg_tool(dev, ["set", ifname, "listen-port", str(dev["port"]), "private-key", "/dev/stdin"], private)
        self._fresh_index(None, ifname)  # a restarted device has a new index
        # IPv4 only: no IPv6 link-local address, so no router solicitations or MLD into the tunnel.
        self._request(None, f"setting addrgenmode of {ifname}", messages.addrgen_none(ifname))
        self.link_set(None, ifname, up=True, mtu=dev["mtu"])
        try:
            self.addr_add(None, ifname, dev["address"])
        except KernelError as exc:
            if exc.errno != errno.EEXIST:
                raise

    def _stop(self, dev: dict, record: dict) -> None:
        import signal

        if is_running(record):
            pid = int(record["pid"])
            for sig in (signal.SIGTERM, signal.SIGKILL):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
                deadline = time.monotonic() + STOP_TIMEOUT
                while is_running(record) and time.monotonic() < deadline:
                    time.sleep(0.01)
                if not is_running(record):
                    break
            selfproc.reap(pid, 1.0)
        _forget_record(dev)

    # -- peers -----------------------------------------------------------------------
    def wg_peers(self, dev: dict) -> dict:
        """{public key: {endpoint, allowed_ips, handshake (unix time, 0: never), rx, tx}}."""
        out = self._wg_tool(dev, ["show", dev["ifname"], "dump"])
        peers = {}
        for line in out.splitlines()[1:]:  # the first line is the device's own (its private key): not read
            fields = line.split("\t")
            if len(fields) < 7:
                continue
            peers[fields[0]] = {"endpoint": None if fields[2] == "(none)" else fields[2],
                                "allowed_ips": "" if fields[3] == "(none)" else fields[3],
                                "handshake": int(fields[4]), "rx": int(fields[5]), "tx": int(fields[6])}
        return peers

    def wg_set_peers(self, dev: dict, peers: dict, remove=()) -> None:
        """Add or update `peers` {public key: {endpoint, allowed_ips}} and remove
        the peers of `remove`, in one `wg set`."""
        args = ["set", dev["ifname"]]
        for key in remove:
            args += ["peer", key, "remove"]
        for key, peer in sorted(peers.items()):
            args += ["peer", key, "endpoint", peer["endpoint"], "allowed-ips", peer["allowed_ips"]]
        if len(args) > 2:
            self._wg_tool(dev, args)

    def _wg_tool(self, dev: dict | None, args: list[str], stdin: str | None = None) -> str:
        """Run `wg ARGS`: for a device, inside the host namespace with the device's /run."""
        import subprocess

        from .process import private_run

        fd = nsfs.open_fd(self.host_netns) if dev is not None and self.host_netns else None
        enter = None
        if dev is not None:
            os.makedirs(dev["run"], mode=0o700, exist_ok=True)

            def enter():
                private_run(fd, dev["run"])

        try:
            done = subprocess.run(["wg", *args], input=stdin, capture_output=True, text=True, timeout=WG_TIMEOUT,
                                  preexec_fn=enter)
        except FileNotFoundError:
            raise KernelError(NO_WG, errno.ENOENT)
        except subprocess.TimeoutExpired:
            raise KernelError(f"wg {args[0]} did not finish within {WG_TIMEOUT:.0f} s", errno.ETIMEDOUT)
        except (OSError, subprocess.SubprocessError) as exc:
            raise KernelError(f"wg {args[0]}: {exc}")
        finally:
            if fd is not None:
                os.close(fd)
        if done.returncode:
            lines = done.stderr.strip().splitlines()
            raise KernelError(f"wg {' '.join(args[:2])}: {lines[-1] if lines else f'exit {done.returncode}'}")
        return done.stdout


def _connects(path: str) -> bool:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
        return True
    except OSError:
        return False
    finally:
        sock.close()
