"""Typed access to parsed YAML that records 'path: message' errors instead of
stopping at the first one."""

from ..errors import InvalidInput


class Reader:
    def __init__(self):
        self.errors: list[str] = []

    def fail(self, path: str, message: str) -> None:
        self.errors.append(f"{path}: {message}")

    def mapping(self, value, path: str, keys: tuple, required: tuple = (), null_ok=False) -> dict | None:
        if value is None and null_ok:
            return {}
        if not isinstance(value, dict):
            self.fail(path, f"expected a mapping, got {_kind(value)}")
            return None
        for key in value:
            if not isinstance(key, str):
                self.fail(path, f"key {key!r} must be a string")
            elif key not in keys:
                self.fail(_join(path, key), f"unknown key (allowed: {', '.join(keys)})")
        for key in required:
            if value.get(key) is None:
                self.fail(_join(path, key), "is required")
        return {k: v for k, v in value.items() if isinstance(k, str) and k in keys}

    def names(self, value, path: str) -> dict:
        """A mapping of user-chosen names (sandboxes, networks) to their specs."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(path, f"expected a mapping of names, got {_kind(value)}")
            return {}
        out = {}
        for key, spec in value.items():
            if not isinstance(key, str):
                self.fail(path, f"name {key!r} must be a string (quote it)")
            else:
                out[key] = spec
        return out

    def seq(self, value, path: str) -> list:
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(path, f"expected a list, got {_kind(value)}")
            return []
        return value

    def string(self, value, path: str) -> str | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.fail(path, f"expected a string, got {_kind(value)}")
            return None
        return str(value)

    def integer(self, value, path: str, low: int, high: int) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, f"expected an integer, got {_kind(value)}")
            return None
        if not low <= value <= high:
            self.fail(path, f"{value} is out of range ({low}..{high})")
            return None
        return value

    def boolean(self, value, path: str, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail(path, f"expected true or false, got {_kind(value)}")
            return default
        return value

    def call(self, path: str, fn, *args, prefixed=False):
        """Run a validator that raises InvalidInput; record its message under `path`
        (`prefixed`: the message already starts with the path)."""
        try:
            return fn(*args)
        except InvalidInput as exc:
            if prefixed:
                self.errors.append(str(exc))
            else:
                self.fail(path, str(exc))
            return None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(value) -> str:
    if value is None:
        return "nothing"
    return {bool: "a boolean", int: "an integer", float: "a number", str: f"the string '{value}'",
            list: "a list", dict: "a mapping"}.get(type(value), type(value).__name__)
