"""docs/topology.schema.json (what editors check and complete) and the loader
(what `up` accepts) agree: on every example, on good variants and on bad files
of every shape the schema can express. What only the loader can check
(references, overlaps, addresses in their subnets) is not the schema's."""

import glob
import json
import os

import jsonschema
import pytest
import yaml

from nsnet.topology import TopologyError, from_data

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
SCHEMA_PATH = os.path.join(ROOT, "docs", "topology.schema.json")
EXAMPLES = sorted(glob.glob(os.path.join(ROOT, "examples", "*.yaml")))
SCHEMA_LINE = "# yaml-language-server: $schema=../docs/topology.schema.json"


@pytest.fixture(scope="module")
def validator():
    with open(SCHEMA_PATH) as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def loader_accepts(data) -> bool:
    try:
        from_data(data)
    except TopologyError:
        return False
    return True


@pytest.mark.parametrize("path", EXAMPLES, ids=os.path.basename)
def test_every_example_names_the_schema_and_both_accept_it(validator, path):
    with open(path) as f:
        text = f.read()
    assert text.splitlines()[0] == SCHEMA_LINE, "editors find the schema by this first line"
    data = yaml.safe_load(text)
    assert list(validator.iter_errors(data)) == []
    assert loader_accepts(data)


GOOD = [
    "name: x",
    "name: x\nnetworks:\n  n:\nsandboxes:\n  a:\n  b: {networks: [n]}",
    "name: x\nnetworks:\n  n: {subnet: [10.0.0.0/24, 'fd00:1::/64'], gateway: 10.0.0.9, mtu: 1400, internal: true}",
    "name: x\nnetworks:\n  h: {driver: host}\nsandboxes:\n  a: {networks: {h: {}}}",
    "name: x\nsandboxes:\n  a: {command: [sleep, 1], env: [A=1], workdir: /, isolate_pid: true}",
    "name: x\nnetworks:\n  n:\nsandboxes:\n  a: {command: sleep 1, env: {A: 1}}\n"
    "  b: {networks: [n], publish: '8080:80'}",
    "name: x\nsandboxes:\n  a:\n  b:\nlinks:\n  - {a: a, b: b, ip_a: 10.1.0.1/30, ip_b: 10.1.0.2/30, ifname_a: x0}",
    "name: x\nnetworks:\n  n: {subnet: 10.0.0.0/24}\n"
    "sandboxes:\n  a: {networks: [n], routes: [{dest: 10.9.0.0/16, via: 10.0.0.1}]}",
    "name: x\nsandboxes:\n  a:\n  b:\nexpect: {reach: ['a -> b'], isolate: ['b -> a:80/tcp']}",
    "name: x\noutside: {netns: out, ip: 10.77.0.2}",
    "name: x\nsandboxes:\n  a: {hostname: web-1.example.org}\n  b: {hostname: B2}",
]

BAD = [
    "description: no name",
    "name: x\ncolour: red",
    "name: 'bad name'",
    "name: x\nnetworks:\n  n: {colour: red}",
    "name: x\nnetworks:\n  'a b': {}",
    "name: x\nnetworks:\n  n: {driver: overlay2}",
    "name: x\nnetworks:\n  n: {mtu: 40}",
    "name: x\nnetworks:\n  n: {mtu: big}",
    "name: x\nnetworks:\n  n: {internal: maybe}",
    "name: x\nnetworks:\n  n: {subnet: 10.0.0.0}",
    "name: x\nnetworks:\n  n: {subnet: [10.0.0.0/24, 10.1.0.0/24, 10.2.0.0/24]}",
    "name: x\nnetworks:\n  h: {driver: host, subnet: 10.0.0.0/24}",
    "name: x\nnetworks:\n  n: {bridge: a-name-far-too-long}",
    "name: x\nsandboxes: [a, b]",
    "name: x\nsandboxes:\n  a: {colour: red}",
    "name: x\nsandboxes:\n  a: {hostname: bad_host}",
    "name: x\nsandboxes:\n  a: {hostname: -dash}",
    "name: x\nsandboxes:\n  a: {hostname: [web]}",
    "name: x\nsandboxes:\n  a: {hostname: " + "h" * 65 + "}",
    "name: x\nsandboxes:\n  a: {networks: n}",
    "name: x\nsandboxes:\n  a: {publish: ['eighty:80']}",
    "name: x\nsandboxes:\n  a: {publish: ['8080:80/icmp']}",
    "name: x\nsandboxes:\n  a: {routes: ['10.0.0.0/8 through 10.0.0.1']}",
    "name: x\nsandboxes:\n  a: {routes: [{dest: 10.0.0.0/8}]}",
    "name: x\nsandboxes:\n  a: {env: {A: 1}}",
    "name: x\nsandboxes:\n  a: {command: []}",
    "name: x\nsandboxes:\n  a: {command: sleep, isolate_pid: yes please}",
    "name: x\nsandboxes:\n  a: {command: sleep, workdir: relative}",
    "name: x\nsandboxes:\n  a: {command: sleep, env: ['NOEQUALS']}",
    "name: x\nsandboxes:\n  a: {networks: {n: {ip: 10.0.0.2, mac: x}}}",
    "name: x\nlinks:\n  - {a: a}",
    "name: x\nlinks:\n  - {a: a, b: b, subnet: 10.1.0.0/30, ip_a: 10.1.0.1/30, ip_b: 10.1.0.2/30}",
    "name: x\nlinks:\n  - {a: a, b: b, ip_a: 10.1.0.1/30}",
    "name: x\nlinks:\n  - {a: a, b: b, ip_a: 10.1.0.1, ip_b: 10.1.0.2}",
    "name: x\nexpect: {reach: ['a to b']}",
    "name: x\nexpect: {maybe: ['a -> b']}",
    "name: x\noutside: {ip: 10.77.0.2}",
]


@pytest.mark.parametrize("text", GOOD)
def test_both_accept(validator, text):
    data = yaml.safe_load(text)
    assert [e.message for e in validator.iter_errors(data)] == []
    assert loader_accepts(data)


@pytest.mark.parametrize("text", BAD)
def test_both_reject(validator, text):
    data = yaml.safe_load(text)
    assert list(validator.iter_errors(data)) != [], "the schema lets it through"
    assert not loader_accepts(data), "the loader lets it through"


def test_the_schema_names_every_key_the_loader_takes(validator):
    """A key added to the loader (topology/schema.py) and not to the schema fails here."""
    from nsnet.topology import schema as loader

    defs = validator.schema["$defs"]
    route_object = next(s for s in defs["route"]["oneOf"] if s.get("type") == "object")
    for keys, properties in [(loader.TOP, validator.schema["properties"]),
                             (loader.NETWORK, defs["network"]["properties"]),
                             (loader.SANDBOX, defs["sandbox"]["properties"]),
                             (loader.ATTACH, defs["attachment"]["properties"]),
                             (loader.LINK, defs["link"]["properties"]),
                             (loader.ROUTE, route_object["properties"]),
                             (loader.EXPECT, defs["expect"]["properties"]),
                             (loader.OUTSIDE, defs["outside"]["properties"])]:
        assert set(properties) == set(keys)
