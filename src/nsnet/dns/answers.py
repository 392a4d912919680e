"""Answers of the nsnet DNS server: pure, no sockets.

The server hands over raw query bytes plus the View of the sandbox that asks
(config.py) and gets back reply bytes, or a parsed request to forward upstream.
"""

from __future__ import annotations

from dnslib import (
    AAAA,
    EDNS0,
    OPCODE,
    PTR,
    QTYPE,
    RCODE,
    RR,
    A,
    DNSBuffer,
    DNSError,
    DNSHeader,
    DNSRecord,
)

from .config import Config, View

TTL = 60
MAX_UDP_REPLY = 4096      # ceiling on the EDNS payload size we honour
OUR_EDNS_PAYLOAD = 1232   # the size we advertise (DNS flag day 2020)
CACHE_SIZE = 8192         # packed replies kept, all networks together (~2.5 MB; see respond)
_ANY = QTYPE.ANY
_NOTIMP_TYPES = frozenset((QTYPE.AXFR, QTYPE.IXFR, 253, 254))  # zone transfers, MAILB, MAILA
_CLASSES = frozenset((1, 255))                                 # IN, ANY


def udp_limit(req: DNSRecord) -> int:
    """Largest UDP reply the asker accepts: 512, or its EDNS payload size."""
    for rr in req.ar:
        if rr.rtype == QTYPE.OPT:
            return max(512, min(rr.rclass, MAX_UDP_REPLY))
    return 512


def _edns(req: DNSRecord) -> list:
    """Our OPT record when the asker sent one (RFC 6891: answer EDNS with EDNS)."""
    if any(rr.rtype == QTYPE.OPT for rr in req.ar):
        return [EDNS0(udp_len=OUR_EDNS_PAYLOAD)]
    return []


def error(req: DNSRecord, rcode: int) -> DNSRecord:
    """An empty reply with `rcode`; echoes the question only when there is exactly one."""
    h = req.header
    return DNSRecord(DNSHeader(id=h.id, bitmap=h.bitmap, qr=1, aa=0, tc=0, z=0, ad=0, ra=1,
                               rcode=rcode),
                     questions=req.questions[:1] if len(req.questions) == 1 else None,
                     ar=_edns(req))


def formerr(data: bytes) -> bytes | None:
    """FORMERR for a packet whose header at least parses; None (drop) otherwise."""
    try:
        h = DNSHeader.parse(DNSBuffer(data))
    except DNSError:   # too short to carry an ID: nobody to answer
        return None
    if h.qr:           # never answer a response: that is how reply loops start
        return None
    return DNSRecord(DNSHeader(id=h.id, bitmap=0, qr=1, opcode=h.opcode, rd=h.rd,
                               rcode=RCODE.FORMERR)).pack()


def _lookup(view: View, key: bytes):
    """(A/AAAA entry, PTR list) for `key` on the asker's first network that has it."""
    for net in view.networks:
        entry = net.names.get(key)
        if entry is not None:
            return entry, None
        ptrs = net.ptrs.get(key)
        if ptrs is not None:
            return None, ptrs
    return None, None


