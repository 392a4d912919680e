"""One netlink socket type for rtnetlink and nfnetlink: a request and its
ack (errno and the kernel's extended-ack text), a dump (and a get: a dump of
one reply), and a batch of messages sent at once (nf_tables transactions).
Two receive loops in all: one waits for an ack, one reads replies.

A plain send/recv on a socket kept open is ~0.05 ms a request; pyroute2's
synchronous wrapper costs ~0.6 ms (an asyncio loop turn and request filters).
Every receive is bounded (SO_RCVTIMEO): a kernel that never answers is an
error, not a hang."""

import errno
import os
import socket
import struct

from . import attrs
from .consts import (
    NETLINK_CAP_ACK,
    NETLINK_EXT_ACK,
    NLM_F_ACK,
    NLM_F_ACK_TLVS,
    NLM_F_CAPPED,
    NLM_F_REQUEST,
    NLMSG_DONE,
    NLMSG_ERROR,
    NLMSGERR_ATTR_MSG,
    SOL_NETLINK,
)

HEADER = struct.Struct("=IHHII")  # length, type, flags, sequence number, port id
_ERRNO = struct.Struct("=i")
RECV_SIZE = 1 << 16  # the kernel fills at most 32 KiB per read
TIMEOUT = struct.pack("@ll", 10, 0)  # struct timeval: seconds, microseconds


class RequestError(Exception):
    """The kernel refused a request: `code` is the errno; args are (code, text)
    with the kernel's extended-ack text when it gave one."""

    def __init__(self, code: int, text: str = ""):
        super().__init__(code, text or os.strerror(code))
        self.code = code
        self.text = text

    def __str__(self) -> str:
        """'File exists', with the kernel's own words after it when it gave some."""
        return os.strerror(self.code) + (f" ({self.text})" if self.text else "")


def message(msg_type: int, flags: int, body: bytes, seq: int = 0) -> bytes:
    return HEADER.pack(16 + len(body), msg_type, flags, seq, 0) + body


def error_of(data: bytes, offset: int) -> RequestError | None:
    """The NLMSG_ERROR message at `offset` as an error (None: an ack)."""
    length, _, flags, _, _ = HEADER.unpack_from(data, offset)
    code = -_ERRNO.unpack_from(data, offset + 16)[0]
    if not code:
        return None
    text = ""
    if flags & NLM_F_ACK_TLVS:  # after the echoed request (only its header when capped)
        echoed = 16 if flags & NLM_F_CAPPED else HEADER.unpack_from(data, offset + 20)[0]
        start = (offset + 20 + echoed + 3) & ~3
        text = attrs.text(attrs.parse(data, start, offset + length).get(NLMSGERR_ATTR_MSG)) or ""
    return RequestError(code, text)


def _messages(data: bytes):
    """(offset, length, type, seq) of each message in one read."""
    offset = 0
    while offset + 16 <= len(data):
        length, mtype, _, seq, _ = HEADER.unpack_from(data, offset)
        if length < 16:
            return
        yield offset, length, mtype, seq
        offset += (length + 3) & ~3


class NetlinkSocket:
    """One netlink socket (NETLINK_ROUTE or NETLINK_NETFILTER), bound to the
    network namespace it was opened in."""

    def __init__(self, protocol: int):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, protocol)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, TIMEOUT)
        self.sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)  # the kernel says why
        self.sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)  # and does not echo the request
        self.sock.bind((0, 0))
        self.seq = int.from_bytes(os.urandom(2), "little") << 8

    def close(self) -> None:
        self.sock.close()

    def _recv(self, flags: int = 0) -> bytes:
        try:
            return self.sock.recv(RECV_SIZE, flags)
        except BlockingIOError:
            if flags:
                raise
            raise RequestError(errno.ETIMEDOUT, "no answer from the kernel")

    def request(self, msg_type: int, flags: int, body: bytes) -> None:
        """Send one request and wait for its ack; RequestError if refused."""
        self.seq += 1
        self.sock.send(HEADER.pack(16 + len(body), msg_type, flags | NLM_F_REQUEST | NLM_F_ACK, self.seq, 0) + body)
        self._acked(self.seq)

    def batch(self, messages: list[tuple[int, int, bytes]]) -> None:
        """Messages numbered in order and sent in one send() (an nf_tables
        transaction). The last one that asks for an ack (NLM_F_ACK) ends the
        wait; errors come for any of them, and the first is raised."""
        first = self.seq + 1
        out, ack_seq = [], None
        for seq, (mtype, flags, body) in enumerate(messages, first):
            out.append(HEADER.pack(16 + len(body), mtype, flags | NLM_F_REQUEST, seq, 0) + body)
            if flags & NLM_F_ACK:
                ack_seq = seq
        if ack_seq is None:
            raise ValueError("a batch needs a message that asks for an ack")
        self.seq = first + len(messages) - 1
        self.sock.send(b"".join(out))
        self._acked(ack_seq)

    def _acked(self, seq: int) -> None:
        """Read until the ack (or error) of `seq`. The kernel handles a request
        inside send(), so the replies are queued by now; once an error is seen,
        what is still queued is read without waiting (a failed batch may not
        ack its last message)."""
        error = None
        while True:
            try:
                data = self._recv(socket.MSG_DONTWAIT if error else 0)
            except BlockingIOError:
                raise error
            for offset, _, mtype, mseq in _messages(data):
                if mtype != NLMSG_ERROR:
                    continue
                failed = error_of(data, offset)
                error = error or failed
                if mseq == seq:
                    if error:
                        raise error
                    return

    def get(self, msg_type: int, flags: int, body: bytes) -> tuple[bytes, int, int]:
        """A request with one reply (no ack, no NLMSG_DONE): (data, payload
        offset, end) of that reply, read by the dump loop."""
        for _, data, start, end in self.dump(msg_type, flags, body):
            return data, start, end
        raise RequestError(errno.EPROTO, "no reply from the kernel")

    def dump(self, msg_type: int, flags: int, body: bytes):
        """Yield (type, data, payload offset, end) of every reply to a request
        (a dump's, until NLMSG_DONE); an NLMSG_ERROR ends it, raised if an error."""
        self.seq += 1
        seq = self.seq
        self.sock.send(HEADER.pack(16 + len(body), msg_type, flags | NLM_F_REQUEST, seq, 0) + body)
        while True:
            data = self._recv()
            for offset, length, mtype, mseq in _messages(data):
                if mseq != seq:
                    continue
                if mtype == NLMSG_DONE:
                    return
                if mtype == NLMSG_ERROR:
                    failed = error_of(data, offset)
                    if failed:
                        raise failed
                    return
                yield mtype, data, offset + 16, offset + length
