"""Set and map elements straight over nfnetlink: the hot path of published ports.

libnftables takes ~0.2-0.45 ms for a batch that only adds two map elements
(JSON parsing, then a cache refresh of six netlink round trips: docs/design.md).
Batches of only `add` / `create` / `delete element` commands go as the messages
libnftables would send (`nft --debug=mnl add element ...`), in one send() on a
socket kept open (kernel/nft.py): still one nf_tables transaction.

The kernel is asked for the sets' types once (one GETSET dump per table, kept
until a libnftables batch may have changed them); values are encoded from
those types, and the kernel checks key and data lengths again. Whatever this
module does not encode (other commands, intervals, timeouts, other types)
raises Unsupported (or element_commands says None), and the caller uses
libnftables. Pure functions: unit tests check the bytes without root.
"""

import socket
import struct

from .attrs import NLA as _NLA
from .attrs import attr as _attr
from .attrs import parse as _attrs
from .consts import (
    NFNL_MSG_BATCH_BEGIN,
    NFNL_MSG_BATCH_END,
    NFNL_SUBSYS_NFTABLES,
    NFPROTO_INET,
    NFPROTO_IPV4,
    NFPROTO_IPV6,
    NFT_MSG_DELSETELEM,
    NFT_MSG_GETSET,
    NFT_MSG_NEWSET,
    NFT_MSG_NEWSETELEM,
    NFT_SET_CONCAT,
    NFT_SET_MAP,
    NFTA_DATA_VALUE,
    NFTA_LIST_ELEM,
    NFTA_SET_DATA_LEN,
    NFTA_SET_DATA_TYPE,
    NFTA_SET_ELEM_DATA,
    NFTA_SET_ELEM_KEY,
    NFTA_SET_ELEM_LIST_ELEMENTS,
    NFTA_SET_ELEM_LIST_SET,
    NFTA_SET_ELEM_LIST_TABLE,
    NFTA_SET_ELEM_USERDATA,
    NFTA_SET_FLAGS,
    NFTA_SET_KEY_LEN,
    NFTA_SET_KEY_TYPE,
    NFTA_SET_NAME,
    NFTA_SET_TABLE,
    NFTNL_UDATA_SET_ELEM_COMMENT,
    NLA_F_NESTED,
    NLM_F_ACK,
    NLM_F_CREATE,
    NLM_F_DUMP,
    NLM_F_EXCL,
)

RES_NFTABLES = socket.htons(NFNL_SUBSYS_NFTABLES)  # nfgenmsg.res_id of a batch: big-endian
COMMENT_MAX = 128  # nft's limit for a comment
MAX_BATCH = 1 << 16  # bytes in one send(); larger batches go through libnftables
HANDLED_FLAGS = NFT_SET_MAP | NFT_SET_CONCAT  # plain sets and maps (not intervals, timeouts, objects ...)

FAMILIES = {"inet": NFPROTO_INET, "ip": NFPROTO_IPV4, "ip6": NFPROTO_IPV6}
VERBS = {"add": (NFT_MSG_NEWSETELEM, NLM_F_CREATE), "create": (NFT_MSG_NEWSETELEM, NLM_F_CREATE | NLM_F_EXCL),
         "delete": (NFT_MSG_DELSETELEM, 0)}

# nftables' datatype ids (src/datatype.h); a concatenation's type is its
# parts' ids, 6 bits each, the first part in the highest bits.
TYPE_IPADDR, TYPE_IP6ADDR, TYPE_INET_PROTOCOL, TYPE_INET_SERVICE = 7, 8, 12, 13
TYPE_BITS = 6
PROTOCOLS = {"tcp": 6, "udp": 17, "icmp": 1, "sctp": 132, "dccp": 33, "udplite": 136}

_NFGEN = struct.Struct("=BBH")
_U32 = struct.Struct("!I")


class Unsupported(Exception):
    """This batch is not for the fast path: use libnftables."""


def split_type(type_id: int) -> tuple[int, ...]:
    """A set's key/data type id -> the datatype ids of its parts."""
    parts = []
    while type_id:
        parts.append(type_id & ((1 << TYPE_BITS) - 1))
        type_id >>= TYPE_BITS
    return tuple(reversed(parts))


def _nest(kind: int, payload: bytes) -> bytes:
    if 4 + len(payload) > 0xFFFF:
        raise Unsupported("attribute too long")
    return _attr(kind | NLA_F_NESTED, payload)


def _ipv4(v) -> bytes:
    return socket.inet_pton(socket.AF_INET, v)  # str only; strict dotted quad


def _ipv6(v) -> bytes:
    return socket.inet_pton(socket.AF_INET6, v)


def _protocol(v) -> int:
    return PROTOCOLS[v] if type(v) is str else v


