"""Network drivers; a new driver is a new module registered here."""

from ..errors import InvalidInput
from .bridge import BridgeDriver
from .host import HostDriver
from .none import NoneDriver
from .overlay import OverlayDriver

DRIVERS = {d.name: d for d in (BridgeDriver(), HostDriver(), NoneDriver(), OverlayDriver())}


def get_driver(name: str):
    try:
        return DRIVERS[name]
    except KeyError:
        raise InvalidInput(f"unknown driver '{name}' (choose from: {', '.join(sorted(DRIVERS))})")
