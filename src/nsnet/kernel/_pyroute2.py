"""Import pyroute2's netlink message classes without its package __init__.

`import pyroute2` imports every subsystem it has (NDB, IPDB, conntrack, ...):
~0.35 s here, more than everything else a CLI call does. nsnet only needs the
rtnetlink message classes, so the package is registered without running its
__init__ and the submodules are imported directly (~0.05 s). If pyroute2 was
already imported normally, this does nothing.
"""

import importlib.util
import sys

if "pyroute2" not in sys.modules:
    _spec = importlib.util.find_spec("pyroute2")
    sys.modules["pyroute2"] = importlib.util.module_from_spec(_spec)

from pyroute2.netlink import (
    NLM_F_ACK,
    NLM_F_CREATE,
    NLM_F_DUMP,
    NLM_F_EXCL,
    NLM_F_REPLACE,
    NLM_F_REQUEST,
    NLMSG_DONE,
    NLMSG_ERROR,
)
from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.netlink.rtnl import (
    RTM_DELADDR,
    RTM_DELLINK,
    RTM_DELNEIGH,
    RTM_DELROUTE,
    RTM_GETADDR,
    RTM_GETLINK,
    RTM_GETNEIGH,
    RTM_GETROUTE,
    RTM_NEWADDR,
    RTM_NEWLINK,
    RTM_NEWNEIGH,
    RTM_NEWROUTE,
)
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
from pyroute2.netlink.rtnl.ndmsg import ndmsg
from pyroute2.netlink.rtnl.rtmsg import rtmsg

__all__ = [
    "NLMSG_DONE",
    "NLMSG_ERROR",
    "NLM_F_ACK",
    "NLM_F_CREATE",
    "NLM_F_DUMP",
    "NLM_F_EXCL",
    "NLM_F_REPLACE",
    "NLM_F_REQUEST",
    "RTM_DELADDR",
    "RTM_DELLINK",
    "RTM_DELNEIGH",
    "RTM_DELROUTE",
    "RTM_GETADDR",
    "RTM_GETLINK",
    "RTM_GETNEIGH",
    "RTM_GETROUTE",
    "RTM_NEWADDR",
    "RTM_NEWLINK",
    "RTM_NEWNEIGH",
    "RTM_NEWROUTE",
    "NetlinkError",
    "ifaddrmsg",
    "ifinfmsg",
    "ndmsg",
    "rtmsg",
]