def _service(v) -> int:
    if type(v) is not int:
        raise TypeError(v)  # service names ("http"): libnftables
    return v


# datatype -> (struct code, padding in a concatenation, converter); struct
# checks the ranges (B: 0-255, H: 0-65535, 4s: 4 bytes)
_CODECS = {TYPE_IPADDR: ("4s", "", _ipv4), TYPE_IP6ADDR: ("16s", "", _ipv6), TYPE_INET_PROTOCOL: ("B", "3x", _protocol),
           TYPE_INET_SERVICE: ("H", "2x", _service)}
_BAD_VALUE = (struct.error, TypeError, ValueError, KeyError, OSError)


def _codec(types: tuple[int, ...]):
    """(packer, converters) for a key or data of these types: a single value
    takes its type's size; each part of a concatenation is padded to 4 bytes
    (an nft register), as nft does."""
    if len(types) == 1:
        code, _pad, conv = _CODECS[types[0]]
        return struct.Struct("!" + code).pack, (conv,)
    return (struct.Struct("!" + "".join(_CODECS[t][0] + _CODECS[t][1] for t in types)).pack,
            tuple(_CODECS[t][2] for t in types))


def _values(codec, v) -> bytes:
    pack, convs = codec
    if len(convs) == 1:
        if type(v) is dict:
            raise Unsupported(v)
        return pack(convs[0](v))
    parts = v.get("concat") if type(v) is dict and len(v) == 1 else None
    if type(parts) is not list or len(parts) != len(convs):
        raise Unsupported(v)
    return pack(*[conv(part) for conv, part in zip(convs, parts, strict=True)])


_ZEROS = (b"", b"\0", b"\0\0", b"\0\0\0")
_ELEM_KEYS = frozenset(("val", "comment"))


def _value_attr(kind: int, length: int) -> bytes:
    """The header of a nested attribute `kind` holding one NFTA_DATA_VALUE of
    `length` bytes (then come the value and its padding)."""
    return _NLA.pack(4 + ((4 + length + 3) & ~3), kind | NLA_F_NESTED) + _NLA.pack(4 + length, NFTA_DATA_VALUE)


class SetInfo:
    """A set's key and data types as the kernel keeps them, with its elements'
    encoders and the fixed parts of their attributes made once."""

    __slots__ = ("data_codec", "data_head", "data_len", "data_types", "is_map", "key_codec", "key_head", "key_len",
                 "key_types", "names")

    def __init__(self, table: str, name: str, key_types, key_len, data_types=(), data_len=0, is_map=False):
        self.key_types, self.key_len = key_types, key_len
        self.data_types, self.data_len, self.is_map = data_types, data_len, is_map
        self.key_codec = _codec(key_types)
        self.data_codec = _codec(data_types) if is_map else None
        self.key_head = _value_attr(NFTA_SET_ELEM_KEY, key_len)
        # the key's padding, then the data attribute's header
        self.data_head = _ZEROS[-key_len & 3] + _value_attr(NFTA_SET_ELEM_DATA, data_len)
        self.names = (_attr(NFTA_SET_ELEM_LIST_TABLE, table.encode() + b"\0")
                      + _attr(NFTA_SET_ELEM_LIST_SET, name.encode() + b"\0"))


def _comment(comment) -> bytes:
    text = comment.encode() if type(comment) is str else b"\0"
    if len(text) > COMMENT_MAX or b"\0" in text:
        raise Unsupported("comment")
    return _attr(NFTA_SET_ELEM_USERDATA, bytes((NFTNL_UDATA_SET_ELEM_COMMENT, len(text) + 1)) + text + b"\0")


def _element(info: SetInfo, elem, keys_only: bool, memo: dict) -> bytes:
    """JSON element (as nftjson builds them) -> an NFTA_LIST_ELEM attribute.
    `memo` keeps encoded keys and comments for the batch (a port's key and
    comment appear in two maps)."""
    value = None
    if type(elem) is list:  # map element: [key, value]
        if keys_only or len(elem) != 2 or not info.is_map:
            raise Unsupported(elem)
        elem, value = elem
    elif info.is_map and not keys_only:
        raise Unsupported(elem)
    comment = None
    if type(elem) is dict and "elem" in elem:
        body = elem["elem"]
        if len(elem) != 1 or type(body) is not dict or not body.keys() <= _ELEM_KEYS:
            raise Unsupported(elem)  # timeouts, counters ...
        elem, comment = body.get("val"), body.get("comment")
    try:
        memo_key = (id(elem), info.key_types)
        key = memo.get(memo_key)
        if key is None:
            key = memo[memo_key] = _values(info.key_codec, elem)
            memo[id(elem), "obj"] = elem  # keeps the id valid for the batch
        parts = [b"", info.key_head, key]
        if value is not None:
            parts += (info.data_head, _values(info.data_codec, value), _ZEROS[-info.data_len & 3])
        else:
            parts.append(_ZEROS[-info.key_len & 3])
    except _BAD_VALUE as exc:
        raise Unsupported(exc)
    if len(key) != info.key_len or (value is not None and len(parts[4]) != info.data_len):
        raise Unsupported("length")
    if comment is not None and not keys_only:
        attr = memo.get(comment)
        if attr is None:
            attr = memo[comment] = _comment(comment)
        parts.append(attr)
    size = sum(map(len, parts)) + 4
    parts[0] = _NLA.pack(size, NFTA_LIST_ELEM | NLA_F_NESTED)
    return b"".join(parts)


