"""Steps: the units of every plan (base.py), what their checks read (view.py),
and the concrete kinds: namespaces and interfaces (links.py), addresses and
routes (addresses.py), the firewall table and sysctls (host.py), the overlay
driver's (overlay.py) and the cluster store's (cluster.py). The last two are
imported where used: commands that never touch an overlay do not load them."""

from .addresses import AddAddress, AddRoute, DeleteAddress, DeleteRoute
from .base import Plan, Step
from .host import Nft, SetSysctl
from .links import (
    CreateBridge,
    CreateNetns,
    CreateVeth,
    DeleteLink,
    DeleteNetns,
    LeaveHostNetns,
    SetHairpin,
    SetLinkUp,
    ShareHostNetns,
)

__all__ = ["AddAddress", "AddRoute", "CreateBridge", "CreateNetns", "CreateVeth", "DeleteAddress", "DeleteLink",
           "DeleteNetns", "DeleteRoute", "LeaveHostNetns", "Nft", "Plan", "SetHairpin", "SetLinkUp", "SetSysctl",
           "ShareHostNetns", "Step"]
