"""The socket side of kernel/nftwire.py: one NETLINK_NETFILTER socket kept open
in a namespace, the set types it asked the kernel for, and the sending of an
element batch as one nf_tables transaction."""

import errno
import os
import socket

from .nftwire import (
    _ERR,
    _HDR,
    FAMILIES,
    NETLINK_CAP_ACK,
    NETLINK_EXT_ACK,
    NETLINK_NETFILTER,
    NFNL_SUBSYS_NFTABLES,
    NFT_MSG_GETSET,
    NFT_MSG_NEWSET,
    NFTA_SET_TABLE,
    NLM_F_DUMP,
    NLM_F_REQUEST,
    NLMSG_DONE,
    NLMSG_ERROR,
    SOL_NETLINK,
    SetInfo,
    _attr,
    _message,
    encode,
    parse_replies,
    parse_set,
)


class Wire:
    """One NETLINK_NETFILTER socket, bound to the namespace it was opened in."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        self.sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
        self.sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        self.sock.bind((0, 0))
        self.seq = int.from_bytes(os.urandom(2), "little") << 8
        self.sets: dict[tuple[str, str, str], SetInfo] = {}
        self.known_tables: set[tuple[str, str]] = set()

    def forget_sets(self) -> None:
        self.sets.clear()
        self.known_tables.clear()

    def _load_sets(self, family: str, table: str) -> None:
        self.seq += 1
        request = _message(NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETSET, NLM_F_REQUEST | NLM_F_DUMP, self.seq,
                           FAMILIES[family], 0, _attr(NFTA_SET_TABLE, table.encode() + b"\0"))
        self.sock.send(request)
        found = {}
        while True:
            buf = self._recv_bounded()  # a dump always ends with NLMSG_DONE or an error
            offset = 0
            while offset + 16 <= len(buf):
                length, kind, _flags, _seq, _pid = _HDR.unpack_from(buf, offset)
                if length < 16:
                    break
                if kind == NLMSG_DONE:
                    self.sets.update(found)
                    self.known_tables.add((family, table))
                    return
                if kind == NLMSG_ERROR:
                    err = -_ERR.unpack_from(buf, offset + 16)[0]
                    if err:  # no such table: nothing cached, the batch goes to libnftables
                        return
                elif kind == NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWSET:
                    parsed = parse_set(buf, offset + 20, offset + length)
                    if parsed and parsed[0] == table:
                        found[(family, table, parsed[1])] = parsed[2]
                offset += (length + 3) & ~3

    def run(self, commands) -> None:
        """Send element commands as one transaction. Raises Unsupported (use
        libnftables instead; nothing was sent) or OSError(errno, kernel's message)."""
        for _verb, family, table, _name, _elems in commands:
            if (family, table) not in self.known_tables:
                self._load_sets(family, table)
        batch, acks = encode(commands, self.sets, self.seq + 1)
        self.seq += len(commands) + 2
        self.sock.send(batch)
        # nfnetlink handles the whole batch inside send(): the replies are queued now.
        errors, got = [], 0
        while True:
            try:
                buf = self.sock.recv(1 << 16, socket.MSG_DONTWAIT)
            except BlockingIOError:
                if got >= acks or errors:
                    break
                try:
                    buf = self._recv_bounded()  # not expected: wait for the rest
                except OSError:
                    self.forget_sets()
                    raise
            replies, _done = parse_replies(buf)
            for _seq, err, text in replies:
                if err:
                    errors.append((err, text))
                else:
                    got += 1
        if errors:
            self.forget_sets()
            err, text = errors[0]
            raise OSError(err, os.strerror(err) + (f" ({text})" if text else ""))

    def _recv_bounded(self, timeout: float = 5.0) -> bytes:
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1 << 16)
        except TimeoutError:
            raise OSError(errno.ETIMEDOUT, "no answer from nf_tables")
        finally:
            self.sock.settimeout(None)

    def close(self) -> None:
        self.sock.close()
