"""Netlink attributes (type-length-value, 4-byte aligned): encoding and
reading. Encoded as pyroute2 does (strings NUL-terminated, no NLA_F_NESTED
unless asked), so a unit test can compare whole messages byte for byte."""

import struct

from .consts import NLA_TYPE_MASK

NLA = struct.Struct("=HH")  # an attribute's header: nla_len, nla_type
_U8, _U32, _BE16 = struct.Struct("=B"), struct.Struct("=I"), struct.Struct("!H")
_PAD = (b"", b"\0\0\0", b"\0\0", b"\0")  # by length % 4


def attr(kind: int, payload: bytes) -> bytes:
    length = 4 + len(payload)
    return NLA.pack(length, kind) + payload + _PAD[length & 3]


def nest(kind: int, *parts: bytes) -> bytes:
    """A nested attribute, without NLA_F_NESTED (rtnetlink does not need it)."""
    return attr(kind, b"".join(parts))


def u32(kind: int, value: int) -> bytes:
    return NLA.pack(8, kind) + _U32.pack(value)


def u8(kind: int, value: int) -> bytes:
    return NLA.pack(5, kind) + _U8.pack(value) + b"\0\0\0"


def be16(kind: int, value: int) -> bytes:
    return NLA.pack(6, kind) + _BE16.pack(value) + b"\0\0"


def asciiz(kind: int, text: str) -> bytes:
    return attr(kind, text.encode() + b"\0")


def mac(text: str) -> bytes:
    """'02:42:ac:11:00:02' -> its 6 bytes."""
    return bytes.fromhex(text.replace(":", ""))


# -- reading -------------------------------------------------------------------
def parse(data: bytes, offset: int, end: int) -> dict[int, bytes]:
    """{attribute type: payload} of the attributes in data[offset:end]."""
    out = {}
    while offset + 4 <= end:
        length, kind = NLA.unpack_from(data, offset)
        if length < 4:
            break
        out[kind & NLA_TYPE_MASK] = data[offset + 4 : offset + length]
        offset += (length + 3) & ~3
    return out


def text(raw: bytes | None) -> str | None:
    return raw.split(b"\0", 1)[0].decode() if raw is not None else None


def number(raw: bytes | None) -> int | None:
    return _U32.unpack(raw)[0] if raw else None


def mac_text(raw: bytes | None) -> str | None:
    return ":".join(f"{b:02x}" for b in raw) if raw else None
