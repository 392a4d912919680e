"""Commands in topology files: what each sandbox runs, kept running by `up`
(through the engine's `run`, detached) and stopped by `down` (with the
sandbox). A topology's process is named TOPOLOGY.SANDBOX."""

import shlex

from ..errors import NsnetError
from .model import Command, Topology
from .reader import Reader


def parse(r: Reader, path: str, m: dict) -> Command | None:
    raw = m.get("command")
    extras = [k for k in ("env", "workdir", "isolate_pid", "init") if m.get(k) is not None]
    if raw is None:
        for key in extras:
            r.fail(f"{path}.{key}", "only applies with a 'command'")
        return None
    if isinstance(raw, str):
        try:
            argv = shlex.split(raw)
        except ValueError as exc:
            r.fail(f"{path}.command", f"cannot be split into words: {exc}")
            return None
    elif isinstance(raw, list) and all(isinstance(a, (str, int, float)) for a in raw):
        argv = [str(a) for a in raw]
    else:
        r.fail(f"{path}.command", "expected a string or a list of strings")
        return None
    if not argv:
        r.fail(f"{path}.command", "must not be empty")
        return None
    cmd = Command(argv)
    env = m.get("env")
    if isinstance(env, dict):
        cmd.env = [f"{k}={v}" for k, v in env.items()]
    elif isinstance(env, list) and all(isinstance(e, str) for e in env):
        cmd.env = list(env)
    elif env is not None:
        r.fail(f"{path}.env", "expected a mapping K: V or a list of 'K=V'")
    from ..run import spec

    r.call(f"{path}.env", spec.parse_env, cmd.env)
    workdir = r.string(m.get("workdir"), f"{path}.workdir")
    if workdir is not None and r.call(f"{path}.workdir", spec.check_workdir, workdir) is not False:
        cmd.workdir = workdir
    isolate = m.get("isolate_pid", False)
    if not isinstance(isolate, bool):
        r.fail(f"{path}.isolate_pid", "expected true or false")
    cmd.isolate_pid = isolate is True
    init = m.get("init", False)
    if not isinstance(init, bool):
        r.fail(f"{path}.init", "expected true or false")
    elif init and not cmd.isolate_pid:
        r.fail(f"{path}.init", "only applies with isolate_pid: true")
    cmd.init = init is True
    return cmd


def process_name(topo_name: str, sandbox: str) -> str:
    return f"{topo_name}.{sandbox}"


def _running(record: dict | None) -> bool:
    from ..run.procfs import is_running

    return record is not None and record.get("state") == "running" and is_running(record)


def _wanted(record: dict | None, cmd: Command) -> bool:
    """Is `record` a running process of exactly this command?"""
    return (_running(record)
            and record.get("argv") == cmd.argv and bool(record.get("isolate_pid")) == cmd.isolate_pid
            and (not cmd.isolate_pid or bool(record.get("init")) == cmd.init)
            and record.get("env_spec", cmd.env) == cmd.env and record.get("workdir") == cmd.workdir)


def converge(engine, topo: Topology, run) -> None:
    """Start what should run and does not (or runs another command); stop the
    topology's processes whose sandbox no longer declares a command."""
    for label, method, args, kwargs in run.expect(_actions(engine, topo)):
        if run.out.dry_run:  # processes live outside the store: a dry run only names them
            run.out.changes.append(label)
            run.out.commands.append(f"# {label}")
            continue
        try:
            run.call(label, method, *args, **kwargs)
        except NsnetError as exc:
            run.out.errors.append(f"{label}: {exc}")


def _actions(engine, topo: Topology) -> list[tuple]:
    out = []
    for sb in topo.sandboxes.values():
        name = process_name(topo.name, sb.name)
        record = engine.process_record(name)
        running = _running(record)
        if sb.command is None:
            if running:
                out.append((f"- process '{name}'", engine.stop, (name,), {}))
            continue
        if _wanted(record, sb.command):
            continue
        if running:
            out.append((f"~ process '{name}' (the command changed)", engine.stop, (name,), {}))
        out.append((f"+ process '{name}': {shlex.join(sb.command.argv)}", engine.run, (sb.command.argv,),
                    {"name": name, "sandbox": sb.name, "detach": True, "env": sb.command.env,
                     "workdir": sb.command.workdir, "isolate_pid": sb.command.isolate_pid,
                     "init": sb.command.init}))
    return out


def status_rows(engine, topo: Topology, row_class) -> list:
    rows = []
    for sb in topo.sandboxes.values():
        if sb.command is None:
            continue
        name = process_name(topo.name, sb.name)
        record = engine.process_record(name)
        if _wanted(record, sb.command):
            rows.append(row_class("process", name, "ok", f"pid {record.get('pid')}"))
        elif _running(record):
            rows.append(row_class("process", name, "changed", "runs another command; `up` restarts it"))
        else:
            why = f"exited ({record.get('exit_code')})" if record else "not started"
            rows.append(row_class("process", name, "missing", why))
    return rows
