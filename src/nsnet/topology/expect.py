"""Expectations: 'a -> b', 'a <-> b', 'a -> b:80', 'outside -> host:8080/tcp'."""

import re

from ..errors import InvalidInput
from .model import Expectation

OUTSIDE, HOST = "outside", "host"
_ARROW = re.compile(r"^\s*(\S+)\s*(<->|->)\s*(\S+)\s*$")
_TARGET = re.compile(r"^([^:/\s]+)(?::([0-9]+)(?:/(tcp))?)?\Z")  # ASCII digits only


def parse(text, reach: bool) -> list[Expectation]:
    """One string -> one expectation ('->') or two ('<->'). Raises InvalidInput."""
    if not isinstance(text, str):
        raise InvalidInput(f"expected a string like 'web -> db' or 'web -> app:8080', got {text!r}")
    match = _ARROW.match(text)
    if not match:
        raise InvalidInput(f"'{text}' is not 'A -> B' or 'A <-> B'")
    src, arrow, target = match.groups()
    dst_match = _TARGET.match(target)
    if not dst_match or ":" in src:
        raise InvalidInput(f"'{text}': the target is NAME or NAME:PORT[/tcp]")
    dst, port, _ = dst_match.groups()
    port = int(port) if port else None
    if port is not None and not 1 <= port <= 65535:
        raise InvalidInput(f"'{text}': port {port} is out of range (1..65535)")
    if src == dst:
        raise InvalidInput(f"'{text}': a sandbox is not probed against itself")
    if dst == HOST and (src != OUTSIDE or port is None or arrow == "<->"):
        raise InvalidInput(f"'{text}': 'host' is a target only as 'outside -> host:PORT' (published ports)")
    proto = "tcp" if port else "icmp"
    out = [Expectation(text, src, dst, port, proto, reach)]
    if arrow == "<->":
        if port is not None:
            raise InvalidInput(f"'{text}': '<->' takes no port; write two '->' lines")
        out.append(Expectation(text, dst, src, None, proto, reach))
    return out


def names(expectation: Expectation) -> list[str]:
    """The sandboxes an expectation refers to."""
    return [n for n in (expectation.src, expectation.dst) if n not in (OUTSIDE, HOST)]
