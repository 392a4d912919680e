"""The one place plans meet the kernel, and the one function that runs a change.

An Executor is made per changing call: it applies plans (rolling back on
failure), applies them best effort (teardown, repair), or in a dry run only
records their commands. Before a plan runs, its steps go to the store's
write-ahead intents (state/intents.py): a change killed half-way is found and
settled by the next one (engine/recovery.py). Work that must wait for the
store's commit (the DNS server's reload, resolv.conf files) is queued on it
explicitly; a failure there is a warning in the result, not a failed change.
"""

import os

from .. import interrupt
from ..errors import KernelError, NsnetError, RollbackError
from ..steps import Plan, Step

FAIL_ENV = "NSNET_FAIL_STEP"  # debug hook: name of the step kind that must fail
KILL_ENV = "NSNET_KILL_AT"  # test hook: SIGKILL this process at its N-th kill point (see kill_point)
_kill_at = int(os.environ.get(KILL_ENV) or 0)  # read once: a kill point costs a comparison
_kill_points = 0
SIGKILL = 9  # not signal.SIGKILL: `import signal` loads enum (~2 ms of a command's start-up)


def _injected(step: Step) -> None:
    wanted = os.environ.get(FAIL_ENV)
    if wanted and wanted == step.kind:
        raise KernelError(f"injected failure at step '{step.kind}' ({FAIL_ENV})")


def kill_point() -> None:
    """A moment a process may die at: before each kernel step, after the store's
    commit, after the work that follows it. With NSNET_KILL_AT=N the process
    kills itself (SIGKILL) at its N-th such moment: the test suite's kill sweep
    (tests/integration/test_kill_sweep.py) tries every one."""
    if _kill_at:
        global _kill_points
        _kill_points += 1
        if _kill_points == _kill_at:
            os.kill(os.getpid(), SIGKILL)


class Executor:
    def __init__(self, kernel, dry_run: bool = False, intents=None, host: str | None = None):
        self.kernel = kernel
        self.dry_run = dry_run
        self.intents = intents  # the store's write-ahead intents (None: a dry run, or not journaled)
        self.host = host  # the namespace that plays the host: the commands recorded name it
        self._unsettled = 0  # plans run whose steps may disagree with the store's transaction
        self.commands: list[str] = []  # what a dry run would have done
        self.warnings: list[str] = []  # what went wrong beside the change itself (added to its result)
        self._after: dict = {}  # key -> (job, its argument): run once the store has committed
        self._marks: set[str] = set()
        self._applied: list[Step] = []  # by earlier apply() calls of this change

    @property
    def settled(self) -> bool:
        """No step ran, or every plan that ran was rolled back whole."""
        return self._unsettled == 0

    def settle(self) -> None:
        """Every step run so far agrees with the store whatever becomes of its
        transaction (a recovery's): nothing of it needs recording any more."""
        self._unsettled = 0
        self._applied = []  # and a failure of the change does not undo it
        if self.intents is not None:
            self.intents.clear()

    def _intend(self, plan: Plan) -> bool:
        """Record a dry run's commands, or journal the plan's steps: True when they are to run."""
        if self.dry_run:
            self.commands += plan.explain(self.host)
            return False
        if not plan.steps:
            return False
        self._unsettled += 1
        if self.intents is not None:
            self.intents.write([step.as_record() for step in plan.steps])
        return True

    def apply(self, plan: Plan) -> None:
        """Every step, or none: on failure the applied ones are undone in reverse."""
        if not self._intend(plan):
            return
        done: list[Step] = []
        try:
            for step in plan.steps:
                kill_point()
                interrupt.check()  # SIGTERM: roll back here, between two steps
                _injected(step)
                step.apply(self.kernel)
                done.append(step)
        except BaseException as exc:
            self._undo(done, exc)
            if isinstance(exc, (NsnetError, interrupt.Terminated)):  # raised between steps: all undone
                self._unsettled -= 1
            raise
        self._applied += done

    def undo_applied(self, exc: BaseException) -> None:
        """The change failed after some plans were applied (a sandbox's plan after
        the default network it makes, say, or the store's commit): undo those
        too, as its store rows go. Then every plan is settled, if `exc` came
        between steps."""
        done, self._applied = self._applied, []
        self._undo(done, exc)
        if isinstance(exc, (NsnetError, interrupt.Terminated)):
            self._unsettled = 0

    def _undo(self, done: list[Step], exc: BaseException) -> None:
        problems = []
        for step in reversed(done):
            try:
                step.undo(self.kernel)
            except Exception as undo_exc:  # keep undoing the rest
                problems.append(f"{step.kind}: {undo_exc}")
        if problems:
            raise RollbackError(f"{exc}; rollback also failed: {'; '.join(problems)}") from exc

    def best_effort(self, plan: Plan) -> list[str]:
        """Every step even if some fail (teardown, repair); returns the errors seen."""
        if not self._intend(plan):
            return []
        errors = []
        for step in plan.steps:
            try:
                kill_point()
                _injected(step)
                step.apply(self.kernel)
            except NsnetError as exc:
                errors.append(str(exc))
        return errors

    def mark(self, key: str) -> bool:
        """Note that work `key` was done in this change; True the first time."""
        first = key not in self._marks
        self._marks.add(key)
        return first

    def undo(self, steps: list[Step]) -> list[str]:
        """Undo each of `steps` (already applied by a change that died), best
        effort, in the order given; returns the errors seen."""
        errors = []
        for step in steps:
            try:
                kill_point()
                step.undo(self.kernel)
            except NsnetError as exc:
                errors.append(str(exc))
        return errors

    def after_commit(self, key: str, job, argument):
        """Queue job(argument) to run once the store has committed (never in a
        dry run). One job per key: later calls get the first one's argument
        back, to add to (the sandboxes whose resolv.conf to rewrite, say)."""
        if key not in self._after:
            self._after[key] = (job, argument)
        return self._after[key][1]

    def run_after_commit(self) -> list[str]:
        """Run the queued work; returns its failures as warnings."""
        warnings = []
        for job, argument in self._after.values():
            try:
                job(argument)
            except Exception as exc:  # the change itself is committed: report, go on
                warnings.append(str(exc))
        return warnings


