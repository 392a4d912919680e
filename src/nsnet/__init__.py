"""nsnet: Docker-style container networks straight from Linux primitives.

`Engine` is imported on first use: `nsnet ps` and other light paths must not
pay for the engine (and its netlink code) at start-up."""

from .errors import Conflict, InvalidInput, KernelError, NotFound, NsnetError, PermissionDenied

__all__ = ["Conflict", "Engine", "InvalidInput", "KernelError", "NotFound", "NsnetError", "PermissionDenied"]
__version__ = "0.1.0"


def __getattr__(name):
    if name == "Engine":
        from .engine import Engine

        return Engine
    raise AttributeError(f"module 'nsnet' has no attribute {name!r}")
