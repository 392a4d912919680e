"""Every command and option of `nsnet`, in one table. It drives parsing
(parse.py), --help (helptext.py), usage errors and shell completion
(complete.py); handlers are named here and imported only when they run."""

from .spec import Arg, Command, Group, Option, integer, number

GLOBAL = (
    Option("--host-netns", metavar="NAME", complete="netns",
           help="Namespace that plays the host (default: the root namespace). Env: NSNET_HOST_NETNS."),
    Option("--state-dir", metavar="DIR", complete="dir",
           help="Where state lives (default /var/lib/nsnet). Env: NSNET_STATE_DIR."),
    Option("--store", metavar="URL",
           help="Cluster store for overlay networks: etcd://HOST:PORT (default: SQLite in the state dir). "
                "Env: NSNET_STORE."),
    Option("--json", dest="as_json", flag=True, help="Machine-readable output."),
)
ENV = {"host_netns": "NSNET_HOST_NETNS", "state_dir": "NSNET_STATE_DIR", "store": "NSNET_STORE"}

DRY_RUN = Option("--dry-run", flag=True, help="Print the plan as ip commands; change nothing.")
PUBLISH = Option("-p", "--publish", multiple=True, metavar="[HOST_IP:]HOST_PORT:PORT[/tcp|udp]",
                 help="Publish a port (repeatable; ranges like 8000-8010:8000-8010).")
QUIET = Option("-q", "--quiet", flag=True, help="Names only, one per line.")
SPECS = Arg("specs", "[HOST_IP:]HOST_PORT:PORT[/PROTO]", many=True)

# `nsnet run`: options end at the command's first word (or `--`); an unknown
# option before it is a usage error, never the command's name.
RUN_OPTIONS = (
    Option("--name", metavar="NAME", help="Name of the process (and of the sandbox run creates). Default: run-XXXXXX."),
    Option("--sandbox", metavar="NAME", complete="sandbox",
           help="Run in this existing sandbox instead of creating one."),
    Option("--hostname", metavar="NAME", help="Hostname of the new sandbox (default: its name)."),
    Option("--network", dest="networks", multiple=True, metavar="NET[:IP[,IP]]", complete="network",
           help="Attach the new sandbox to this network (repeatable), optionally with static IPs (one per family). "
                "Default: the network 'default' (made on first use); 'none': loopback only."),
    PUBLISH,
    Option("-e", "--env", multiple=True, metavar="K=V", help="Set an environment variable (repeatable)."),
    Option("-w", "--workdir", metavar="DIR", complete="dir", help="Working directory of the command (absolute)."),
    Option("-d", "--detach", flag=True, help="Start in the background and return at once."),
    Option("-i", "--interactive", flag=True,
           help="Keep stdin attached (a foreground command has it anyway; with -t, it feeds the terminal)."),
    Option("-t", "--tty", flag=True, help="Give the command a terminal of its own (a pseudo-terminal), as docker -t."),
    Option("--rm", flag=True, help="Remove the sandbox (and this record) when the command exits."),
    Option("--isolate-pid", flag=True,
           help="New PID namespace with its own /proc, the command as pid 1 (as docker run); "
                "`nsnet exec` into the sandbox joins it."),
    Option("--init", flag=True,
           help="With --isolate-pid: a reaper is pid 1 and the command pid 2 (as docker run --init)."),
    Option("--log-max-size", metavar="SIZE", default="10M", help="Rotate a detached process's log file at this size."),
    Option("--log-max-files", metavar="N", default=3, convert=integer(),
           help="Log files kept per stream, the current one included."),
)

SANDBOX = Group("sandbox", "Sandboxes: named network namespaces.", (
    Command("create", "sandbox:create", "Create sandbox NAME (a network namespace with lo up).",
            (Arg("name"),),
            (Option("--network", dest="networks", multiple=True, metavar="NET[:IP[,IP]]", complete="network",
                    help="Attach to this network (repeatable); optionally with static IPs (one per family). "
                         "'default': the default network (made on first use)."),
             PUBLISH,
             Option("--hostname", metavar="NAME", help="Its hostname (a UTS namespace of its own; default: NAME)."),
             DRY_RUN)),
    Command("ls", "sandbox:ls", "List sandboxes.", options=(QUIET,)),
    Command("inspect", "sandbox:inspect", "Show a sandbox: endpoints, links, routes, and what the kernel has.",
            (Arg("name", complete="sandbox"),)),
    Command("rm", "sandbox:rm", "Remove sandboxes (detaching them and freeing their addresses first).",
            (Arg("names", "NAME", many=True, complete="sandbox"),), (DRY_RUN,)),
))

