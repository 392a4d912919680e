"""Everything that touches the kernel lives in this package.

`Kernel` is imported lazily: commands that only read the state store (ls, ps)
should not pay for loading the netlink message classes."""


def __getattr__(name):
    if name == "Kernel":
        from .rtnl import Kernel

        return Kernel
    raise AttributeError(name)
