"""nsnet's traffic-control encoders (kernel/netlink/tc.py) against pyroute2,
the oracle, byte for byte: the htb root, its class, netem, deletes, dumps."""

import pytest
from pyroute2.netlink.rtnl.tcmsg import tcmsg

from nsnet.kernel.netlink import consts, tc

from .test_netlink import ours, pyroute2

CREATE = consts.NLM_F_CREATE | consts.NLM_F_EXCL


def tc_msg(ifindex, handle, parent, kind=None, options=None):
    msg = tcmsg()
    msg["index"], msg["handle"], msg["parent"] = ifindex, handle, parent
    msg["attrs"] = []
    if kind:
        msg["attrs"].append(("TCA_KIND", kind))
    if options is not None:
        msg["attrs"].append(("TCA_OPTIONS", options))
    return msg


@pytest.mark.parametrize("ifindex,default", [(2, 1), (7, 0), (1234, 0x10)])
def test_htb_root(ifindex, default):
    glob = {"version": 3, "rate2quantum": 10, "defcls": default, "debug": 0, "direct_pkts": 0}
    msg = tc_msg(ifindex, 0x10000, consts.TC_H_ROOT, "htb", {"attrs": [("TCA_HTB_INIT", glob)]})
    assert ours(tc.htb_qdisc(ifindex, default)) == pyroute2(msg, consts.RTM_NEWQDISC, CREATE)


@pytest.mark.parametrize("rate", [1250, 1_250_000, 125_000_000, 2**32 - 1, 2**32, 12_500_000_000])
def test_htb_class(rate):
    burst = tc.htb_burst(rate)
    buffer = tc.ticks(burst / rate)
    parms = {"rate_cell_log": 0, "rate___reserved": consts.TC_LINKLAYER_ETHERNET, "rate_overhead": 0,
             "rate_mpu": 0, "rate": min(rate, 2**32 - 1),
             "ceil_cell_log": 0, "ceil___reserved": consts.TC_LINKLAYER_ETHERNET, "ceil_overhead": 0,
             "ceil_mpu": 0, "ceil": min(rate, 2**32 - 1),
             "buffer": buffer, "cbuffer": buffer, "quantum": 3000, "level": 0, "prio": 0}
    attrs = [("TCA_HTB_PARMS", parms)]
    if rate >= 2**32:
        attrs += [("TCA_HTB_RATE64", rate), ("TCA_HTB_CEIL64", rate)]
    msg = tc_msg(4, 0x10001, 0x10000, "htb", {"attrs": attrs})
    assert ours(tc.htb_class(4, 1, rate, burst, 3000)) == pyroute2(msg, consts.RTM_NEWTCLASS, CREATE)


@pytest.mark.parametrize("delay,jitter", [(0.1, 0.0), (0.0005, 0.0002), (2.5, 1.0)])
def test_netem(delay, jitter):
    options = {"delay": tc.ticks(delay), "limit": 1000, "loss": 0, "gap": 0, "duplicate": 0,
               "jitter": tc.ticks(jitter), "attrs": []}
    msg = tc_msg(3, 0x100000, 0x10001, "netem", options)
    assert ours(tc.netem_qdisc(3, 0x10001, 0x100000, delay, jitter)) == pyroute2(msg, consts.RTM_NEWQDISC, CREATE)


def test_ticks_are_what_tc_computes():
    """tc: 100 ms is 1,562,500 ticks of 64 ns (/proc/net/psched here: 1000 64 ...)."""
    assert tc.ticks(0.1) == 1_562_500


def test_netem_probe_has_no_options():
    msg = tc_msg(1, 0, consts.TC_H_ROOT, "netem")
    assert ours(tc.netem_probe(1)) == pyroute2(msg, consts.RTM_NEWQDISC, CREATE)


def test_qdisc_del_and_dumps():
    assert ours(tc.qdisc_del(9)) == pyroute2(tc_msg(9, 0, consts.TC_H_ROOT), consts.RTM_DELQDISC, 0)
    assert ours(tc.qdisc_dump()) == pyroute2(tc_msg(0, 0, 0), consts.RTM_GETQDISC, consts.NLM_F_DUMP)
    assert ours(tc.class_dump(5)) == pyroute2(tc_msg(5, 0, 0), consts.RTM_GETTCLASS, consts.NLM_F_DUMP)


def test_burst_is_ten_milliseconds_but_at_least_an_mtu():
    assert tc.htb_burst(1_250_000) == 12_500
    assert tc.htb_burst(1250) == 1600
