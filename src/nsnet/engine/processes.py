"""Processes in sandboxes: run, ps, logs, stop (the mechanics live in nsnet.run).

    eng.run(["python3", "-m", "http.server", "8080"], name="web", networks=[("lan", None)],
            detach=True)
    eng.ps(); eng.stop("web", timeout=5)

Not one change as a whole: a foreground process may run for hours and must
not hold the store's write lock; the sandbox it creates is made (and on
failure removed) by changes of their own.
"""

import os
import sys
import time

from ..errors import Conflict, InvalidInput, NotFound
from ..firewall.ports import parse_all
from ..names import check_hostname, check_name
from ..run import logfiles  # light; the rest of nsnet.run is imported where used
from ..run.procfs import is_running, starttime
from .context import Service
from .executor import run_change
from .lookup import get_network, get_sandbox
from .networks import DEFAULT_NETWORK, NO_NETWORK

DEFAULT_STOP_TIMEOUT = 10.0


def stop_sandbox_processes(records, sandbox: str, timeout: float = DEFAULT_STOP_TIMEOUT) -> list[dict]:
    """Stop everything nsnet runs in `sandbox` (before the sandbox goes); `records`: the store's ProcessRecords."""
    from ..run import stop

    return stop.stop_records(records, [r for r in records.all() if r.get("sandbox") == sandbox], timeout)


