"""`down`: remove everything a topology owns (its sandboxes, then its networks)
and forget it. Twice is fine: the second time there is nothing to do."""

from . import diff
from .runner import Outcome, Runner


def count(engine, name: str) -> int:
    """How many objects `down` would remove (for a progress bar)."""
    return sum(len(names) for names in engine.topology_owned(name).values())


def down(engine, name: str, dry_run: bool = False, progress=None) -> Outcome:
    out = Outcome(name, dry_run)
    run = Runner(engine, out, progress)
    if not dry_run:
        engine.require_privileges()
        out.warnings.extend(engine.settle())  # a killed change first: a topology that is gone makes no change
        return _down(engine, name, run)
    with engine.rehearsal():  # one rehearsal: later calls see earlier ones, nothing is kept
        _down(engine, name, run)
    return out


def _down(engine, name: str, run: Runner) -> Outcome:
    state = diff.State.read(engine)
    sandboxes = state.owned(name, "sandbox")
    for sb in run.expect(sorted(sb for sb in sandboxes if sb in state.sandboxes)):
        run.call(f"- sandbox '{sb}'", engine.sandbox_rm, sb)
    state = diff.State.read(engine)
    kept = set()
    for net in run.expect(sorted(net for net in state.owned(name, "network") if net in state.networks)):
        others = sorted(ep["sandbox"] for eps in state.endpoints.values() for ep in eps if ep["network"] == net)
        if others:
            kept.add(net)
            run.total -= 1  # not removed after all
            run.out.warnings.append(f"network '{net}' kept: sandboxes outside topology '{name}' are "
                                    f"attached ({', '.join(others)})")
            continue
        run.call(f"- network '{net}'", engine.network_rm, net)
    engine.topology_release(name, networks=state.owned(name, "network") - kept, sandboxes=sandboxes)
    return run.out
