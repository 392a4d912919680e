"""The one error a topology file raises: every problem found, each with its path."""

from ..errors import InvalidInput

SHOWN = 3


class TopologyError(InvalidInput):
    """`errors` holds every problem as 'path: message'; the message shows the first few."""

    def __init__(self, errors: list[str]):
        self.errors = list(errors)
        text = "; ".join(self.errors[:SHOWN])
        if len(self.errors) > SHOWN:
            text += f" (and {len(self.errors) - SHOWN} more)"
        super().__init__(text)
