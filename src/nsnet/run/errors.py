"""Errors of starting and stopping processes (part of nsnet's one hierarchy)."""

from ..errors import Conflict, NsnetError


class StartError(NsnetError):
    """The command could not be started. Exit codes as in shells: 127 when the
    command does not exist, 126 when it cannot be executed."""

    def __init__(self, message: str, exit_code: int = 126):
        super().__init__(message)
        self.exit_code = exit_code


class NotRunning(Conflict):
    """stop/... of a process that is not running."""
