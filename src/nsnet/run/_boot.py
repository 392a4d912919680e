"""Start one of nsnet's helper processes in a fresh, small interpreter:

    python -I -S .../nsnet/run/_boot.py ROLE ARGS...

without site-packages and without running nsnet/__init__.py (which loads the
engine): only nsnet.run's light modules are imported. ROLE: init | supervise.
"""

import os
import sys
import types


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    package_dir = os.path.dirname(here)
    sys.path.insert(0, os.path.dirname(package_dir))
    if "nsnet" not in sys.modules:
        pkg = types.ModuleType("nsnet")
        pkg.__path__ = [package_dir]
        sys.modules["nsnet"] = pkg
    role, args = sys.argv[1], sys.argv[2:]
    if role == "init":
        from nsnet.run.init import main as run
    elif role == "supervise":
        from nsnet.run.supervise import main as run
    else:
        raise SystemExit(f"nsnet _boot: unknown role {role!r}")
    run(args)


if __name__ == "__main__":
    main()
