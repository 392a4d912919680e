"""Running a topology's engine calls: each one recorded as a change, a dry run
collecting the commands instead and rolled back at the end."""

from dataclasses import dataclass, field

from ..errors import Conflict, NotFound, NsnetError


@dataclass
class Outcome:
    topology: str
    dry_run: bool = False
    changes: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"topology": self.topology, "dry_run": self.dry_run, "changes": self.changes,
                "count": len(self.changes), "commands": self.commands, "errors": self.errors,
                "warnings": self.warnings}


class Runner:
    """Makes engine calls, records them as changes (and, dry, as commands)."""

    def __init__(self, engine, outcome: Outcome, progress=None):
        self.engine, self.out, self.progress = engine, outcome, progress
        self._state, self._seen = None, -1
        self._undo: list[tuple] = []  # (method, args, kwargs) that undo what the calls made, oldest first
        self._next_undo: tuple | None = None  # for the next call (undo_by)
        self.done = self.total = 0  # calls made, and calls the phases so far said they would make

    def expect(self, calls) -> list:
        """A phase's calls (or what they are made from, one call each), counted
        into the total before the first is made: progress reads done/total and
        the total is never short (it ended at 203/202)."""
        calls = list(calls)
        self.total += len(calls)
        return calls

    def state(self):
        """The state read in bulk; read again only after a call changed it."""
        from .diff import State

        if self._state is None or self._seen != len(self.out.changes):
            self._state, self._seen = State.read(self.engine), len(self.out.changes)
        return self._state

    def forget(self) -> None:
        self._state = None

    def undo_by(self, method, *args, **kwargs) -> None:
        """The next call makes something that method(*args, **kwargs) removes
        (roll_back). Kept unless the call is refused (NsnetError: it changed
        nothing): a call ended by SIGTERM after its commit has made it all the
        same, and undoing what was never made is a no-op."""
        if not self.out.dry_run:
            self._next_undo = (method, args, kwargs)

    def roll_back(self) -> tuple[int, list[str]]:
        """Undo what the calls made, newest first, best effort: (calls undone, errors)."""
        errors, done = [], 0
        while self._undo:
            method, args, kwargs = self._undo.pop()
            try:
                result = method(*args, **kwargs)
                errors.extend(result.get("errors") or [] if isinstance(result, dict) else [])
                done += 1
            except (NotFound, Conflict):  # gone already (with its sandbox or network)
                done += 1
            except Exception as exc:  # keep undoing the rest
                errors.append(f"{method.__name__} {' '.join(map(str, args))}: {exc}")
        self._state = None
        return done, errors

    def call(self, label: str, method, *args, **kwargs):
        if self.out.dry_run:
            result = method(*args, dry_run=True, **kwargs)
            self.out.commands.append(f"# {label}")
            self.out.commands.extend(result.get("commands", []) if isinstance(result, dict) else [])
        else:
            undo, self._next_undo = self._next_undo, None
            try:
                result = method(*args, **kwargs)
            except NsnetError:
                undo = None  # refused: it made nothing
                raise
            finally:
                if undo:
                    self._undo.append(undo)
            if isinstance(result, dict):
                self.out.errors.extend(result.get("errors") or [])
        self.out.changes.append(label)
        self.done += 1
        if self.progress:
            self.progress(label, self.done, self.total)
        return result
