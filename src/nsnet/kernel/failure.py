"""Kernel errors as nsnet errors: the errno kept, EPERM said plainly."""

import errno
import os

from ..errors import KernelError, PermissionDenied

# What a delete may hear when the object is gone already: not a failure.
GONE = {errno.ENODEV, errno.ENOENT, errno.ESRCH, errno.EADDRNOTAVAIL}


def fail(what: str, exc: Exception) -> KernelError:
    code = getattr(exc, "code", None) or getattr(exc, "errno", 0) or 0
    text = exc.args[1] if len(getattr(exc, "args", ())) > 1 and exc.args[1] else os.strerror(code)
    if code == errno.EPERM:
        return PermissionDenied(f"{what}: operation not permitted (run as root / CAP_NET_ADMIN)")
    return KernelError(f"{what}: {text}", code)
