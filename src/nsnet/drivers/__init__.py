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


def check_options(driver: str, given: dict | None) -> dict:
    """A driver's `--opt KEY[=VALUE]` options, parsed; an option of another
    driver is named as such ("option 'encrypted' is for --driver overlay")."""
    drv = get_driver(driver)
    for key in given or {}:
        owners = sorted(d.name for d in DRIVERS.values() if key in d.options)
        if key not in drv.options and owners:
            raise InvalidInput(f"option '{key}' is for --driver {' or '.join(owners)}, not {driver}")
    return drv.check_options(dict(given or {}))
