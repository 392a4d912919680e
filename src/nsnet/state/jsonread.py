"""json.loads without importing the json package: `import json` pulls in `re`
(and enum, functools, collections: ~7 ms), more than everything else `nsnet ps`
does. The scanner json.loads itself uses (the C module _json) reads the
records just as well. Where _json is missing, json.loads it is."""

try:
    from _json import make_scanner as _make_scanner
except ImportError:  # not CPython
    _make_scanner = None

_WS = " \t\n\r"  # JSON whitespace, as json.decoder skips it
_CONSTANTS = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}


class _Options:
    """The attributes the C scanner reads from a json.JSONDecoder (its defaults)."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = _CONSTANTS.__getitem__


_scan = _make_scanner(_Options()) if _make_scanner else None


def loads(data: bytes | str):
    """The value of one JSON document; ValueError if it is not one (as json.loads)."""
    if _scan is None:
        import json

        return json.loads(data)
    text = data.decode("utf-8") if isinstance(data, bytes) else data  # UnicodeDecodeError is a ValueError
    start = len(text) - len(text.lstrip(_WS))
    try:
        value, end = _scan(text, start)
    except (StopIteration, SystemError):
        # SystemError: a document cut short ('{', '"abc') makes the C scanner raise
        # json.decoder's error, which is not imported here
        raise ValueError("not a JSON document") from None
    if text[end:].strip(_WS):
        raise ValueError("extra data after the JSON document")
    return value
