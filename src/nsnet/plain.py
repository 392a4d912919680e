"""A base for small data classes written by hand instead of with @dataclass:
`import dataclasses` pulls in inspect, ast, dis and tokenize, ~10 ms of CLI start-up."""


class PlainData:
    """Equality and repr from the attributes __init__ sets, as a dataclass has them:
    equal when of the same class with equal attributes; unhashable (mutable)."""

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return vars(self) == vars(other)

    __hash__ = None

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in vars(self).items())
        return f"{type(self).__name__}({fields})"
