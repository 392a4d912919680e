"""The one place plans meet the kernel: apply with rollback, teardown best effort."""

import os

from ..errors import KernelError, NsnetError, RollbackError
from ..steps import Plan, Step

FAIL_ENV = "NSNET_FAIL_STEP"  # debug hook: name of the step kind that must fail


def _injected(step: Step) -> None:
    wanted = os.environ.get(FAIL_ENV)
    if wanted and wanted == step.kind:
        raise KernelError(f"injected failure at step '{step.kind}' ({FAIL_ENV})")


def execute(plan: Plan, kernel) -> None:
    """Apply every step; on failure undo the applied ones in reverse and re-raise."""
    done: list[Step] = []
    try:
        for step in plan.steps:
            _injected(step)
            step.apply(kernel)
            done.append(step)
    except BaseException as exc:
        problems = []
        for step in reversed(done):
            try:
                step.undo(kernel)
            except Exception as undo_exc:  # keep undoing the rest
                problems.append(f"{step.kind}: {undo_exc}")
        if problems:
            raise RollbackError(f"{exc}; rollback also failed: {'; '.join(problems)}") from exc
        raise


def execute_best_effort(plan: Plan, kernel) -> list[str]:
    """Teardown: run every step even if some fail; return the errors seen."""
    errors = []
    for step in plan.steps:
        try:
            _injected(step)
            step.apply(kernel)
        except NsnetError as exc:
            errors.append(str(exc))
    return errors
