"""rtnetlink numbers from the kernel's uapi headers (linux/netlink.h,
linux/rtnetlink.h). pyroute2 has them too, but importing its netlink package
costs ~20 ms: a CLI call whose requests all come from saved templates
(template.py) sends them without ever importing pyroute2. A unit test checks
each value against pyroute2's."""

NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_ACK = 0x1, 0x4
NLM_F_REPLACE, NLM_F_EXCL, NLM_F_CREATE = 0x100, 0x200, 0x400
NLM_F_DUMP = 0x300

RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK = 16, 17, 18
RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR = 20, 21, 22
RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE = 24, 25, 26
RTM_NEWNEIGH, RTM_DELNEIGH, RTM_GETNEIGH = 28, 29, 30
