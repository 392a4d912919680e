"""Property tests of what users type: the topology loader, the port-spec
parser and the command line's values either accept an input or refuse it with
one InvalidInput (one line through the CLI, exit 2); nothing else escapes
(issue #15, item 12). Deterministic (tests/conftest.py: the "nsnet" profile)."""

import ipaddress

import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from nsnet import ipam
from nsnet.cli import parse
from nsnet.errors import InvalidInput
from nsnet.firewall.ports import parse_publish
from nsnet.topology import TopologyError, loads
from nsnet.topology.yamlload import MAX_NODES

# Words the loader knows, so generated documents get past the first key check.
KEYS = ["name", "networks", "sandboxes", "links", "expect", "outside", "subnet", "gateway", "driver", "bridge",
        "mtu", "internal", "masquerade", "routes", "publish", "ip", "ifname", "a", "b", "ip_a", "ip_b", "reach",
        "isolate", "netns", "command", "env", "workdir", "isolate_pid", "dest", "via", "n", "web", "db"]
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True),
                    st.text(max_size=12), st.sampled_from(["10.0.0.0/24", "127.0.0.0/24", "10.0.0.1", "host",
                                                           "none", "overlay", "8080:80", "a -> b", "eth0",
                                                           "0.0.0.0/0", "default via 10.0.0.1", "1e999"]))
DOCUMENTS = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.sampled_from(KEYS), SCALARS), inner, max_size=5)),
    max_leaves=25)


def one_line_refusal(fn, *args) -> None:
    try:
        fn(*args)
    except InvalidInput as exc:
        assert str(exc), "an empty message"
        return


@given(DOCUMENTS)
def test_loader_accepts_or_refuses_any_document(data):
    text = yaml.safe_dump({"name": "lab", **data} if isinstance(data, dict) else data)
    one_line_refusal(loads, text)


@given(st.text(max_size=200))
def test_loader_accepts_or_refuses_any_text(text):
    one_line_refusal(loads, text)


@given(st.integers(2, 12), st.integers(2, 12))
def test_aliases_expand_to_a_bounded_size(width, depth):
    """A "billion laughs" file of any shape: refused in one pass over the file,
    never expanded."""
    lines = ["name: bomb", f"l0: &l0 [{', '.join(['x'] * width)}]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, depth)]
    try:
        loads("\n".join(lines))
    except TopologyError as exc:
        expanded = sum(width ** i for i in range(1, depth + 1))
        assert ("expands to more than" in str(exc)) == (expanded > MAX_NODES) or "unknown key" in str(exc)


PORT_TEXT = st.one_of(
    st.text(max_size=30),
    st.builds(lambda ip, hp, sp, proto: f"{ip}{hp}:{sp}{proto}",
              st.sampled_from(["", "127.0.0.1:", "0.0.0.0:", "::1:", "300.1.1.1:", "a:", ":"]),
              st.sampled_from(["80", "0", "65536", "8000-8010", "9-1", "٨٠", "8_0", " 80", "+80", "-", "80-"]),
              st.sampled_from(["80", "8000-8010", "1-2", "x", ""]),
              st.sampled_from(["", "/tcp", "/udp", "/sctp", "/", "/TCP"])))


@given(PORT_TEXT)
@example("٨٠:80")
@example("8_0:80")
@example(" 80:80")
@example("+80:80")
@example("80:80/sctp")
def test_port_specs_parse_or_are_refused(text):
    try:
        ports = parse_publish(text)
    except InvalidInput:
        return
    for port in ports:  # what is accepted is a real port, in ASCII
        assert 1 <= port.host_port <= 65535 and 1 <= port.sandbox_port <= 65535
        assert port.proto in ("tcp", "udp")
    assert text.split("/")[0].replace(":", "").replace("-", "").replace(".", "").isascii()


@given(st.lists(st.one_of(st.sampled_from(["sandbox", "network", "create", "rm", "ls", "--subnet", "-p", "--ip",
                                           "run", "-dit", "--", "--json", "-q", "check", "--timeout", "up",
                                           "stop", "-t", "--mtu", "--vni", "agent", "--ttl", "link", "add"]),
                          st.text(max_size=10)), max_size=8))
def test_command_lines_parse_or_are_refused(argv):
    one_line_refusal(parse.parse, argv)


@given(st.text(max_size=40))
def test_subnets_parse_or_are_refused(text):
    try:
        net = ipam.parse_subnet(text)
    except InvalidInput:
        return
    assert not any(net.overlaps(special) for special, _ in ipam.SPECIAL if special.version == net.version)


NETS = st.builds(lambda a, p: ipaddress.ip_network(f"{a}/{p}", strict=False),
                 st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address), st.integers(4, 30))


@given(st.dictionaries(st.text("abcdefgh", min_size=1, max_size=3), NETS, max_size=12), NETS)
def test_overlap_sweep_agrees_with_every_pair(named, probe):
    """The O(n log n) checks find what comparing every pair finds."""
    pairs = ipam.overlapping_pairs(named)
    assert all(named[a].overlaps(named[b]) for a, b in pairs)
    overlapping = {a for a in named for b in named if a != b and named[a].overlaps(named[b])}
    assert {name for pair in pairs for name in pair} == overlapping  # each named, if not reported then as a partner
    found = ipam.SubnetIndex(named).find(probe)
    assert (found is not None) == any(probe.overlaps(n) for n in named.values())
    assert found is None or probe.overlaps(named[found])
