"""What a topology file describes, after validation (plain data, no I/O)."""

from dataclasses import dataclass, field


@dataclass
class Network:
    name: str
    driver: str = "bridge"
    subnet: str | None = None  # IPv4; None: the engine picks a free one (unless the network is IPv6-only)
    gateway: str | None = None  # None: the subnet's first address
    mtu: int | None = None
    bridge: str | None = None  # None: nsbr-NAME
    internal: bool = False
    masquerade: bool = True
    subnet6: str | None = None  # IPv6; given alone (no IPv4 subnet): an IPv6-only network
    gateway6: str | None = None
    ipv6: bool = False  # an IPv6 subnet even if none is given (the engine picks one)
    direct_routing: bool = False  # peers routing the subnet via the host reach unpublished ports too
    options: dict = field(default_factory=dict)  # the driver's, parsed ({"encrypted": True})

    def versions(self) -> set[int]:
        """The families the network carries, as the engine decides them: the given
        subnets' (IPv4 alone when none is given), and IPv6 with `ipv6`."""
        out = {v for v, s in ((4, self.subnet), (6, self.subnet6)) if s} or {4}
        return out | ({6} if self.ipv6 else set())


@dataclass
class Attachment:
    network: str
    ip: str | None = None  # IPv4; None: the lowest free address at `up`
    ifname: str | None = None  # always set after validation (eth0, eth1, ... unless given)
    ip6: str | None = None  # IPv6, likewise


@dataclass
class Route:
    dest: str  # normalised CIDR, "0.0.0.0/0" (or "::/0", via an IPv6 gateway) for default
    via: str


@dataclass
class Sandbox:
    name: str
    attachments: list[Attachment] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)
    publish: list[str] = field(default_factory=list)
    command: "Command | None" = None
    hostname: str | None = None  # None: the sandbox's name


@dataclass
class Command:
    """A process `up` keeps running in its sandbox (and `down` stops)."""

    argv: list[str]
    env: list[str] = field(default_factory=list)  # "K=V"
    workdir: str | None = None
    isolate_pid: bool = False  # a PID namespace of its own, the command as pid 1
    init: bool = False  # with isolate_pid: a reaper is pid 1, the command pid 2


@dataclass
class Link:
    a: str
    b: str
    ip_a: str | None = None  # CIDR
    ip_b: str | None = None
    ifname_a: str = ""
    ifname_b: str = ""
    ip6_a: str | None = None  # IPv6 CIDR
    ip6_b: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return tuple(sorted((self.a, self.b)))


@dataclass
class Expectation:
    text: str  # as written, for messages
    src: str  # a sandbox or "outside"
    dst: str  # a sandbox, "outside" or "host"
    port: int | None = None
    proto: str = "icmp"  # icmp | tcp
    reach: bool = True  # False: must be isolated
    path: str = ""  # where in the file, for messages


@dataclass
class Outside:
    netns: str
    ip: str | None = None  # None: found in the namespace
    host_ip: str | None = None  # the host's address facing it; None: found


@dataclass
class Topology:
    name: str
    networks: dict[str, Network] = field(default_factory=dict)
    sandboxes: dict[str, Sandbox] = field(default_factory=dict)
    links: list[Link] = field(default_factory=list)
    expect: list[Expectation] = field(default_factory=list)
    outside: Outside | None = None
    description: str = ""
