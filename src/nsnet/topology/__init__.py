"""Declarative topologies: a YAML file names networks, sandboxes, links, routes
and published ports; `up` makes the kernel match it, `down` removes it,
`status` compares, `graph` draws it and `check` probes it.

    from nsnet.topology import load
    topo = load("examples/devops-db.yaml")      # validated; raises TopologyError
"""

from ..names import check_name
from .errors import TopologyError
from .model import Topology
from .reader import Reader
from .schema import parse
from .validate import validate
from .yamlload import load_file, load_text


def from_data(data) -> Topology:
    r = Reader()
    topo = parse(data, r)
    if topo is not None and not r.errors:
        validate(topo, r)
    if r.errors:
        raise TopologyError(r.errors)
    return topo


def loads(text: str, source: str = "<topology>") -> Topology:
    return from_data(load_text(text, source))


def load(path: str) -> Topology:
    return from_data(load_file(path))


def name_of(path: str) -> str:
    """Only the topology's name: `down` works even when the rest of the file no
    longer validates."""
    data = load_file(path)
    r = Reader()
    name = r.string(data.get("name"), "name") if isinstance(data, dict) else None
    if not name:
        raise TopologyError(["name: is required"])
    r.call("name", check_name, "topology", name)
    if r.errors:
        raise TopologyError(r.errors)
    return name


__all__ = ["Topology", "TopologyError", "from_data", "load", "loads", "name_of"]
