"""Plans are data: a list of Steps, each able to apply, undo and explain itself.

That one idea gives rollback on failure, --dry-run / explain (the equivalent
`ip` commands), golden tests without root, and fault injection for tests.
"""

import os

from .errors import KernelError, NsnetError, RollbackError
from .plain import PlainData

FAIL_ENV = "NSNET_FAIL_STEP"  # debug hook: name of the step kind that must fail


class Step(PlainData):
    """Base class. `kind` names the step for fault injection ('veth_add' ...).
    Steps are plain classes, not dataclasses: `import dataclasses` costs ~10 ms of CLI start-up."""

    kind = "step"

    def apply(self, kernel) -> None:
        raise NotImplementedError

    def undo(self, kernel) -> None:
        """Reverse apply(); must tolerate the object being gone already."""

    def explain(self) -> list[str]:
        return []


class Plan(PlainData):
    def __init__(self, steps: list[Step] | None = None):
        self.steps = [] if steps is None else steps

    def add(self, *steps: Step) -> "Plan":
        self.steps.extend(steps)
        return self

    def extend(self, steps) -> "Plan":
        self.steps.extend(steps)
        return self

    def explain(self) -> list[str]:
        return [line for step in self.steps for line in step.explain()]

    def __len__(self) -> int:
        return len(self.steps)


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
