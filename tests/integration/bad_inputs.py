"""Bad input for every command, in one table: what test_no_traceback.py feeds
the command line (and test_errors.py / test_run_errors.py check in detail).

To extend: add an argv list to ARGV (with the exit code it must give, or None
for "one of 2..9"), or a file to FILES (it is run through every command that
reads a topology file). The lab they run against: network n (10.70.0.0/24)
with sandbox red on it, sandbox blue on none, no topology. "{file}" and
"{out}" in an argv stand for a file of FILES and a path to write to."""

NL = "web\n"  # a name ending in a newline (issue #15, item 12)

ARGV: list[tuple[list[str], int | None]] = [
    # sandbox
    (["sandbox", "create", NL], 2),
    (["sandbox", "create", "a\tb"], 2),
    (["sandbox", "create", "\x1b[31mred"], 2),
    (["sandbox", "create", ""], 2),
    (["sandbox", "create", "-"], 2),
    (["sandbox", "create", "ok", "--network", ""], 2),
    (["sandbox", "create", "ok", "--network", ":10.70.0.9"], 2),
    (["sandbox", "create", "ok", "--network", "n:10.70.0.300"], 2),
    (["sandbox", "create", "ok", "--network", "n:10.71.0.9"], 2),
    (["sandbox", "create", "ok", "--network", "n", "-p", "99999:80"], 2),
    (["sandbox", "create", "ok", "--network", "n", "-p", "٨٠:80"], 2),
    (["sandbox", "create", "ok", "--network", "n", "-p", "80:80/sctp"], 2),
    (["sandbox", "create", "ok", "--network", f"{NL}:"], None),
    (["sandbox", "ls", "extra"], 2),
    (["sandbox", "inspect", "ghost"], 3),
    (["sandbox", "inspect", NL], None),
    (["sandbox", "rm", "ghost", NL], None),
    # network
    (["network", "create", NL], 2),
    (["network", "create", "m", "--subnet", "127.0.0.0/24"], 2),
    (["network", "create", "m", "--subnet", "224.0.0.0/24"], 2),
    (["network", "create", "m", "--subnet", "0.0.0.0/24"], 2),
    (["network", "create", "m", "--subnet", "0.0.0.0/0"], 2),
    (["network", "create", "m", "--subnet", "169.254.0.0/16"], 2),
    (["network", "create", "m", "--subnet", "255.255.255.0/24"], 2),
    (["network", "create", "m", "--subnet", "fe80::/64"], 2),
    (["network", "create", "m", "--subnet", "ff02::/64"], 2),
    (["network", "create", "m", "--subnet", "fd00::/48"], 2),
    (["network", "create", "m", "--subnet", "10.72.0.0/24,10.73.0.0/24"], 2),
    (["network", "create", "m", "--subnet", "10.72.0.0"], 2),
    (["network", "create", "m", "--subnet", "10.72.0.0/31"], 2),
    (["network", "create", "m", "--subnet", "x" * 10000], 2),
    (["network", "create", "m", "--gateway", "10.70.0.1"], None),
    (["network", "create", "m", "--mtu", "67"], 2),
    (["network", "create", "m", "--mtu", "1" * 5000], 2),
    (["network", "create", "m", "--vni", "5", "--driver", "bridge"], None),
    (["network", "create", "m", "--driver", "host", "--subnet", "10.72.0.0/24"], 2),
    (["network", "create", "m", "--driver", "overlay", "--vni", "99999999"], None),
    (["network", "create", "m", "--bridge", "a/b"], 2),
    (["network", "create", "m", "--bridge", "eth0\n"], 2),
    (["network", "ls", "x"], 2),
    (["network", "inspect", "ghost"], 3),
    (["network", "rm", "ghost"], 3),
    (["network", "connect", "n", "blue", "--alias", NL], 2),
    (["network", "connect", "n", "blue", "--alias", "-x"], None),
    (["network", "connect", "n", "blue", "--ip", "10.70.0.255"], 2),
    (["network", "connect", "n", "blue", "--ifname", "lo"], None),
    (["network", "connect", "n", "blue", "--ifname", "e th0"], 2),
    (["network", "connect", "ghost", "blue"], 3),
    (["network", "disconnect", "ghost", "blue"], 3),
    # exec, ports
    (["exec", "ghost", "--", "true"], 3),
    (["exec", "red"], 2),
    (["exec", "-x", "red", "true"], 2),
    (["publish", "red"], 2),
    (["publish", "red", "80"], 2),
    (["publish", "red", "1.2.3.4.5:80:80"], 2),
    (["publish", "red", "80:80", "--network", "ghost"], None),
    (["publish", "blue", "80:80"], None),
    (["publish", "ghost", "80:80"], 3),
    (["unpublish", "red", "81:81"], None),
    (["unpublish", "red", "abc"], 2),
    (["port", "ghost"], 3),
    # links, routes
    (["link", "add", "red", "blue", "--subnet", "10.70.0.0/30"], 4),  # overlaps network n
    (["link", "add", "red", "blue", "--subnet", "127.0.0.0/30"], 2),
    (["link", "add", "red", "blue", "--ip-a", "224.0.0.1/24", "--ip-b", "224.0.0.2/24"], 2),
    (["link", "add", "red", "blue", "--ip-a", "10.70.0.5/24", "--ip-b", "10.70.0.6/24"], 4),
    (["link", "add", "red", "blue", "--ip-a", "10.9.0.1/24", "--ip-b", "10.9.0.1/24"], 2),
    (["link", "add", "red", "blue", "--ifname-a", NL], 2),
    (["link", "add", "red"], 2),
    (["link", "ls", "x"], 2),
    (["link", "rm", "red", "blue"], 4),
    (["route", "add", "red", "10.1.0.0/16", "via", "10.70.0.300"], 2),
    (["route", "add", "red", "10.1.0.0/33", "via", "10.70.0.1"], 2),
    (["route", "add", "red", "nowhere", "via", "10.70.0.1"], 2),
    (["route", "add", "ghost", "default", "via", "10.70.0.1"], 3),
    (["route", "rm", "red", "10.1.0.0/16"], 3),
    (["route", "rm", "red", "x/y"], None),
    (["route", "ls", "ghost"], None),
    # processes
    (["run", "--name", NL, "--", "true"], 2),
    (["run", "--network", "n", "-e", "A\nB=c", "--", "true"], 2),
    (["run", "--network", "n", "-w", "relative", "--", "true"], 2),
    (["run", "--log-max-size", "-5", "--", "true"], 2),
    (["run", "--log-max-files", "0", "--", "true"], None),
    (["run", "-it"], 2),
    (["run", "--bogus", "true"], 2),
    (["ps", "extra"], 2),
    (["logs", "ghost"], 3),
    (["logs", NL], None),
    (["stop", "ghost"], 3),
    (["stop", "-t", "inf", "x"], 2),
    (["rm", "ghost"], 3),
    (["rm", NL], None),
    (["rm"], 2),
    (["prune", "x"], 2),
    # topology files (FILES are run through these commands too)
    (["up", "/nonexistent/lab.yaml"], 2),
    (["up", "/"], 2),
    (["up", "/dev/null"], 2),
    (["down", "/dev/null"], 2),
    (["status", "/nonexistent"], 2),
    (["graph", "-o", "{out}.weird"], 2),
    (["graph", "-o", "/nonexistent/dir/x.svg"], None),
    (["check", "--outside", "ghost-ns"], 3),
    (["check", "--timeout", "0"], 2),
    (["check", "/nonexistent"], 2),
    # faults
    (["partition"], 2),
    (["partition", "ghost"], 3),
    (["partition", "red,", "blue"], None),
    (["partition", f"red,{NL}"], None),
    (["heal", "x"], 2),
    (["impair", "ghost", "--loss", "5"], 3),
    (["impair", "red", "--loss", "101"], 2),
    (["impair", "red", "--loss", "nan"], 2),
    (["impair", "red", "--loss", "-1"], 2),
    (["impair", "red", "--rate", "fast"], 2),
    (["impair", "red", "--rate", "0mbit"], None),
    (["impair", "red:eth9", "--loss", "5"], None),
    (["impair", f"red:{NL}", "--loss", "5"], None),
    (["impair", "red", "--delay", "-5"], None),
    (["impair", "red", "--jitter", "5"], None),
    (["impair", "red", "--loss", "5", "--to", "ghost"], None),
    (["impair", "red"], None),
    (["faults", "x"], 2),
    # the rest
    (["explain", "ghost"], 3),
    (["explain", NL], None),
    (["firewall", "show", "x"], 2),
    (["firewall", "reload", "x"], 2),
    (["firewall", "nosuch"], 2),
    (["dns", "status", "x"], 2),
    (["dns", "sync", "x"], 2),
    (["agent", "--advertise-address", "10.70.0.999"], 2),
    (["agent", "--advertise-address", "198.51.100.7"], None),  # not an address of the host
    (["overlay", "ls", "x"], 2),
    (["overlay", "hosts", "x"], 2),
    (["overlay", "ls", "--store", "etcd://"], 2),
    (["overlay", "tunnel", "show", "x"], 2),
    (["overlay", "tunnel", "sync", "x"], 2),
    (["overlay", "tunnel", "nosuch"], 2),
    (["doctor", "x"], 2),
    (["doctor", "--fix", "--nosuch"], 2),
    (["completion", "tcsh"], 2),
    (["--host-netns", "ghost-host", "sandbox", "create", "x"], 3),
    (["--state-dir", "/proc/version", "sandbox", "ls"], None),
    (["--store", "etcd://h:99999", "overlay", "ls"], 2),
    (["nosuch"], 2),
    (["-z"], 2),
]


