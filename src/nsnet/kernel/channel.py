"""A small synchronous rtnetlink channel.

pyroute2 builds and parses the messages (its message classes and marshal,
imported only when a request has no saved template, or to decode a dump or an
error); this only sends them and waits for the ack. pyroute2's own synchronous wrapper
costs ~0.6 ms per request (an asyncio loop turn plus request filters); a plain
send/recv is ~0.05 ms, which is most of an attach.
"""

import os
import socket
import struct

from .nlconst import NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR
from .template import Templates

NETLINK_ROUTE = 0
_HEADER = struct.Struct("IHHII")
_ERRNO = struct.Struct("i")
_SEQ = struct.Struct("I")
_IFINDEX = struct.Struct("i")  # ifinfomsg: family, pad, type, then index at +4


class RequestError(Exception):
    """The kernel refused a request: `code` is the errno, args (code, text) with
    the kernel's extended-ack text when it gave one (as pyroute2's NetlinkError)."""

    def __init__(self, code: int, text: str = ""):
        super().__init__(code, text or os.strerror(code))
        self.code = code


class Channel:
    """One NETLINK_ROUTE socket, bound to the namespace it was opened in.
    Requests are encoded through `templates`, which the Kernel shares among its
    channels: a request does not depend on the socket it goes out on."""

    def __init__(self, templates: Templates):
        self.templates = templates
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.setsockopt(270, 11, 1)  # SOL_NETLINK, NETLINK_EXT_ACK: kernel says why
        self.sock.bind((0, 0))
        self.seq = 0
        self._marshal = None

    @property
    def marshal(self):
        """pyroute2's decoder; imported on first dump/error (it pulls in asyncio)."""
        if self._marshal is None:
            from pyroute2.netlink.rtnl.marshal import MarshalRtnl

            self._marshal = MarshalRtnl()
        return self._marshal

    def close(self) -> None:
        self.sock.close()

    def _send(self, msg, msg_type: int, flags: int, key=None, fields=None) -> int:
        """`key` names a cacheable request: encoded once (per shape of `fields`)
        and reused with only the fields and the sequence number patched in,
        e.g. 'lo up', 'eth0 up', a network's default route (no fields), or a
        veth pair (names, fd, ifindex). pyroute2's encoder was most of the
        Python time of an attach."""
        self.seq += 1
        if key is not None:
            buf = self.templates.encode((key, msg_type, flags), msg, fields or [],
                                        lambda m: self._encode(m, msg_type, flags))
        else:
            buf = bytearray(self._encode(msg() if callable(msg) else msg, msg_type, flags))
        _SEQ.pack_into(buf, 8, self.seq)
        self.sock.send(buf)
        return self.seq

    @staticmethod
    def _encode(msg, msg_type: int, flags: int) -> bytes:
        header = msg["header"]
        header["type"] = msg_type
        header["flags"] = flags
        header["sequence_number"] = 0
        msg.encode()
        return bytes(msg.data)

    def request(self, msg, msg_type: int, flags: int = 0, key=None, fields=None) -> None:
        """Send one request and wait for its ack; raise RequestError on failure.
        With `key`, `msg` is a builder taking the values of `fields`
        (template.Field list; none: a zero-argument builder)."""
        seq = self._send(msg, msg_type, NLM_F_REQUEST | NLM_F_ACK | flags, key, fields)
        while True:
            data = self.sock.recv(65536)
            offset = 0
            while offset + 16 <= len(data):
                length, mtype, _, mseq, _ = _HEADER.unpack_from(data, offset)
                if mseq == seq and mtype == NLMSG_ERROR:
                    (err,) = _ERRNO.unpack_from(data, offset + 16)
                    if err:
                        raise self._error(data[offset : offset + length], -err)
                    return
                offset += length or len(data)

    def _error(self, raw: bytes, code: int) -> RequestError:
        """The error with the kernel's extended-ack text when it gave one."""
        for msg in self.marshal.parse(raw):
            error = msg["header"].get("error")
            if error is not None:
                return _request_error(error)
        return RequestError(code)

    def dump(self, msg, msg_type: int) -> list:
        """A dump request: returns the decoded pyroute2 messages."""
        seq = self._send(msg, msg_type, NLM_F_REQUEST | NLM_F_DUMP)
        out = []
        while True:
            data = self.sock.recv(1 << 20)
            for item in self.marshal.parse(data):
                header = item["header"]
                if header["sequence_number"] != seq:
                    continue
                if header.get("error") is not None:
                    raise _request_error(header["error"])
                if header["type"] in (NLMSG_DONE, NLMSG_ERROR):
                    return out
                out.append(item)

    def link_index(self, msg, msg_type: int, key=None, fields=None) -> int | None:
        """RTM_GETLINK for one name; reads ifi_index straight from the reply
        header (decoding the whole ifinfmsg costs more than the kernel call)."""
        seq = self._send(msg, msg_type, NLM_F_REQUEST, key, fields)
        while True:
            data = self.sock.recv(65536)
            offset = 0
            while offset + 16 <= len(data):
                length, mtype, _, mseq, _ = _HEADER.unpack_from(data, offset)
                if mseq == seq:
                    if mtype == NLMSG_ERROR:
                        (err,) = _ERRNO.unpack_from(data, offset + 16)
                        if err == -19:  # ENODEV: no such interface
                            return None
                        raise self._error(data[offset : offset + length], -err)
                    return _IFINDEX.unpack_from(data, offset + 20)[0]
                offset += length or len(data)

    def get(self, msg, msg_type: int):
        """A single-object get (RTM_GETLINK by name, ...): the decoded reply."""
        seq = self._send(msg, msg_type, NLM_F_REQUEST)
        while True:
            for item in self.marshal.parse(self.sock.recv(65536)):
                header = item["header"]
                if header["sequence_number"] != seq:
                    continue
                if header.get("error") is not None:
                    raise _request_error(header["error"])
                return item


def _request_error(error) -> RequestError:
    """pyroute2's decoded NetlinkError as ours."""
    args = getattr(error, "args", ())
    return RequestError(getattr(error, "code", 0) or 0, args[1] if len(args) > 1 and args[1] else "")
