"""nsnet's DNS server: names of sandboxes, answered per network (like aardvark-dns).

Run it with ``python -m nsnet.dns --config PATH [--pidfile PATH]``.
"""
