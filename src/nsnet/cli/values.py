"""Option values that several commands parse the same way."""

from ..errors import InvalidInput


def parse_network_arg(value: str) -> tuple[str, str | None]:
    """NET or NET:IP."""
    net, _, ip = value.partition(":")
    if not net:
        raise InvalidInput(f"--network '{value}': expected NET or NET:IP")
    return net, (ip or None)
