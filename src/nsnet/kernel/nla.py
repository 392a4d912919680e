"""Reading netlink attributes (type-length-value, 4-byte aligned) out of raw
replies, for the paths that parse with struct instead of pyroute2's decoder
(rawdump.py: drift checks; nftwire.py: set types and error texts)."""

import struct

_NLA = struct.Struct("HH")  # nla_len, nla_type
_TYPE_MASK = 0x3FFF  # without NLA_F_NESTED and NLA_F_NET_BYTEORDER


def attrs(data: bytes, offset: int, end: int) -> dict[int, bytes]:
    """{attribute type: payload} of the attributes in data[offset:end]."""
    out = {}
    while offset + 4 <= end:
        length, kind = _NLA.unpack_from(data, offset)
        if length < 4:
            break
        out[kind & _TYPE_MASK] = data[offset + 4 : offset + length]
        offset += (length + 3) & ~3
    return out
