"""The one place plans meet the kernel, and the one function that runs a change.

An Executor is made per changing call: it applies plans (rolling back on
failure), applies them best effort (teardown, repair), or in a dry run only
records their commands. Work that must wait for the store's commit (the DNS
server's reload, resolv.conf files) is queued on it explicitly; a failure there
is a warning in the result, not a failed change.
"""

import os

from ..errors import KernelError, NsnetError, RollbackError
from ..steps import Plan, Step

FAIL_ENV = "NSNET_FAIL_STEP"  # debug hook: name of the step kind that must fail


def _injected(step: Step) -> None:
    wanted = os.environ.get(FAIL_ENV)
    if wanted and wanted == step.kind:
        raise KernelError(f"injected failure at step '{step.kind}' ({FAIL_ENV})")


class Executor:
    def __init__(self, kernel, dry_run: bool = False):
        self.kernel = kernel
        self.dry_run = dry_run
        self.commands: list[str] = []  # what a dry run would have done
        self.warnings: list[str] = []  # what went wrong beside the change itself (added to its result)
        self._after: dict = {}  # key -> (job, its argument): run once the store has committed
        self._marks: set[str] = set()
        self._applied: list[Step] = []  # by earlier apply() calls of this change

    def apply(self, plan: Plan) -> None:
        """Every step, or none: on failure the applied ones are undone in reverse."""
        if self.dry_run:
            self.commands += plan.explain()
            return
        done: list[Step] = []
        try:
            for step in plan.steps:
                _injected(step)
                step.apply(self.kernel)
                done.append(step)
        except BaseException as exc:
            self._undo(done, exc)
            raise
        self._applied += done

    def undo_applied(self, exc: BaseException) -> None:
        """The change failed after some plans were applied (a sandbox's plan after
        the default network it makes, say): undo those too, as its store rows go."""
        done, self._applied = self._applied, []
        self._undo(done, exc)

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
        if self.dry_run:
            self.commands += plan.explain()
            return []
        errors = []
        for step in plan.steps:
            try:
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
    around the service's validation, planning and kernel steps (`work` gets
    the Executor first) and what follows every change (ctx.followers: faults
    keep up with the sandboxes they name), committed -- or rolled back for a
    dry run, which returns the commands instead -- then the work queued for
    after the commit, whose failures are added to a dict result as "warnings"."""
    if not dry_run:
        ctx.require_privileges()
    ex = Executor(None if dry_run else ctx.kernel, dry_run)
    try:
        with ctx.store.transaction(commit=not dry_run):
            result = work(ex, *args, **kwargs)
            for follow in ctx.followers:
                follow(ex)
    except BaseException as exc:
        ex.undo_applied(exc)
        raise
    if dry_run:
        return {"dry_run": True, "commands": ex.commands}
    warnings = ex.warnings + ex.run_after_commit()
    if warnings:
        if not isinstance(result, dict):
            raise TypeError("a change that queues work after its commit must return a dict")
        result["warnings"] = result.get("warnings", []) + warnings
    return result
