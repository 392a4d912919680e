"""The docs as tests (Sybil): every ```console block and every ```python block
of README.md and docs/*.md runs, page by page, each page in its own throwaway
host namespace (nsnet.testing.Lab) with its own state directory.

Console blocks: console.py says how they run and what is compared. Python
blocks run in one namespace per page (an `<!-- invisible-code-block: python -->`
comment can prepare what a fragment assumes, visibly in the source). A block
that must not run is preceded by `<!-- skip: next "why" -->`.

A page's blocks run in order in one process: under pytest-xdist, give
`--dist loadfile` (or leave tests/pages out of `-n` runs).

The pages live outside tests/: test_pages.py is their anchor in this directory,
so that `pytest tests` collects them."""

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
from sybil import Sybil
from sybil.integration.pytest import SybilFile
from sybil.parsers.markdown import CodeBlockParser, PythonCodeBlockParser, SkipParser

from . import console

ROOT = Path(__file__).resolve().parents[2]
PAGES = ["README.md", "docs/*.md"]
ANCHOR = Path(__file__).with_name("test_pages.py")
ENV = ("NSNET_HOST_NETNS", "NSNET_STATE_DIR")


def _page_setup(namespace: dict) -> None:
    """One lab per page: the environment every block of the page sees."""
    from nsnet.testing import Lab

    if os.geteuid() != 0:
        pytest.skip("needs root (the docs run in throwaway host namespaces)")
    lab = Lab(tag="doc")  # nldoc<random>: a page's host namespace
    workdir = tempfile.mkdtemp(prefix=f"{lab.name}-cwd-")
    os.symlink(ROOT / "examples", Path(workdir) / "examples")  # paths as the docs write them
    os.makedirs(Path(workdir) / ".config/fish/completions")  # HOME too: what a page writes under ~ stays here
    settings = {"NSNET_HOST_NETNS": lab.name, "NSNET_STATE_DIR": lab.state_dir}
    namespace["_page"] = {
        "lab": lab, "workdir": workdir, "saved": {k: os.environ.get(k) for k in ENV},
        "env": dict(os.environ, **settings, HOME=workdir,
                    PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}"),
    }
    os.environ.update(settings)  # Python blocks: Engine() reads the same settings


def _page_teardown(namespace: dict) -> None:
    page = namespace.pop("_page")
    for key, value in page["saved"].items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    engine = namespace.get("eng")
    if engine is not None and hasattr(engine, "close"):
        engine.close()
    leaks = page["lab"].close()
    shutil.rmtree(page["workdir"], ignore_errors=True)
    if leaks:
        pytest.fail("a docs page leaked: " + "; ".join(leaks), pytrace=False)


def _console(example) -> str | None:
    page = example.namespace["_page"]
    return console.evaluate(example.parsed, page["env"], page["workdir"], page["lab"].name)


SYBIL = Sybil(
    parsers=[CodeBlockParser("console", _console), PythonCodeBlockParser(), SkipParser()],
    path=str(ROOT), patterns=PAGES, setup=_page_setup, teardown=_page_teardown,
)


class Pages(pytest.File):
    """README.md and docs/*.md, one Sybil document each."""

    def collect(self):
        for pattern in PAGES:
            for path in sorted(ROOT.glob(pattern)):
                yield SybilFile.from_parent(self, path=path, sybils=[SYBIL])


def pytest_collect_file(file_path, parent):
    if file_path == ANCHOR:
        return Pages.from_parent(parent, path=file_path)
    return None