def answer(cfg: Config, view: View, req: DNSRecord) -> DNSRecord | None:
    """The reply to one question from an asker with `view`, or None when it
    should go upstream.

    The reply is `req` itself, turned around: a third cheaper than building a
    new DNSRecord, which matters on the hot path.
    """
    q = req.questions[0]
    qtype = q.qtype
    if q.qclass not in _CLASSES or qtype in _NOTIMP_TYPES:
        return error(req, RCODE.NOTIMP)
    key = b".".join(q.qname.label).lower()
    rcode, rrs = RCODE.NOERROR, []
    entry, ptrs = _lookup(view, key)
    if entry is not None:
        # Other types of an existing name: empty NOERROR ("no data"), not NXDOMAIN.
        if qtype == QTYPE.A or qtype == _ANY:
            rrs.extend(RR(q.qname, QTYPE.A, ttl=TTL, rdata=A(ip)) for ip in entry[0])
        if qtype == QTYPE.AAAA or qtype == _ANY:
            rrs.extend(RR(q.qname, QTYPE.AAAA, ttl=TTL, rdata=AAAA(ip)) for ip in entry[1])
    elif ptrs is not None:
        if qtype == QTYPE.PTR or qtype == _ANY:
            rrs.extend(RR(q.qname, QTYPE.PTR, ttl=TTL, rdata=PTR(name)) for name in ptrs)
    # Sandboxes of networks the asker is not on, and anything under our domains,
    # do not exist for it: never leak them to (or let them be answered by) the upstream.
    elif (not view.forward or key in cfg.known or key in cfg.domains
            or key.endswith(cfg.domain_suffixes)):
        rcode = RCODE.NXDOMAIN
    else:
        return None
    h = req.header
    h.qr, h.aa, h.tc, h.z, h.ad = 1, 1, 0, 0, 0  # AD: we vouch for no DNSSEC
    h.ra = 1 if view.forward else 0
    h.rcode = rcode
    req.rr, req.auth, req.ar = rrs, [], _edns(req)
    return req


def pack(reply: DNSRecord, limit: int) -> bytes:
    """Pack a reply, or only its header and question (TC set) if over `limit` bytes."""
    out = reply.pack()
    if len(out) <= limit:
        return out
    t = DNSRecord(DNSHeader(id=reply.header.id, bitmap=reply.header.bitmap),
                  questions=reply.questions[:1], ar=[rr for rr in reply.ar if rr.rtype == QTYPE.OPT])
    t.header.tc = 1  # the client retries over TCP
    return t.pack()


def _packable(req: DNSRecord) -> bool:
    """dnslib parses names it refuses to pack (> 253 bytes, labels > 63): catch them here."""
    for rr in (*req.questions, *req.rr, *req.auth, *req.ar):
        label = rr.qname.label if hasattr(rr, "qname") else rr.rname.label
        if sum(len(x) + 1 for x in label) > 254 or any(len(x) > 63 for x in label):
            return False
    return True


def respond(cfg: Config, view: View | None, data: bytes, udp: bool = True, cache: dict | None = None):
    """Handle one query packet from an asker with `view` (None: one the config
    does not know, e.g. just removed: REFUSED).

    Returns (reply_bytes, None), or (None, request) when the request must be
    forwarded upstream, or (None, None) when the packet is to be dropped.

    `cache` (a dict the caller empties on every reload) maps (view, query
    minus its 2-byte ID) to the packed reply minus its ID: a repeated query
    costs a dict lookup instead of a dnslib parse + build (~65 us). Every byte
    sent is still built by dnslib; only the ID is spliced in. Askers on the
    same networks share one view, so they share their cached answers too.
    """
    if cache is not None:
        key = (view.key if view is not None else None, bytes(data[2:]))
        hit = cache.get(key)
        if hit is not None:
            return data[:2] + hit, None
    try:
        req = DNSRecord.parse(data)
    # Not just DNSError: a chain of compression pointers gives RecursionError.
    except Exception:
        return formerr(data), None
    h = req.header
    if h.qr:
        return None, None
    if not _packable(req):
        return formerr(data), None
    limit = udp_limit(req) if udp else 65535
    if h.opcode != OPCODE.QUERY:
        return pack(error(req, RCODE.REFUSED), limit), None
    if len(req.questions) != 1:
        return pack(error(req, RCODE.FORMERR), limit), None
    if view is None:
        return pack(error(req, RCODE.REFUSED), limit), None
    reply = answer(cfg, view, req)
    if reply is None:
        return None, req
    out = pack(reply, limit)
    if cache is not None:
        if len(cache) >= CACHE_SIZE:  # random names cannot grow it without bound
            cache.clear()
        cache[key] = bytes(out[2:])
    return out, None
