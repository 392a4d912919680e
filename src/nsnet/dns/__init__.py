"""nsnet's DNS server: names of sandboxes, answered to each sandbox by its own networks.

Run it with ``python -m nsnet.dns --config PATH [--pidfile PATH]``.
"""
