"""Encoded netlink requests reused with a few fields patched in.

pyroute2 encodes a veth request in ~0.3 ms and an address in ~0.1 ms: most of
the Python time of an attach. The requests of one kind differ only in a few
fixed-size values (interface names of a given length, an fd, an ifindex, an
IPv4 address), so each shape is encoded once by pyroute2 with placeholder
values, the placeholders' offsets are found in the bytes, and later requests
copy the bytes and write their own values there.

The templates are saved in the state dir (Templates.save, at Kernel.close):
the next nsnet process sends the same requests without importing pyroute2
at all (~20 ms of a CLI call). They are the kernel's wire format, which does
not change with pyroute2's version. A file written for other builders (its
`stamp` differs) or that cannot be read is ignored.
"""

import marshal
import os
import socket
import struct

_U32 = struct.Struct("I")


class Field:
    """One variable value of a request: 'str' (NUL-terminated name), 'u32' or 'ip4'."""

    __slots__ = ("kind", "value")

    def __init__(self, kind: str, value):
        self.kind = kind
        self.value = value

    def placeholder(self, slot: int):
        """A value of the same encoded size that no real request carries."""
        if self.kind == "str":
            return chr(0x01 + slot) * len(self.value)  # control characters: never in a name
        if self.kind == "u32":
            return 0x7EA50000 + slot
        return f"0.254.{0xA5}.{slot + 1}"  # 0.0.0.0/8 is never a configured address

    def encoded(self, value=None) -> bytes:
        value = self.value if value is None else value
        if self.kind == "str":
            return value.encode()
        if self.kind == "u32":
            return _U32.pack(value)
        return socket.inet_aton(value)

    def shape(self):
        return len(self.value) if self.kind == "str" else self.kind


class Templates:
    """Per (key, shape of the fields): the encoded request and where each field sits.
    With a `path`, loaded from there on first use and saved back by save();
    `stamp` identifies the code that built them (Kernel: its builders' files)."""

    MAX = 1024
    FORMAT = 1  # bump when the file's layout changes

    def __init__(self, path: str | None = None, stamp=()):
        self.path = path
        self.stamp = (self.FORMAT, *stamp)
        self._loaded: dict | None = None
        self._added = False

    @property
    def _cache(self) -> dict:
        if self._loaded is None:
            self._loaded = self._load()
        return self._loaded

    def _load(self) -> dict:
        if self.path is None:
            return {}
        try:
            with open(self.path, "rb") as f:
                stamp, entries = marshal.loads(f.read())
        except (OSError, EOFError, ValueError, TypeError):
            return {}
        return entries if stamp == self.stamp and isinstance(entries, dict) else {}

    def save(self) -> None:
        """Write the templates back if this process made new ones (atomically:
        concurrent nsnet processes each write a whole file; the last one wins)."""
        if self.path is None or not self._added:
            return
        tmp = f"{self.path}.{os.getpid()}"
        try:
            data = marshal.dumps((self.stamp, self._cache))
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, self.path)
            self._added = False
        except (OSError, ValueError):  # a cache: never worth failing a command for
            try:
                os.unlink(tmp)
            except OSError:
                pass

    def encode(self, key, build, fields: list[Field], encode_msg) -> bytearray:
        """The request `build(*values)` would encode to (a fresh buffer), from a
        template when one exists. `encode_msg(msg)` turns a built pyroute2
        message into bytes. With no fields the template is the request itself."""
        shape = (key, tuple(f.shape() for f in fields))
        cache = self._cache
        entry = cache.get(shape)
        if entry is None:
            entry = self._make(build, fields, encode_msg)
            if len(cache) >= self.MAX:
                cache.clear()
            cache[shape] = entry
            self._added = True
        data, offsets = entry
        if offsets is None:  # placeholders were ambiguous: encode this one for real
            return bytearray(encode_msg(build(*[f.value for f in fields])))
        buf = bytearray(data)
        for field, offset in zip(fields, offsets, strict=True):
            raw = field.encoded()
            buf[offset : offset + len(raw)] = raw
        return buf

    @staticmethod
    def _make(build, fields, encode_msg):
        placeholders = [f.placeholder(i) for i, f in enumerate(fields)]
        data = encode_msg(build(*placeholders))
        offsets = []
        for field, value in zip(fields, placeholders, strict=True):
            raw = field.encoded(value)
            # A placeholder found exactly once is the field itself (it is in there).
            if not raw or data.count(raw) != 1:
                return data, None
            offsets.append(data.index(raw))
        return data, tuple(offsets)
