"""A fake kernel for unit tests: records every verb, keeps a tiny model of
namespaces and links, and can be told to fail."""


class FakeKernel:
    def __init__(self, fail_on: str | None = None):
        self.calls: list[tuple] = []
        self.namespaces: set[str] = set()
        self.host_links: set[str] = {"lo"}
        self.fail_on = fail_on
        self.sysctls: dict[str, str] = {}
        self.busy_ports: set[tuple[str, int]] = set()
        self.files: dict = {}

    def privileged(self):
        return True

    def _call(self, verb, *args):
        if verb == self.fail_on:
            from nsnet.errors import KernelError

            raise KernelError(f"fake failure in {verb}", 1)
        self.calls.append((verb, *args))

    def netns_create(self, name):
        self._call("netns_create", name)
        self.namespaces.add(name)

    def netns_delete(self, name):
        self._call("netns_delete", name)
        self.namespaces.discard(name)
        return True

    def netns_in_use(self, name):
        return False

    def netns_exists(self, name):
        return name in self.namespaces

    def bridge_add(self, ifname, mtu=None, mac=None):
        self._call("bridge_add", ifname, mtu)
        self.host_links.add(ifname)

    def veth_add(self, ns, ifname, peer_ns, peer_ifname, master=None, mtu=None):
        self._call("veth_add", ns, ifname, peer_ns, peer_ifname, master, mtu)
        if ns is None:
            self.host_links.add(ifname)

    def link_set(self, ns, ifname, up=None, master=None, mtu=None, mac=None):
        self._call("link_set", ns, ifname, up, master, mtu, mac)

    def link_del(self, ns, ifname):
        self._call("link_del", ns, ifname)
        self.host_links.discard(ifname)
        return True

    def link_exists(self, ns, ifname):
        return ns is None and ifname in self.host_links

    def addr_add(self, ns, ifname, cidr):
        self._call("addr_add", ns, ifname, cidr)

    def addr_del(self, ns, ifname, cidr):
        self._call("addr_del", ns, ifname, cidr)
        return True

    def route_add(self, ns, dest, via=None, dev=None):
        self._call("route_add", ns, dest, via, dev)

    def route_del(self, ns, dest, via=None, dev=None):
        self._call("route_del", ns, dest, via, dev)
        return True

    def routes(self, ns):
        return [{"dest": "10.0.2.0/24", "via": None, "dev": "eth0", "proto": 2}] if ns is None else []

    def sysctl_get(self, ns, key):
        return self.sysctls.get(key, "0")

    def sysctl_set(self, ns, key, value):
        self._call("sysctl_set", key, value)
        self.sysctls[key] = value

    def nft(self, batch):
        self._call("nft", batch)

    def port_in_use(self, host_ip, proto, port):
        return (proto, port) in self.busy_ports

    def addrs(self, ns):
        return [{"ifname": "eth0", "cidr": "10.0.2.15/24", "family": 2}]

    def spawn_in_host(self, argv, log_path):
        self._call("spawn_in_host", argv[2])
        return None  # no process: the engine treats the DNS server as not started

    def netns_file(self, netns, name, content, owner_mark):
        self._call("netns_file", netns, name, content)
        self.files[(netns, name)] = content

    def close(self):
        pass

    def verbs(self):
        return [c[0] for c in self.calls]