def _bomb() -> bytes:
    lines = ["name: bomb", "a: &a [x, x, x, x, x, x, x, x, x]"]
    lines += [f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi", strict=True)]
    return "\n".join(lines).encode()  # ~630 bytes, 9^9 values once expanded


FILES: dict[str, bytes] = {
    "empty.yaml": b"",
    "binary.yaml": bytes(range(256)),
    "utf8.yaml": b"name: lab\ndescription: \"\xff\xfe\"\n",
    "recursive.yaml": b"name: &a [*a]\n",
    "recursive-map.yaml": b"name: x\nsandboxes: &s {a: *s}\n",
    "bomb.yaml": _bomb(),
    "deep.yaml": b"name: x\na: " + b"[" * 5000 + b"]" * 5000 + b"\n",
    "huge-int.yaml": b"name: x\nnetworks: {n: {mtu: " + b"9" * 5000 + b"}}\n",
    "list.yaml": b"- a\n- b\n",
    "tabs.yaml": b"name: x\n\tnetworks: {}\n",
    "newline-name.yaml": b"name: \"lab\\n\"\n",
    "newline-sandbox.yaml": b"name: x\nsandboxes: {\"web\\n\": {}}\n",
    "loopback.yaml": b"name: x\nnetworks: {n: {subnet: 127.0.0.0/24}}\n",
    "multicast.yaml": b"name: x\nnetworks: {n: {subnet: 224.0.0.0/24}}\n",
    "zero.yaml": b"name: x\nnetworks: {n: {subnet: 0.0.0.0/24}}\n",
    "link-overlap.yaml": b"name: x\nnetworks: {n: {subnet: 10.81.0.0/16}}\nsandboxes: {a: {}, b: {}}\n"
                         b"links: [{a: a, b: b, subnet: 10.81.2.0/30}]\n",
    "sctp.yaml": b"name: x\nnetworks: {n: {subnet: 10.82.0.0/24}}\nsandboxes: {a: {networks: [n], "
                 b"publish: ['80:80/sctp']}}\n",
    "dates.yaml": b"name: 2024-01-01\nnetworks: {n: {subnet: 2024-01-01}}\n",
    "taken.yaml": b"name: x\nnetworks: {n: {subnet: 10.83.0.0/24}}\n"
                  b"sandboxes: {red: {networks: [n]}}\n",  # red exists outside any topology
    "overlaps-n.yaml": b"name: y\nnetworks: {m: {subnet: 10.70.0.0/16}}\n",  # overlaps the lab's network n
}

# What reads a topology file: every FILES entry goes through each of these.
FILE_COMMANDS = [["up", "{file}"], ["up", "--dry-run", "{file}"], ["status", "{file}"], ["down", "{file}"],
                 ["graph", "{file}", "-o", "{out}.dot"], ["check", "{file}"]]