class Processes(Service):
    def __init__(self, ctx, sandboxes):
        super().__init__(ctx)
        self.sandboxes = sandboxes

    def run(self, argv, name: str | None = None, sandbox: str | None = None, networks=None,
            publish=None, env=None, workdir: str | None = None, detach: bool = False, rm: bool = False,
            isolate_pid: bool = False, init: bool = False,
            log_max_size=logfiles.DEFAULT_MAX_SIZE, log_max_files: int = logfiles.DEFAULT_MAX_FILES,
            tty: bool = False, interactive: bool = False, hostname: str | None = None) -> dict:
        """Start argv in a sandbox: an existing one (`sandbox`) or a new one named
        after the process, attached to `networks` ([(net, ip or None)]; none
        given: the default network, made on first use; ["none"]: loopback only) with
        `publish` ports (['8080:80', ...]) on the first network.
        Detached: returns once the command runs. Foreground: returns after it
        exited, with its "exit_code". `isolate_pid`: a PID namespace of its own
        with the command as pid 1 (as `docker run`); `init`: a reaper is pid 1
        and the command pid 2 (as `docker run --init`). `tty`: the foreground command gets a
        pseudo-terminal of its own (fed from stdin if `interactive`), as with
        `docker run -it`. `hostname`: the new sandbox's (default: its name).
        Validates everything before changing anything."""
        from ..run import spec
        argv = spec.check_argv(argv)
        extra_env = spec.parse_env(env)
        max_size = spec.parse_size(log_max_size)
        max_files = spec.check_log_files(log_max_files)
        spec.check_workdir(workdir)
        networks = [(n, None) if isinstance(n, str) else (n[0], n[1]) for n in networks or []]
        if sandbox is None:
            networks = self._networks_of_new_sandbox(networks)
        publish = list(publish or [])
        parse_all(publish)
        if init and not isolate_pid:
            raise InvalidInput("--init only makes sense with --isolate-pid")
        if tty and detach:
            raise InvalidInput("-t gives a foreground command a terminal of its own; it cannot be used with --detach")
        if publish and not networks and sandbox is None:
            raise InvalidInput("publishing ports needs a network (not --network none)")
        if sandbox is not None:
            get_sandbox(self.store, sandbox)
            if networks or publish:
                raise InvalidInput("--network and --publish apply to a sandbox that run creates; for an existing "
                                   "sandbox use 'nsnet network connect' / 'nsnet publish'")
            if rm:
                raise InvalidInput("--rm removes the sandbox run creates; it cannot be used with --sandbox")
            if hostname is not None:
                raise InvalidInput("--hostname names the sandbox run creates; an existing sandbox keeps its own")
        name = self._process_name(name, sandbox)
        sb_name = sandbox or name
        leftover = False  # the sandbox of an earlier `run` of this name, killed while it started
        if sandbox is None:
            check_name("sandbox", sb_name)
            if hostname is not None:
                check_hostname(hostname)
            if self.store.sandbox(sb_name):
                leftover = self._interrupted_start(name, sb_name)
                if not leftover:
                    raise Conflict(f"sandbox '{sb_name}' already exists (run in it with --sandbox {sb_name}, "
                                   "or choose another --name)")
            for net, _ in networks:
                if net != DEFAULT_NETWORK:  # made on first use
                    get_network(self.store, net)
        full_env = dict(os.environ, **extra_env)
        spec.resolve_command(argv[0], full_env, workdir)
        self.ctx.require_privileges()
        if leftover:
            self._remove_quietly(sb_name)
        record = self._new_record(name, sb_name, argv, detach, rm, isolate_pid, init, sandbox is None)
        record["env_spec"], record["workdir"] = [str(e) for e in env or []], workdir  # for topology `up`
        record["hostname"] = hostname  # the new sandbox's
        if not self.store.processes.reserve(name, record, is_running):
            raise Conflict(f"a process named '{name}' is already running (stop it or choose another --name)")
        return self._start(record, networks, publish, full_env, workdir, max_size, max_files, (tty, interactive))

    def _start(self, record, networks, publish, env, workdir, max_size, max_files, terminal=(False, False)) -> dict:
        from ..run import foreground, spawn
        from ..run.launch import Launch

        name, sb_name, created = record["name"], record["sandbox"], record["created_sandbox"]
        made = False
        master = pty = None
        try:
            if created:
                run_change(self.ctx, False, self.sandboxes.create, sb_name, networks, publish,
                           record.get("hostname"))
                made = True
            if terminal[0]:
                from ..run.terminal import open_pty

                master, pty = open_pty()
            launch = Launch(record["argv"], env, workdir, self.sandboxes.exec_netns(sb_name), record["isolate_pid"],
                            record["init"], None if record["detached"] or pty else foreground.terminal(), pty,
                            self.sandboxes.exec_hostname(sb_name))
            if record["detached"]:
                started = spawn.start_detached(launch, self._supervisor_cfg(record, max_size, max_files))
                return {"name": name, "sandbox": sb_name, "pid": started["pid"], "detached": True,
                        "created_sandbox": created}
            pid, leader = spawn.start_foreground(launch)
        except BaseException:
            if master is not None:
                os.close(master)
            self.store.processes.discard(name)
            if made:
                self._remove_quietly(sb_name)
            raise
        finally:
            if pty is not None:
                os.close(pty)  # the command's end; nsnet keeps the master
        return self._wait_foreground(record, pid, leader, launch.tty, master, terminal[1])

    def _wait_foreground(self, record, pid: int, leader: int, tty, master=None, interactive=False) -> dict:
        from ..run import foreground, terminal

        name, records = record["name"], self.store.processes
        me = os.getpid()
        records.update(name, state="running", pid=leader, pgid=leader, starttime=starttime(leader),
                     supervisor_pid=me, supervisor_starttime=starttime(me), started_at=time.time())
        code = terminal.relay(master, pid, leader, interactive) if master is not None else \
            foreground.wait(pid, leader, tty)
        records.update(name, state="exited", exit_code=code, signal=code - 128 if code > 128 else None,
                     finished_at=time.time())
        errors = []
        if record["rm"]:
            records.discard(name)
            errors = self._remove_quietly(record["sandbox"])
        return {"name": name, "sandbox": record["sandbox"], "pid": leader, "exit_code": code,
                "detached": False, "errors": errors}

    def ps(self, all: bool = False) -> list[dict]:
        """The processes nsnet started here that run, oldest first; `all`: the exited ones too."""
        from ..run import pslist

        return pslist.rows(self.ctx.settings.state_dir, all)

    def rm(self, name: str, force: bool = False) -> dict:
        """Remove an exited process's record and logs, and the sandbox `run`
        made for it (as `docker rm` removes a container); `force`: stop it
        first (SIGKILL) if it runs. The sandbox stays while another process
        runs in it."""
        record = self.process(name)
        if is_running(record):
            if not force:
                raise Conflict(f"process '{name}' is running (stop it first, or nsnet rm -f {name})")
            from ..run import stop

            stop.stop_records(self.store.processes, [record], 0)
        self.store.processes.discard(name)
        sandbox = record.get("sandbox") if record.get("created_sandbox") else None
        if sandbox and any(r.get("sandbox") == sandbox and is_running(r) for r in self.store.processes.all()):
            sandbox = None
        errors = self._remove_quietly(sandbox) if sandbox and self.store.sandbox(sandbox) else []
        return {"removed": name, "sandbox": sandbox if sandbox and not errors else None, "errors": errors}

    def prune(self) -> list[dict]:
        """rm() of every process that no longer runs."""
        return [self.rm(r["name"]) for r in self.store.processes.all() if not is_running(r)]

    def process(self, name: str) -> dict:
        """The record of a process nsnet started."""
        record = self.store.processes.read(name)
        if record is None:
            raise NotFound(f"process '{name}' not found (see nsnet ps)")
        return record

    def logs(self, name: str, follow: bool = False, max_seconds: float | None = None):
        """Yield (stream, bytes) of the process's stdout/stderr, oldest first;
        with follow, keep yielding new output until the process exits."""
        record = self.process(name)
        if not record.get("detached"):
            raise InvalidInput(f"process '{name}' ran in the foreground: its output went to the terminal")
        folder = self.store.processes.folder(name)
        paths = {s: logfiles.log_path(folder, s) for s in logfiles.STREAMS}
        return self._log_chunks(record, paths, follow, max_seconds)

    def _log_chunks(self, record, paths, follow, max_seconds):
        files = record.get("log_max_files", logfiles.DEFAULT_MAX_FILES)
        name = record["name"]
        if not follow:
            for stream, path in paths.items():
                for block in logfiles.read_all(path, files):
                    yield stream, block
            return
        # Follow: the rotated files, then the current ones from their start on.
        for stream, path in paths.items():
            for block in logfiles.read_all(path, files, current=False):
                yield stream, block
        active = _writer_active(self.store.processes, name)
        yield from logfiles.follow(paths, active, max_seconds=max_seconds, from_start=True)

    def stop(self, name: str, timeout: float = DEFAULT_STOP_TIMEOUT) -> dict:
        """SIGTERM to the process's group; SIGKILL after `timeout` seconds."""
        from ..run import stop
        from ..run.errors import NotRunning

        if timeout is None or timeout < 0:
            raise InvalidInput("--timeout must be 0 or more seconds")
        record = self.process(name)
        if not is_running(record) or record.get("state") != "running":
            raise NotRunning(f"process '{name}' is not running")
        return stop.stop_records(self.store.processes, [record], timeout)[0]

    def pid_view(self, sandbox: str) -> int | None:
        """The PID namespace `nsnet exec` joins in `sandbox`: that of its running
        process with a PID namespace of its own (the first started, if several),
        as the host-view pid of its pid 1; None: the caller's."""
        get_sandbox(self.store, sandbox)
        isolated = [r for r in self.store.processes.all()
                    if r.get("sandbox") == sandbox and r.get("isolate_pid") and r.get("state") == "running"
                    and is_running(r)]
        isolated.sort(key=lambda r: r.get("started_at") or 0)
        return isolated[0]["pid"] if isolated else None

    def stop_sandbox(self, sandbox: str, timeout: float = DEFAULT_STOP_TIMEOUT) -> list[dict]:
        """Stop everything nsnet runs in `sandbox`."""
        return stop_sandbox_processes(self.store.processes, sandbox, timeout)

    # -- helpers ------------------------------------------------------------
    def _interrupted_start(self, name: str, sb_name: str) -> bool:
        """Is sandbox `sb_name` what an earlier `run --name NAME` made before it was
        killed (its record still "starting", its nsnet gone)? Then it is no one's."""
        record = self.store.processes.read(name) or {}
        return (record.get("state") == "starting" and record.get("created_sandbox") is True
                and record.get("sandbox") == sb_name and not is_running(record))

    def _networks_of_new_sandbox(self, networks: list) -> list:
        """As `docker run`: no --network is the default network; `--network none`
        (alone, and unless a network has that name) is loopback only."""
        if not networks:
            return [(DEFAULT_NETWORK, None)]
        if [n for n, _ in networks] == [NO_NETWORK] and self.store.network(NO_NETWORK) is None:
            if networks[0][1]:
                raise InvalidInput("--network none has no addresses to give")
            return []
        return networks

    def _process_name(self, name: str | None, sandbox: str | None) -> str:
        if name is not None:
            return check_name("process", name)
        records = self.store.processes
        if sandbox is None:
            for _ in range(20):
                candidate = f"run-{os.urandom(3).hex()}"
                if not self.store.sandbox(candidate) and records.read(candidate) is None:
                    return candidate
            raise Conflict("could not pick a free process name; give one with --name")
        for i in range(1, 101):
            candidate = sandbox if i == 1 else f"{sandbox}-{i}"
            if records.read(candidate) is None:
                return check_name("process", candidate)
        raise Conflict(f"no free process name for sandbox '{sandbox}'; give one with --name")

    def _new_record(self, name, sb_name, argv, detach, rm, isolate_pid, init, created) -> dict:
        me = os.getpid()
        return {
            "name": name, "sandbox": sb_name, "argv": argv,
            "state": "starting", "detached": bool(detach), "rm": bool(rm), "isolate_pid": bool(isolate_pid),
            "init": bool(init), "created_sandbox": created, "creator_pid": me,
            "creator_starttime": starttime(me), "created_at": time.time(),
            "host_netns": self.ctx.settings.host_netns,
        }

    def _supervisor_cfg(self, record, max_size, max_files) -> dict:
        cfg = {"state_dir": self.ctx.settings.state_dir, "name": record["name"], "max_size": max_size,
               "max_files": max_files, "rm": record["rm"]}
        self.store.processes.update(record["name"], log_max_size=max_size, log_max_files=max_files)
        if record["rm"]:
            cfg["rm_argv"] = [sys.executable, "-m", "nsnet.cli.main", "--state-dir", self.ctx.settings.state_dir,
                              *(["--host-netns", self.ctx.settings.host_netns] if self.ctx.settings.host_netns else []),
                              "sandbox", "rm", record["sandbox"]]
        return cfg

    def _remove_quietly(self, sandbox: str) -> list[str]:
        try:
            return run_change(self.ctx, False, self.sandboxes.rm, sandbox).get("errors", [])
        except NotFound:
            return []
        except Exception as exc:
            return [f"could not remove sandbox '{sandbox}': {exc}"]


DRAIN_GRACE = 2.0  # seconds a dead process's supervisor gets to copy its last output


def _writer_active(records, name: str):
    """still_running() for logs --follow: the process lives, or it has died but
    its supervisor has not yet recorded the exit, which it does only after
    copying the last of the output into the log files (bounded by DRAIN_GRACE,
    for a supervisor that was killed)."""
    died_at = None

    def active() -> bool:
        nonlocal died_at
        record = records.read(name) or {}
        if is_running(record):
            return True
        if record.get("state") != "running" or not record.get("detached"):
            return False
        died_at = died_at or time.monotonic()
        return time.monotonic() - died_at < DRAIN_GRACE

    return active
