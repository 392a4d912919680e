"""nsnet: Docker-style container networks straight from Linux primitives."""

from .engine import Engine
from .errors import Conflict, InvalidInput, KernelError, NotFound, NsnetError, PermissionDenied

__all__ = ["Conflict", "Engine", "InvalidInput", "KernelError", "NotFound", "NsnetError", "PermissionDenied"]
__version__ = "0.1.0"
