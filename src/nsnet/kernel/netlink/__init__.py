"""nsnet's netlink layer, shared by rtnetlink and nfnetlink:

    consts.py     every number, from the kernel's uapi headers
    attrs.py      attributes: encoding and reading
    nlsocket.py   NetlinkSocket: request/ack (extended-ack text), get, dump, batch
    messages.py   the rtnetlink requests nsnet sends, one encoder per shape
    dumps.py      one decoder per rtnetlink dump (links, addresses, routes, neighbours)
    nftables.py   nf_tables element batches and set types
"""
