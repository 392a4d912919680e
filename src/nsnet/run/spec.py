"""Validation of what `run` is given, before anything is created."""

import os
import re

from ..errors import InvalidInput, NotFound
from .errors import StartError

_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]?)i?b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
MAX_LOG_FILES = 100


def parse_env(items) -> dict[str, str]:
    """['K=V', ...] (or a dict) -> {K: V}. The value may be empty or hold '='."""
    if isinstance(items, dict):
        items = [f"{k}={v}" for k, v in items.items()]
    env = {}
    for item in items or []:
        key, eq, value = str(item).partition("=")
        if not eq:
            raise InvalidInput(f"--env '{item}': expected KEY=VALUE")
        if not _ENV_KEY.match(key):
            raise InvalidInput(f"--env '{item}': '{key}' is not a valid variable name "
                               "(letters, digits, '_'; not starting with a digit)")
        if "\0" in value:
            raise InvalidInput(f"--env '{key}': the value holds a NUL byte")
        env[key] = value
    return env


def parse_size(value, what: str = "--log-max-size") -> int:
    """Bytes from 1048576, '512k', '10M', '1G' (powers of 1024)."""
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    else:
        m = _SIZE.match(str(value))
        if not m:
            raise InvalidInput(f"{what} '{value}': expected a size such as 512k, 10M or 1G")
        size = int(m.group(1)) * _UNITS[m.group(2).lower()]
    if size < 1:
        raise InvalidInput(f"{what} must be at least 1 byte")
    return size


def check_log_files(count: int) -> int:
    if not isinstance(count, int) or not 1 <= count <= MAX_LOG_FILES:
        raise InvalidInput(f"--log-max-files must be between 1 and {MAX_LOG_FILES}, not {count}")
    return count


def check_argv(argv) -> list[str]:
    argv = [str(a) for a in argv or []]
    if not argv or not argv[0]:
        raise InvalidInput("nothing to run: nsnet run [OPTIONS] -- CMD [ARGS...]")
    if any("\0" in a for a in argv):
        raise InvalidInput("the command holds a NUL byte")
    return argv


def check_workdir(workdir: str | None) -> str | None:
    if workdir is None:
        return None
    if not os.path.isabs(workdir):
        raise InvalidInput(f"--workdir '{workdir}' must be an absolute path")
    if not os.path.isdir(workdir):
        raise NotFound(f"--workdir '{workdir}' is not a directory")
    return workdir


def resolve_command(cmd: str, env: dict, workdir: str | None) -> str:
    """The file that will be executed, found the way execvp will find it; a
    clear error now rather than a half-made sandbox later."""
    if "/" in cmd:
        path = cmd if os.path.isabs(cmd) else os.path.join(workdir or os.getcwd(), cmd)
        if not os.path.exists(path):
            raise StartError(f"{cmd}: command not found", 127)
        if os.path.isdir(path) or not os.access(path, os.X_OK):
            raise StartError(f"{cmd}: permission denied (not an executable file)", 126)
        return path
    found = which(cmd, env.get("PATH", os.defpath))
    if found is None:
        raise StartError(f"{cmd}: command not found in PATH", 127)
    return found


def which(cmd: str, path: str) -> str | None:
    """shutil.which(cmd, path=path) for a command without '/', on POSIX: shutil
    costs ~2.5 ms to import (it loads bz2, lzma) on the `nsnet run` path."""
    if not path:
        return None
    seen = set()
    for folder in path.split(os.pathsep):
        if folder in seen:
            continue
        seen.add(folder)
        name = os.path.join(folder, cmd)
        if os.path.exists(name) and os.access(name, os.F_OK | os.X_OK) and not os.path.isdir(name):
            return name
    return None