def _message(kind: int, flags: int, family: int, res_id: int, payload: bytes) -> tuple[int, int, bytes]:
    return kind, flags, _NFGEN.pack(family, 0, res_id) + payload


def getset(family: str, table: str) -> tuple[int, int, bytes]:
    """The dump of a table's sets (their key and data types)."""
    return _message(NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETSET, NLM_F_DUMP, FAMILIES[family], 0,
                    _attr(NFTA_SET_TABLE, table.encode() + b"\0"))


def is_set(msg_type: int) -> bool:
    return msg_type == NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWSET


def element_commands(payload) -> list[tuple[str, str, str, str, list]] | None:
    """[(verb, family, table, set, elems)] if the JSON batch holds only element
    commands of families this module knows; else None."""
    commands = payload.get("nftables") if isinstance(payload, dict) and len(payload) == 1 else None
    if not commands:
        return None
    out = []
    for command in commands:
        if not isinstance(command, dict) or len(command) != 1:
            return None
        (verb, obj), = command.items()
        if verb not in VERBS or not isinstance(obj, dict) or list(obj) != ["element"]:
            return None
        body = obj["element"]
        if body.get("family") not in FAMILIES or not isinstance(body.get("elem"), list) or not body["elem"]:
            return None
        out.append((verb, body["family"], body.get("table"), body.get("name"), body["elem"]))
    return out


def encode(commands, sets: dict) -> list[tuple[int, int, bytes]]:
    """The batch for element_commands(), as (type, flags, body) messages for
    NetlinkSocket.batch; `sets`: {(family, table, name): SetInfo}. Raises
    Unsupported. Errors come back for any message; only the last command asks
    for an ack too, so a batch that went through says so in one reply."""
    msgs = [_message(NFNL_MSG_BATCH_BEGIN, 0, 0, RES_NFTABLES, b"")]
    last, memo, size = len(commands) - 1, {}, 0
    for i, (verb, family, table, name, elems) in enumerate(commands):
        info = sets.get((family, table, name))
        if info is None:
            raise Unsupported(f"set {name}")
        kind, flags = VERBS[verb]
        keys_only = verb == "delete"
        elements = b"".join([_element(info, e, keys_only, memo) for e in elems])
        body = info.names + _nest(NFTA_SET_ELEM_LIST_ELEMENTS, elements)
        size += len(body) + 20
        if i == last:
            flags |= NLM_F_ACK
        msgs.append(_message(NFNL_SUBSYS_NFTABLES << 8 | kind, flags, FAMILIES[family], 0, body))
    msgs.append(_message(NFNL_MSG_BATCH_END, 0, 0, RES_NFTABLES, b""))
    if size > MAX_BATCH:
        raise Unsupported("large batch")  # libnftables splits those
    return msgs


def parse_set(buf: bytes, offset: int, end: int):
    """One NFT_MSG_NEWSET message body (after nfgenmsg) -> (table, name, SetInfo) or None."""
    a = _attrs(buf, offset, end)
    try:
        table, name = a[NFTA_SET_TABLE].rstrip(b"\0").decode(), a[NFTA_SET_NAME].rstrip(b"\0").decode()
        flags = _U32.unpack(a.get(NFTA_SET_FLAGS, b"\0\0\0\0"))[0]
        key_types, key_len = split_type(_U32.unpack(a[NFTA_SET_KEY_TYPE])[0]), _U32.unpack(a[NFTA_SET_KEY_LEN])[0]
        is_map = bool(flags & NFT_SET_MAP)
        data_types, data_len = (), 0
        if is_map:
            data_types = split_type(_U32.unpack(a[NFTA_SET_DATA_TYPE])[0])
            data_len = _U32.unpack(a[NFTA_SET_DATA_LEN])[0]
    except (KeyError, struct.error, UnicodeDecodeError):
        return None
    if flags & ~HANDLED_FLAGS or not key_types or (is_map and not data_types) \
            or not all(t in _CODECS for t in key_types + data_types):
        return None  # intervals, timeouts, objects, other types: libnftables
    return table, name, SetInfo(table, name, key_types, key_len, data_types, data_len, is_map)
