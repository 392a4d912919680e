"""`none`: the sandbox keeps only its loopback interface (Docker's --network none)."""

from .base import Driver


class NoneDriver(Driver):
    name = "none"
    sandbox_mode = "none"
    exclusive = True