NETWORK = Group("network", "Networks: bridge (default), host, none, overlay.", (
    Command("create", "network:create", "Create network NAME.", (Arg("name"),), (
        Option("-d", "--driver", metavar="DRIVER", default="bridge", complete="bridge|host|none|overlay",
               help="bridge | host | none | overlay."),
        Option("--subnet", multiple=True, metavar="CIDR",
               help="One per family (repeat for dual-stack; an IPv6 one alone: IPv6-only). Default: a free /16 "
                    "from 172.17-31.0.0 or a /20 of 192.168.0.0/16."),
        Option("--ipv6", flag=True, help="An IPv6 subnet too: a free unique local /64 unless --subnet gives one."),
        Option("--gateway", multiple=True, metavar="IP",
               help="The host's address on the bridge, per family (default: each subnet's first address)."),
        Option("--mtu", metavar="BYTES", convert=integer(), help="MTU of the bridge and its veths."),
        Option("--bridge", metavar="IFNAME", help="Bridge interface name (default: nsbr-NAME)."),
        Option("--internal", flag=True,
               help="No traffic beyond the network (not the host, other networks, published ports, the outside)."),
        Option("--no-masquerade", flag=True, help="Do not NAT outbound traffic."),
        Option("--no-dns", flag=True, help="No name resolution for this network's sandboxes."),
        Option("--allow-direct-routing", flag=True,
               help="Peers that route the subnet via this host reach every port of its sandboxes "
                    "(default: only published ports)."),
        Option("--vni", metavar="ID", convert=integer(),
               help="Overlay only: the VXLAN id (1..16777215; default: lowest free from 4096)."),
        Option("-o", "--opt", dest="opts", multiple=True, metavar="KEY[=VALUE]",
               help="A driver option (repeatable). Overlay: encrypted (traffic between hosts through WireGuard)."),
        DRY_RUN)),
    Command("ls", "network:ls", "List networks.", options=(QUIET,)),
    Command("inspect", "network:inspect", "Show a network and its endpoints.", (Arg("name", complete="network"),)),
    Command("rm", "network:rm", "Remove networks (refuses while sandboxes are attached, unless --force).",
            (Arg("names", "NAME", many=True, complete="network"),),
            (Option("-f", "--force", flag=True, help="Disconnect attached sandboxes first."), DRY_RUN)),
    Command("connect", "network:connect", "Attach SANDBOX to NETWORK through a veth pair.",
            (Arg("network_name", "NETWORK", complete="network"), Arg("sandbox", complete="sandbox")), (
                Option("--ip", multiple=True, metavar="IP",
                       help="Static address, one per family (repeatable; default: the next free ones)."),
                Option("--ifname", metavar="IFNAME",
                       help="Interface name inside the sandbox (default: eth0, eth1, ...)."),
                PUBLISH,
                Option("--alias", dest="aliases", multiple=True, metavar="NAME",
                       help="Another DNS name for the sandbox on this network."),
                DRY_RUN)),
    Command("disconnect", "network:disconnect", "Detach SANDBOX from NETWORK and free its address.",
            (Arg("network_name", "NETWORK", complete="network"), Arg("sandbox", complete="sandbox")), (
                Option("--ifname", metavar="IFNAME",
                       help="Which of the sandbox's interfaces on NETWORK (when it has more than one)."),
                DRY_RUN)),
))

LINK = Group("link", "Direct links: a veth pair between two sandboxes, no bridge.", (
    Command("add", "link:add", "Link sandboxes A and B with a veth pair.",
            (Arg("a", complete="sandbox"), Arg("b", complete="sandbox")), (
                Option("--subnet", multiple=True, metavar="CIDR",
                       help="Give A and B the first two addresses of this CIDR (one per family: repeatable)."),
                Option("--ip-a", multiple=True, metavar="CIDR",
                       help="A's address with prefix, e.g. 192.168.15.1/24 (one per family: repeatable)."),
                Option("--ip-b", multiple=True, metavar="CIDR", help="B's address with prefix."),
                Option("--ifname-a", metavar="IFNAME", help="Interface name in A (default: veth-B)."),
                Option("--ifname-b", metavar="IFNAME", help="Interface name in B (default: veth-A)."),
                DRY_RUN)),
    Command("ls", "link:ls", "List direct links."),
    Command("rm", "link:rm", "Remove the link between A and B.",
            (Arg("a", complete="sandbox"), Arg("b", complete="sandbox")), (DRY_RUN,)),
))

ROUTE = Group("route", "Static routes inside a sandbox.", (
    Command("add", "route:add", "Add a route: nsnet route add SANDBOX DEST via GATEWAY  (DEST: CIDR or 'default').",
            (Arg("sandbox", complete="sandbox"), Arg("dest"), Arg("via_word", "via", complete="via"),
             Arg("gateway")), (DRY_RUN,)),
    Command("rm", "route:rm", "Remove the route to DEST from SANDBOX.",
            (Arg("sandbox", complete="sandbox"), Arg("dest")), (DRY_RUN,)),
    Command("ls", "route:ls", "List routes nsnet added (all sandboxes, or one).",
            (Arg("sandbox", required=False, complete="sandbox"),)),
))

