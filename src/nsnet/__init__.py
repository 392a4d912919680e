"""nsnet: Docker-style container networks straight from Linux primitives.

`Engine` and the errors are imported on first use: `nsnet ps` and other light
paths must not pay for the engine (and its netlink code) at start-up."""

__all__ = ["Conflict", "Engine", "InvalidInput", "KernelError", "NotFound", "NsnetError", "PermissionDenied"]
__version__ = "0.1.0"


def __getattr__(name):
    if name == "Engine":
        from .engine import Engine

        return Engine
    if name in __all__:  # the errors too: a served command's caller imports nothing but the version
        from . import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'nsnet' has no attribute {name!r}")