def run_change(ctx, dry_run: bool, work, *args, **kwargs):
    """One change: privileges (unless a dry run), then one store transaction
    around the settling of changes killed earlier (ctx.recover), the service's
    validation, planning and kernel steps (`work` gets the Executor first) and
    what follows every change (ctx.followers: faults keep up with the sandboxes
    they name), committed -- or rolled back for a dry run, which returns the
    commands instead -- then the work queued for after the commit, whose
    failures are added to a dict result as "warnings". The change's intent is
    cleared once it is done, and kept when it failed with steps unsettled (a
    failed rollback, an interrupt): the next change settles it."""
    if dry_run:
        ex = Executor(None, True, host=ctx.settings.host_netns)
        with ctx.store.transaction(commit=False):
            work(ex, *args, **kwargs)
            for follow in ctx.followers:
                follow(ex)
        return {"dry_run": True, "commands": ex.commands}
    ctx.require_privileges()
    with interrupt.deferred():  # SIGTERM: the change rolls back between two steps, or finishes
        return _change(ctx, work, args, kwargs)


def _change(ctx, work, args, kwargs):
    store = ctx.store
    ex = Executor(ctx.kernel, False, store.intents, ctx.settings.host_netns)
    try:
        try:
            with store.transaction():
                recovered = ctx.recover(ex) if ctx.recover is not None else []
                ex.settle()  # what recovery did matches the store, committed or not
                store.intents.begin(getattr(work, "__qualname__", "change"))
                result = work(ex, *args, **kwargs)
                for follow in ctx.followers:
                    follow(ex)
        except BaseException as exc:  # not committed: what earlier plans of it made goes too
            ex.undo_applied(exc)
            raise
        kill_point()
        warnings = ex.warnings + ex.run_after_commit()
        kill_point()
    except BaseException:
        if ex.settled:
            store.intents.clear()
        raise
    store.intents.clear()
    if recovered and isinstance(result, dict):
        result["warnings"] = result.get("warnings", []) + recovered
    if warnings:
        if not isinstance(result, dict):
            raise TypeError("a change that queues work after its commit must return a dict")
        result["warnings"] = result.get("warnings", []) + warnings
    return result
