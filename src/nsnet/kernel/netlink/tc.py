"""The traffic-control requests nsnet sends (impairments: `nsnet impair`), one
encoder per shape, checked byte for byte against pyroute2 like messages.py:

    tc qdisc add dev IF root handle 1: htb default N
    tc class add dev IF parent 1: classid 1:1 htb rate R ceil R burst B quantum Q
    tc qdisc add dev IF parent 1:1 handle 10: netem delay D [jitter J]
    tc qdisc del dev IF root

Rates are bytes per second (the kernel's unit); times go as the packet
scheduler's ticks of 64 ns (/proc/net/psched), as tc computes them."""

import struct

from .attrs import asciiz, attr
from .consts import (
    NLM_F_CREATE,
    NLM_F_DUMP,
    NLM_F_EXCL,
    RTM_DELQDISC,
    RTM_GETQDISC,
    RTM_GETTCLASS,
    RTM_NEWQDISC,
    RTM_NEWTCLASS,
    TC_H_ROOT,
    TC_LINKLAYER_ETHERNET,
    TCA_HTB_CEIL64,
    TCA_HTB_INIT,
    TCA_HTB_PARMS,
    TCA_HTB_RATE64,
    TCA_KIND,
    TCA_OPTIONS,
)

TCMSG = struct.Struct("=BxxxiIII")  # family, ifindex, handle, parent, info
HTB_GLOB = struct.Struct("=IIIII")  # version, rate2quantum, defcls, debug, direct_pkts
RATESPEC = struct.Struct("=BBHhHI")  # cell_log, linklayer, overhead, cell_align, mpu, rate
HTB_OPT = struct.Struct("=12s12sIIIII")  # rate, ceil, buffer, cbuffer, quantum, level, prio
NETEM_QOPT = struct.Struct("=IIIIII")  # latency, limit, loss, gap, duplicate, jitter
_U64 = struct.Struct("=Q")
CREATE = NLM_F_CREATE | NLM_F_EXCL

HTB_VERSION, HTB_R2Q = 3, 10
TICKS_PER_US = 15.625  # /proc/net/psched: 1000 ns per 64 ticks of the kernel's clock
NETEM_LIMIT = 1000  # packets (tc's default)
U32_MAX = (1 << 32) - 1
CELL_LOG = 3  # tc's for an MTU of 1600: (1600 >> 3) <= 255


def handle(major: int, minor: int = 0) -> int:
    """tc's 'MAJOR:MINOR' (hex digits) as the kernel's 32-bit handle."""
    return (major << 16) | minor


def ticks(seconds: float) -> int:
    return int(seconds * 1e6 * TICKS_PER_US)


def _tcmsg(ifindex: int, handle_: int, parent: int) -> bytes:
    return TCMSG.pack(0, ifindex, handle_, parent, 0)


def htb_qdisc(ifindex: int, default_class: int):
    """Root htb (handle 1:): unclassified packets go to class 1:`default_class`,
    or, with 0, straight out unshaped (htb's direct queue)."""
    options = attr(TCA_HTB_INIT, HTB_GLOB.pack(HTB_VERSION, HTB_R2Q, default_class, 0, 0))
    return RTM_NEWQDISC, CREATE, (_tcmsg(ifindex, handle(1), TC_H_ROOT) + asciiz(TCA_KIND, "htb")
                                  + attr(TCA_OPTIONS, options))


def htb_burst(rate: int, mtu: int = 1600) -> int:
    """Bytes a class may send at once: tc's default (a tick's worth plus an
    MTU) is too small for the 64 KiB segments of a veth with offloads; 10 ms of
    traffic keeps TCP's throughput at the rate without making it bursty."""
    return max(mtu, rate // 100)


def htb_class(ifindex: int, minor: int, rate: int, burst: int, quantum: int):
    """Class 1:`minor` of the root htb: `rate` bytes/s, ceiling the same."""
    buffer = ticks(burst / rate)
    # cell_log and cell_align as tc sets them for its rate table (which the
    # kernel does not need when the link layer is given, and is not sent)
    spec = RATESPEC.pack(CELL_LOG, TC_LINKLAYER_ETHERNET, 0, -1, 0, min(rate, U32_MAX))
    parms = attr(TCA_HTB_PARMS, HTB_OPT.pack(spec, spec, buffer, buffer, quantum, 0, 0))
    if rate > U32_MAX:
        parms += attr(TCA_HTB_RATE64, _U64.pack(rate)) + attr(TCA_HTB_CEIL64, _U64.pack(rate))
    return RTM_NEWTCLASS, CREATE, (_tcmsg(ifindex, handle(1, minor), handle(1)) + asciiz(TCA_KIND, "htb")
                                   + attr(TCA_OPTIONS, parms))


def netem_qdisc(ifindex: int, parent: int, handle_: int, delay: float, jitter: float = 0.0):
    """A netem qdisc delaying packets by `delay` seconds (+- `jitter`). Its
    options are a struct, not a nest (netem's own format)."""
    options = NETEM_QOPT.pack(ticks(delay), NETEM_LIMIT, 0, 0, 0, ticks(jitter))
    return RTM_NEWQDISC, CREATE, (_tcmsg(ifindex, handle_, parent) + asciiz(TCA_KIND, "netem")
                                  + attr(TCA_OPTIONS, options))


def netem_probe(ifindex: int):
    """A netem qdisc without options, which the kernel never makes: EINVAL if
    it knows netem (the options are missing), ENOENT if it does not."""
    return RTM_NEWQDISC, CREATE, _tcmsg(ifindex, 0, TC_H_ROOT) + asciiz(TCA_KIND, "netem")


def qdisc_del(ifindex: int, parent: int = TC_H_ROOT):
    """`tc qdisc del dev IF root`: the interface falls back to its default."""
    return RTM_DELQDISC, 0, _tcmsg(ifindex, 0, parent)


def qdisc_dump():
    return RTM_GETQDISC, NLM_F_DUMP, _tcmsg(0, 0, 0)


def class_dump(ifindex: int):
    return RTM_GETTCLASS, NLM_F_DUMP, _tcmsg(ifindex, 0, 0)
