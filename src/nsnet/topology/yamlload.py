"""Reading YAML: libyaml when present, duplicate keys refused (PyYAML would
silently keep the last one), errors with the file's line numbers."""

import yaml

from .errors import TopologyError

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _duplicates(node, path: str, out: list[str]) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key is not None and key in seen:
                where = path or "(top level)"
                out.append(f"{where}: duplicate key '{key}' (lines {seen[key] + 1} and "
                           f"{key_node.start_mark.line + 1})")
            elif key is not None:
                seen[key] = key_node.start_mark.line
            _duplicates(value_node, f"{path}.{key}" if path else str(key), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _duplicates(item, f"{path}[{i}]", out)


def load_text(text: str, source: str = "<topology>"):
    """Parse one YAML document; raise TopologyError for syntax errors and duplicates."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        problems: list[str] = []
        if node is not None:
            _duplicates(node, "", problems)
        if problems:
            raise TopologyError(problems)
        return loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}: line {mark.line + 1}, column {mark.column + 1}" if mark else source
        problem = getattr(exc, "problem", None) or str(exc)
        raise TopologyError([f"{where}: {problem}"]) from None
    finally:
        loader.dispose()


def load_file(path: str):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise TopologyError([f"{path}: no such file"]) from None
    except OSError as exc:
        raise TopologyError([f"{path}: {exc.strerror}"]) from None
    return load_text(text, path)
