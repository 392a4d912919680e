"""Everything that touches the kernel lives in this package."""

from .rtnl import Kernel

__all__ = ["Kernel"]
