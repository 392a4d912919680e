"""Neighbour (ARP) entries of one namespace: a raw dump and a delete.

The kernel's IPv4 neighbour table is one table for all namespaces, capped by
the root namespace's gc_thresh3 (1024 by default): `nsnet check` probing every
pair of 50 sandboxes on one bridge would need 2,450 entries and overflow it for
the whole machine. So the checker counts what it is about to create and
deletes the entries its probes created once a batch is done."""

import socket
import struct

from .channel import _HEADER

RTM_DELNEIGH, RTM_GETNEIGH = 29, 30
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 0x1, 0x4, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
NDA_DST = 1
NUD_PERMANENT, NUD_NOARP = 0x80, 0x40
_NDMSG = struct.Struct("BxxxiHBB")  # family, pad, ifindex, state, flags, type
_RTA = struct.Struct("HH")


def entries(chan) -> list[tuple[int, str, int]]:
    """[(ifindex, ip, state)] of the IPv4 neighbour table as seen in this namespace."""
    chan.seq += 1
    seq = chan.seq
    body = _NDMSG.pack(socket.AF_INET, 0, 0, 0, 0)
    chan.sock.send(_HEADER.pack(16 + len(body), RTM_GETNEIGH, NLM_F_REQUEST | NLM_F_DUMP, seq, 0) + body)
    out = []
    while True:
        data = chan.sock.recv(1 << 20)
        offset = 0
        while offset + 16 <= len(data):
            length, mtype, _, mseq, _ = _HEADER.unpack_from(data, offset)
            if length < 16:
                return out
            if mseq == seq:
                if mtype in (NLMSG_DONE, NLMSG_ERROR):
                    return out
                family, index, state, _, _ = _NDMSG.unpack_from(data, offset + 16)
                pos, end = offset + 16 + _NDMSG.size, offset + length
                while pos + 4 <= end:
                    alen, kind = _RTA.unpack_from(data, pos)
                    if alen < 4:
                        break
                    if kind == NDA_DST and family == socket.AF_INET and alen == 8:
                        out.append((index, socket.inet_ntoa(data[pos + 4 : pos + 8]), state))
                    pos += (alen + 3) & ~3
            offset += (length + 3) & ~3


def delete(chan, ifindex: int, ip: str) -> bool:
    """Remove one entry; False if it was gone already."""
    chan.seq += 1
    seq = chan.seq
    attr = _RTA.pack(8, NDA_DST) + socket.inet_aton(ip)
    body = _NDMSG.pack(socket.AF_INET, ifindex, 0, 0, 0) + attr
    chan.sock.send(_HEADER.pack(16 + len(body), RTM_DELNEIGH, NLM_F_REQUEST | NLM_F_ACK, seq, 0) + body)
    while True:
        data = chan.sock.recv(65536)
        offset = 0
        while offset + 16 <= len(data):
            length, mtype, _, mseq, _ = _HEADER.unpack_from(data, offset)
            if mseq == seq and mtype == NLMSG_ERROR:
                (err,) = struct.unpack_from("i", data, offset + 16)
                return err == 0
            offset += (length + 3) & ~3 or len(data)


def table_room() -> int:
    """How many more neighbour entries the machine's table takes before it
    overflows (gc_thresh3 minus the entries of every namespace)."""
    try:
        with open("/proc/sys/net/ipv4/neigh/default/gc_thresh3") as f:
            limit = int(f.read())
    except OSError:
        limit = 1024
    try:
        with open("/proc/net/stat/arp_cache") as f:
            f.readline()
            used = int(f.readline().split()[0], 16)
    except (OSError, ValueError, IndexError):
        used = 0
    return max(0, limit - used)
