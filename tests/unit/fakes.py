"""A fake kernel for unit tests: records every verb, keeps a tiny model of
namespaces and links, and can be told to fail. It has every verb of
nsnet.kernel.rtnl.Kernel with the same signature (test_fake_kernel.py)."""

import socket

from nsnet.errors import KernelError


class FakeKernel:
    def __init__(self, fail_on: str | None = None):
        self.calls: list[tuple] = []
        self.namespaces: set[str] = set()
        self.shared: set[str] = set()  # namespaces that are the host's
        self.host_links: set[str] = {"lo"}
        self.fail_on = fail_on
        self.sysctls: dict[str, str] = {}
        self.busy_ports: set[tuple[str, int]] = set()
        self.files: dict = {}
        self.helper_up = True
        self.netem = False  # does the fake kernel have netem?
        self.tc: dict = {}  # (ns, ifname) -> [qdiscs and classes]
        self.owner = "nsnet:fake"
        self.owners: dict[str, str] = {}  # namespace -> the mark it was made with
        self.wg_devices: dict[str, dict] = {}  # ifname -> {public key: {endpoint, allowed_ips}}

    @staticmethod
    def privileged():
        return True

    def _call(self, verb, *args):
        if verb == self.fail_on:
            raise KernelError(f"fake failure in {verb}", 1)
        self.calls.append((verb, *args))

    def socket_in(self, ns, family, kind, proto=0):
        raise KernelError("the fake kernel makes no sockets", 1)

    def new_epoch(self):
        pass

    def netns_create(self, name):
        self._call("netns_create", name)
        self.namespaces.add(name)
        self.owners[name] = self.owner

    def netns_delete(self, name):
        self._call("netns_delete", name)
        self.namespaces.discard(name)
        self.shared.discard(name)
        return True

    def netns_share_host(self, name):
        self._call("netns_share_host", name)
        self.namespaces.add(name)
        self.shared.add(name)

    def netns_is_host(self, name):
        return name in self.shared

    def netns_in_use(self, name):
        return False

    def netns_owner(self, name):
        return self.owners.get(name)

    def netns_names(self):
        return sorted(self.namespaces)

    def netns_exists(self, name):
        return name in self.namespaces

    def bridge_add(self, ifname, mtu=None, mac=None):
        self._call("bridge_add", ifname, mtu)
        self.host_links.add(ifname)

    def veth_add(self, ns, ifname, peer_ns, peer_ifname, master=None, mtu=None, peer_mac=None):
        self._call("veth_add", ns, ifname, peer_ns, peer_ifname, master, mtu, peer_mac)
        if ns is None:
            self.host_links.add(ifname)

    def link_set(self, ns, ifname, up=None, master=None, mtu=None, mac=None, alias=None):
        self._call("link_set", ns, ifname, up, master, mtu, mac)

    def bridge_port_set(self, ns, ifname, hairpin):
        self._call("bridge_port_set", ns, ifname, hairpin)

    def link_del(self, ns, ifname):
        self._call("link_del", ns, ifname)
        self.host_links.discard(ifname)
        return True

    def link_exists(self, ns, ifname):
        return ns is None and ifname in self.host_links

    def link_index(self, ns, ifname):
        return sorted(self.host_links).index(ifname) + 1 if self.link_exists(ns, ifname) else None

    def links(self, ns):
        names = sorted(self.host_links) if ns is None else []
        return [{"index": i, "ifname": name, "kind": None, "master": None, "up": True, "mtu": 1500, "mac": None,
                 "peer_index": None, "peer_ns_gone": False, "hairpin": None} for i, name in enumerate(names, 1)]

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

    def routes(self, ns, family=socket.AF_INET):
        if ns is not None:
            return []
        if family == socket.AF_INET6:
            return [{"dest": "fd99::/64", "via": None, "dev": "eth0", "proto": 2},
                    {"dest": "fe80::/64", "via": None, "dev": "eth0", "proto": 2}]
        return [{"dest": "10.0.2.0/24", "via": None, "dev": "eth0", "proto": 2}]

    def snapshot(self, ns):
        return {"links": self.links(ns), "addrs": self.addrs(ns),
                "routes": self.routes(ns) + self.routes(ns, socket.AF_INET6)}

    def sysctl_get(self, ns, key):
        return self.sysctls.get(key, "0")

    def sysctl_set(self, ns, key, value):
        self._call("sysctl_set", key, value)
        self.sysctls[key] = value

    def nft(self, batch):
        if isinstance(batch, str) and batch.startswith("list "):  # a read: the fake keeps no table
            raise KernelError("nftables: Error: No such file or directory", 2)
        self._call("nft", batch)

    def port_in_use(self, host_ip, proto, port, version=4):
        return (proto, port) in self.busy_ports

    def addrs(self, ns, family=socket.AF_UNSPEC):
        return [{"ifname": "eth0", "cidr": "10.0.2.15/24", "family": 2}] if family != socket.AF_INET6 else []

    @staticmethod
    def fork_helper(args, log_path, fds):
        return None  # no forker: spawn_helper is asked next

    @staticmethod
    def spawn_helper(argv, log_path, fds=()):
        return None  # no process: the engine treats the DNS server as not started

    def helper_running(self, lock_path):
        return self.helper_up  # as if a server held its lock (none is ever started)

    def resolver_sockets(self, netns, ip, port):
        self._call("resolver_sockets", netns, ip, port)
        return None  # as if the server held them already

    def netns_etc(self, netns, shared, files, owner_mark, present=True):
        self._call("netns_etc", netns, present)
        self.files[netns] = shared if present else None

    def netns_etc_present(self, netns, shared, files, owner_mark):
        return self.files.get(netns) == shared

    def netns_etc_names(self):
        return sorted(netns for netns, shared in self.files.items() if isinstance(netns, str) and shared)

    def netns_file(self, netns, name, content, owner_mark):
        self._call("netns_file", netns, name, content)
        self.files[(netns, name)] = content

    # -- layer 2 (overlays, the checker's neighbour entries) -----------------------
    def vxlan_add(self, ns, ifname, vni, local, port=4789, mtu=None, master=None):
        self._call("vxlan_add", ns, ifname, vni, local, port, mtu, master)
        if ns is None:
            self.host_links.add(ifname)

    def fdb_replace(self, ns, ifname, mac, dst):
        self._call("fdb_replace", ns, ifname, mac, dst)

    def fdb_del(self, ns, ifname, mac, dst=None, master=False):
        self._call("fdb_del", ns, ifname, mac, dst, master)
        return True

    def fdb_entries(self, ns, ifname):
        return {}

    def neigh_replace(self, ns, ifname, ip, mac):
        self._call("neigh_replace", ns, ifname, ip, mac)

    def neigh_remove(self, ns, ifname, ip):
        self._call("neigh_remove", ns, ifname, ip)
        return True

    def neigh_entries(self, ns, ifname):
        return {}

    def neighbours(self, ns, family=socket.AF_INET):
        return []

    def neigh_del(self, ns, ifindex, ip):
        self._call("neigh_del", ns, ifindex, ip)
        return True

    @staticmethod
    def neigh_table_room():
        return 1024

    def neigh_announce(self, ns, ifname, entries):
        self._call("neigh_announce", ns, ifname, list(entries))

    # -- inside sandbox namespaces (faults) ------------------------------------------
    def nft_in(self, ns, batch):
        self._call("nft_in", ns, batch)

    def qdisc_htb(self, ns, ifname, default_class):
        self._call("qdisc_htb", ns, ifname, default_class)
        self.tc[(ns, ifname)] = [{"ifname": ifname, "kind": "htb", "handle": 0x10000, "is_class": False,
                                  "default": default_class}]

    def tclass_htb(self, ns, ifname, minor, rate):
        self._call("tclass_htb", ns, ifname, minor, rate)
        self.tc[(ns, ifname)].append({"ifname": ifname, "kind": "htb", "handle": 0x10000 | minor, "is_class": True,
                                      "rate": rate})

    def qdisc_netem(self, ns, ifname, parent, handle, delay, jitter=0.0):
        self._call("qdisc_netem", ns, ifname, parent, handle, delay, jitter)
        self.tc[(ns, ifname)].append({"ifname": ifname, "kind": "netem", "handle": handle, "is_class": False})

    def qdisc_clear(self, ns, ifname):
        self._call("qdisc_clear", ns, ifname)
        return self.tc.pop((ns, ifname), None) is not None

    def netem_available(self, ns):
        return self.netem

    def qdiscs(self, ns):
        return [q for (n, _), entries in self.tc.items() if n == ns for q in entries]

    # -- WireGuard (encrypted overlays): a device, its peers, a key pair ------------------
    def wg_keypair(self, key_path):
        self._call("wg_keypair", key_path)
        return "PUBLIC-" + key_path

    def wg_up(self, dev):
        self._call("wg_up", dev["ifname"])
        started = dev["ifname"] not in self.host_links
        self.host_links.add(dev["ifname"])
        self.wg_devices.setdefault(dev["ifname"], {})
        return started

    def wg_down(self, dev):
        self._call("wg_down", dev["ifname"])
        self.host_links.discard(dev["ifname"])
        return self.wg_devices.pop(dev["ifname"], None) is not None

    def wg_state(self, dev):
        up = dev["ifname"] in self.wg_devices
        return {"ifname": dev["ifname"], "backend": "wireguard-go" if up else None, "pid": 4242 if up else None,
                "process": up if up else None, "link": up, "running": up}

    def wg_peers(self, dev):
        return {key: dict(peer, handshake=0, rx=0, tx=0) for key, peer in self.wg_devices[dev["ifname"]].items()}

    def wg_set_peers(self, dev, peers, remove=()):
        self._call("wg_set_peers", dev["ifname"], dict(peers), list(remove))
        table = self.wg_devices[dev["ifname"]]
        for key in remove:
            table.pop(key, None)
        table.update(peers)

    def close(self, exiting=False):
        pass

    def verbs(self):
        return [c[0] for c in self.calls]
