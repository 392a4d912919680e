"""Everything that touches the kernel lives in this package (layout:
docs/design.md). `Kernel` (rtnl.py) is the executor the engine drives.

`Kernel` is imported lazily: commands that only read the state store (ls, ps)
should not pay for loading the netlink layer."""


def __getattr__(name):
    if name == "Kernel":
        from .rtnl import Kernel

        return Kernel
    raise AttributeError(name)
