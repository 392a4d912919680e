"""One exception hierarchy. The CLI maps each class to an exit code in one place."""


class NsnetError(Exception):
    """Base class: the message is a complete, one-line explanation for a user.
    Control characters in it (a name given with a newline) are written as
    Python writes them in a string (\\n), so it stays one line."""

    exit_code = 1

    def __init__(self, message: str = "", *args):
        text = str(message)
        if not text.isprintable():
            text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
        super().__init__(text, *args)


class InvalidInput(NsnetError):
    """The request itself is malformed (bad name, bad CIDR, address outside subnet...)."""

    exit_code = 2


class NotFound(NsnetError):
    exit_code = 3


class Conflict(NsnetError):
    """Valid request that clashes with what exists (duplicate, overlap, in use)."""

    exit_code = 4


class PermissionDenied(NsnetError):
    exit_code = 5


class KernelError(NsnetError):
    """A kernel call failed; keeps the errno so callers can tell EEXIST from EPERM."""

    exit_code = 6

    def __init__(self, message: str, errno: int = 0):
        super().__init__(message)
        self.errno = errno


class RollbackError(NsnetError):
    """A plan failed and undoing it also failed: the kernel may hold leftovers."""

    exit_code = 7


class StateError(NsnetError):
    """The state store cannot be used: damaged, unreadable, read-only or locked
    too long by another process. The message says what to do."""

    exit_code = 9
