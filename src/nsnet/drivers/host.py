"""`host`: the sandbox shares the host's own network stack (Docker's --network host).
Nothing is created; `exec` runs in the host namespace."""

from .base import Driver


class HostDriver(Driver):
    name = "host"
    sandbox_mode = "host"
    exclusive = True
