"""Reading YAML: libyaml when present, duplicate keys refused (PyYAML would
silently keep the last one), errors with the file's line numbers, and bounds
on what a file may hold: its size, and what its aliases expand to (a 630-byte
"billion laughs" file expands to 10^9 nodes; a recursive alias never ends)."""

import yaml

from .errors import TopologyError

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_BYTES = 16 << 20  # a 1,000-sandbox topology is ~50 KB
MAX_NODES = 250_000  # after alias expansion; the same file: ~10,000


Scalar = yaml.ScalarNode


def _children(node) -> list:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return node.value if isinstance(node, yaml.SequenceNode) else []


def _check_graph(root, source: str) -> None:
    """Duplicate keys, recursive aliases and the size the file expands to, in
    one walk over its distinct nodes (an alias is the node it names: the
    expanded size is summed, never expanded). Iterative: libyaml allows
    nesting deeper than Python's recursion limit."""
    problems: list[str] = []
    size: dict[int, int] = {}  # node -> nodes it expands to (done)
    active: set[int] = set()  # nodes being walked: met again below themselves, an alias is recursive
    stack = [(root, "", False)]
    while stack:
        node, path, leaving = stack.pop()
        if leaving:
            active.discard(id(node))
            size[id(node)] = min(1 + sum(size.get(id(c), 1) for c in _children(node)), MAX_NODES + 1)
            continue
        if id(node) in size:
            continue
        if isinstance(node, Scalar):  # the root
            size[id(node)] = 1
            continue
        if id(node) in active:
            raise TopologyError([f"{source}: line {node.start_mark.line + 1}: {path or '(top level)'} "
                                 "refers to itself (a recursive alias)"])
        active.add(id(node))
        stack.append((node, path, True))
        children = []  # the non-scalar ones: a scalar counts 1, no walk, no path
        if isinstance(node, yaml.MappingNode):
            keys: dict = {}
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, Scalar) else None
                if key is not None and key in keys:
                    problems.append(f"{path or '(top level)'}: duplicate key '{key}' (lines {keys[key] + 1} and "
                                    f"{key_node.start_mark.line + 1})")
                elif key is not None:
                    keys[key] = key_node.start_mark.line
                else:
                    children.append((key_node, path, False))
                if isinstance(value_node, Scalar):
                    size[id(value_node)] = 1
                else:
                    children.append((value_node, f"{path}.{key}" if path else str(key), False))
        else:
            for i, item in enumerate(node.value):
                if isinstance(item, Scalar):
                    size[id(item)] = 1
                else:
                    children.append((item, f"{path}[{i}]", False))
        stack.extend(reversed(children))  # in the file's order
    if problems:
        raise TopologyError(problems)
    if size[id(root)] > MAX_NODES:
        raise TopologyError([f"{source}: expands to more than {MAX_NODES:,} values (through YAML aliases); "
                             "not a topology file"])


def load_text(text: str, source: str = "<topology>"):
    """Parse one YAML document; raise TopologyError for syntax errors and duplicates."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_graph(node, source)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}: line {mark.line + 1}, column {mark.column + 1}" if mark else source
        problem = getattr(exc, "problem", None) or str(exc)
        raise TopologyError([f"{where}: {problem}"]) from None
    except ValueError as exc:  # a value no Python type holds (an integer of 5,000 digits)
        raise TopologyError([f"{source}: {exc}"]) from None
    finally:
        loader.dispose()


def load_file(path: str):
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise TopologyError([f"{path}: no such file"]) from None
    except OSError as exc:
        raise TopologyError([f"{path}: {exc.strerror or exc}"]) from None
    if len(data) > MAX_BYTES:
        raise TopologyError([f"{path}: larger than {MAX_BYTES >> 20} MiB: not a topology file"])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise TopologyError([f"{path}: line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x} "
                             f"at offset {exc.start})"]) from None
    return load_text(text, path)