TOPOLOGY_FILE = Arg("file", complete="file")

FAULTS = (
    Command("partition", "faults:partition", "Cut traffic between groups of sandboxes: nsnet partition n1 n2,n3\n\n"
            "GROUP is a comma-separated list of sandboxes. Traffic between sandboxes of\n"
            "different groups is dropped (all protocols, established connections too);\n"
            "the sandboxes not named form one more group, so `nsnet partition n1` cuts n1\n"
            "off. A new partition replaces the one in force.",
            (Arg("groups", "GROUP", many=True, complete="sandbox"),),
            (Option("--one-way", flag=True, help="Drop only the traffic from the first group to the others."),
             DRY_RUN)),
    Command("heal", "faults:heal", "Remove the partition (impairments stay).", options=(DRY_RUN,)),
    Command("impair", "faults:impair", "Loss, a rate limit or delay on a sandbox's outgoing traffic.\n\n"
            "SANDBOX[:IFNAME]: all of the interfaces nsnet made in it, or one. A new\n"
            "impairment of the same target replaces the old one; an interface's own wins\n"
            "over its sandbox's. Delay and jitter need the kernel's netem.",
            (Arg("target", "SANDBOX[:IFNAME]", complete="sandbox"),), (
                Option("--loss", metavar="PCT", help="Drop this percentage of packets (0..100, e.g. 20 or 0.5)."),
                Option("--rate", metavar="RATE", help="Limit to this rate: 10mbit, 1gbit, 500kbit, 100kbps (bytes)."),
                Option("--delay", metavar="MS", help="Delay every packet (needs netem)."),
                Option("--jitter", metavar="MS", help="With --delay: vary it by up to this much (needs netem)."),
                Option("--to", multiple=True, metavar="SANDBOX", complete="sandbox",
                       help="Only the traffic to this sandbox (repeatable)."),
                Option("--clear", flag=True, help="Remove the target's impairments."),
                DRY_RUN)),
    Command("faults", "faults:show", "The partition and the impairments in force."),
)

COMMANDS = Group("nsnet", "nsnet: container networks from Linux primitives (no daemon, no images).", (
    SANDBOX,
    NETWORK,
    Command("exec", "sandbox:exec_", "Run CMD inside sandbox NAME:  nsnet exec NAME -- CMD [ARGS...]\n\n"
            "CMD takes nsnet's place: its stdin, output, terminal and exit code are yours. In a sandbox\n"
            "whose process has a PID namespace of its own (run --isolate-pid), CMD joins it, as docker exec.",
            (Arg("name", complete="sandbox"), Arg("argv", "CMD", rest=True)), (
                Option("-i", "--interactive", flag=True, help="Accepted for docker habits: stdin is CMD's anyway."),
                Option("-t", "--tty", flag=True, help="Accepted for docker habits: CMD keeps your terminal."))),
    Command("publish", "sandbox:publish", "Publish ports of an attached sandbox.",
            (Arg("name", complete="sandbox"), SPECS),
            (Option("--network", metavar="NET", complete="network",
                    help="Publish the sandbox's address on this network (default: its first)."), DRY_RUN)),
    Command("unpublish", "sandbox:unpublish", "Withdraw published ports (named as they were published).",
            (Arg("name", complete="sandbox"), SPECS), (DRY_RUN,)),
    Command("port", "sandbox:port", "List published ports (of one sandbox, or all).",
            (Arg("name", required=False, complete="sandbox"),)),
    LINK,
    ROUTE,
    Command("run", "run:run", "Run CMD in a sandbox.\n\n"
            "Creates the sandbox (named after the process) unless --sandbox is given.\n"
            "In the foreground the exit code passes through; --detach returns at once\n"
            "(see nsnet ps / logs / stop).", (Arg("argv", "CMD", rest=True),), RUN_OPTIONS),
    Command("ps", "ps:ps", "List the processes nsnet started that run (-a: the exited ones too).",
            options=(Option("-a", "--all", flag=True, help="Exited processes too."), QUIET)),
    Command("rm", "run:rm", "Remove exited processes: their records, logs and the sandbox run made for each.",
            (Arg("names", "NAME", many=True, complete="process"),),
            (Option("-f", "--force", flag=True, help="Stop (SIGKILL) a process that still runs first."),)),
    Command("prune", "run:prune", "Remove every exited process (as rm does) and every unused network.\n\n"
            "A network is unused with no sandbox attached; networks a topology file owns,\n"
            "overlay networks and the default network stay."),
    Command("logs", "run:logs", "Print a detached process's stdout and stderr (to stdout and stderr).",
            (Arg("name", complete="process"),),
            (Option("-f", "--follow", flag=True, help="Keep printing new output until the process exits."),)),
    Command("stop", "run:stop", "Stop processes: SIGTERM to the process group, SIGKILL after --timeout.",
            (Arg("names", "NAME", many=True, complete="process"),),
            (Option("-t", "--timeout", metavar="S", default=10.0, convert=number(),
                    help="Seconds between SIGTERM and SIGKILL."),)),
    Command("up", "topology:up", "Make the kernel match topology FILE.\n\n"
            "Creates what is missing, repairs what drifted, removes what the file no\n"
            "longer lists. Twice in a row: 0 changes.", (TOPOLOGY_FILE,), (DRY_RUN,)),
    Command("down", "topology:down", "Remove everything topology FILE owns. Twice is fine.", (TOPOLOGY_FILE,),
            (Option("--dry-run", flag=True, help="Print what would be removed; change nothing."),)),
    Command("status", "topology:status", "Compare topology FILE with the store and the kernel; exit 1 unless "
            "all is ok.", (TOPOLOGY_FILE,)),
    Command("graph", "topology:graph", "Draw topology FILE (or everything nsnet manages), grouped by network.",
            (Arg("file", required=False, complete="file"),),
            (Option("-o", "--output", dest="out", metavar="OUT", required=True, complete="file",
                    help="The picture: .svg, .png, .pdf or .dot (graphviz source), .mmd (Mermaid) or .json."),)),
    Command("check", "topology:check", "Probe every pair of sandboxes and print the reachability matrix.\n\n"
            "ICMP between sandboxes, TCP where FILE expects ports; exit 1 if an\n"
            "expectation of FILE is not met.",
            (Arg("file", required=False, complete="file"),), (
                Option("--outside", metavar="NETNS", complete="netns",
                       help="A namespace wired to the host that plays the outside world: probed from every "
                            "sandbox (NAT) and used for published ports."),
                Option("--timeout", metavar="S", default=1.0, convert=number(0.1, 30),
                       help="Seconds to wait for answers (all probes run at once; 0.1..30)."))),
    *FAULTS,
    Command("explain", "firewall:explain",
            "Print the ip commands that would rebuild what exists (all, or one sandbox/network).",
            (Arg("target", "SANDBOX|NETWORK", required=False, complete="sandbox network"),)),
    Command("doctor", "doctor:doctor", "List every difference between the state store and what the kernel holds "
            "of nsnet's.\n\n"
            "Orphan namespaces, interfaces and firewall elements, store objects the\n"
            "kernel lacks, the DNS server and resolv.conf files, changes killed half-way.\n"
            "Exit 0 when all is clean, 1 when something was found (fixed or not).",
            options=(Option("--fix", flag=True, help="Repair what was found."),)),
    Group("firewall", "nsnet's nftables table (inet nsnet).", (
        Command("show", "firewall:show", "Print the nft commands that build nsnet's table from the state store."),
        Command("reload", "firewall:reload",
                "Rebuild nsnet's table from the state store (e.g. after `nft flush ruleset`).", options=(DRY_RUN,)),
    )),
    Group("dns", "The DNS server that resolves sandbox names inside networks.", (
        Command("status", "dns:status", "Is the server running, and what does it serve?"),
        Command("sync", "dns:sync", "Link every sandbox's resolv.conf and start the server if it is not running."),
    )),
    Command("agent", "agent:agent", "Run the overlay agent in the foreground (until SIGTERM).\n\n"
            "Registers this host in the cluster store and keeps the VXLAN forwarding\n"
            "entries in step with it.", options=(
                Option("--advertise-address", metavar="IP", required=True,
                       help="This host's underlay address: the VXLAN tunnels of other hosts end here."),
                Option("--name", dest="host_name", metavar="NAME",
                       help="This host's name in the cluster (default: the host namespace's name, else the "
                            "hostname)."),
                Option("--ttl", metavar="S", default=10, convert=integer(1, 3600),
                       help="Seconds until the registration expires once the agent stops for good (1..3600)."))),
    Group("overlay", "Overlay networks as the cluster store sees them.", (
        Command("ls", "agent:overlay_ls", "Overlay networks of the cluster store and their endpoints.",
                options=(QUIET,)),
        Command("hosts", "agent:overlay_hosts", "Hosts whose agent is alive (registration not expired)."),
        Group("tunnel", "This host's WireGuard device (encrypted overlays).", (
            Command("show", "agent:tunnel_show", "The device, its backend and process, and its peers."),
            Command("sync", "agent:tunnel_sync",
                    "Start the device if an encrypted overlay needs it (stop it if none does); peers from the "
                    "cluster store."),
        )),
    )),
    Command("completion", "complete:script", "Print the shell completion script: eval \"$(nsnet completion bash)\".",
            (Arg("shell", complete="bash|zsh|fish"),)),
))
