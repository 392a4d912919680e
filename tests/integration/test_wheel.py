"""The package as a user installs it: a wheel built from the repo, installed in
a fresh virtualenv under /tmp, run from outside the checkout. No network: the
wheel is built without build isolation (setuptools from the test extra) and
installed with --no-deps --no-index; its dependencies come from the project's
.venv through a .pth line (appended to sys.path after the new venv's own
site-packages, so the wheel's nsnet is the one imported)."""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOURCES = ("src", "bin", "pyproject.toml", "README.md", "LICENSE")


def _run(argv, **kw):
    kw.setdefault("timeout", 180)
    return subprocess.run(argv, capture_output=True, text=True, **kw)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(venv, a working directory outside the checkout)."""
    base = tmp_path_factory.mktemp("gh-wheel")
    tree = base / "tree"  # a clean copy: no stale build/ or egg-info of the checkout gets packaged
    tree.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    for name in SOURCES:
        src = os.path.join(ROOT, name)
        if os.path.isdir(src):
            shutil.copytree(src, tree / name, ignore=ignore)
        else:
            shutil.copy(src, tree / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    r = _run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(base / "dist"),
              str(tree)])
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    (wheel,) = (base / "dist").glob("nsnet-*.whl")
    venv = base / "venv"
    r = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    assert r.returncode == 0, r.stderr
    r = _run([*pip, "--python", str(venv / "bin" / "python"), "install", "--no-deps", "--no-index", str(wheel)])
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    purelib = _run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])
    with open(os.path.join(purelib.stdout.strip(), "zz_nsnet_test_deps.pth"), "w") as f:
        f.write(sysconfig.get_path("purelib") + "\n")  # pyyaml, dnslib, pytest... of the project's .venv
    work = base / "elsewhere"
    work.mkdir()
    return venv, work


def test_the_command_runs_from_the_wheel(installed):
    venv, work = installed
    r = _run([str(venv / "bin" / "nsnet"), "--version"], cwd=work)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("nsnet, version ")
    where = _run([str(venv / "bin" / "python"), "-c", "import nsnet; print(nsnet.__file__)"], cwd=work)
    assert where.stdout.startswith(str(venv)), where.stdout + where.stderr  # the wheel's, not the checkout's
    assert (venv / "bin" / "nsnet").read_text().startswith(f"#!{venv}")
    package = os.path.dirname(where.stdout.strip())
    assert os.listdir(os.path.join(package, "cli", "__pycache__")), "installed without its bytecode"


def test_the_cni_plugin_answers_version(installed):
    venv, work = installed
    env = dict(os.environ, CNI_COMMAND="VERSION")
    r = _run([str(venv / "bin" / "nsnet-cni")], cwd=work, env=env, input='{"cniVersion": "1.1.0"}')
    assert r.returncode == 0, r.stdout + r.stderr
    answer = json.loads(r.stdout)
    assert answer["cniVersion"] == "1.1.0" and "1.1.0" in answer["supportedVersions"]


def test_the_pytest_plugin_gives_a_lab(installed):
    venv, work = installed
    (work / "test_lab.py").write_text(textwrap.dedent('''
        import nsnet


        def test_lab(nsnet_lab):
            assert nsnet.__file__.startswith(%r)
            nsnet_lab.network("n", subnet="10.70.0.0/24")
            a, b = nsnet_lab.sandboxes("a", "b", network="n")
            assert nsnet_lab.exec("a", "ping", "-c1", "-W2", b).returncode == 0
    ''' % str(venv)))
    r = _run([str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir",
              str(work), str(work / "test_lab.py")], cwd=work, timeout=240)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "1 passed" in r.stdout


def test_an_etcd_store_without_the_extra_names_it(installed, tmp_path):
    """etcd3gw is the overlay extra's: without it, one line that says what to install."""
    venv, work = installed
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "etcd3gw.py").write_text("raise ModuleNotFoundError(\"No module named 'etcd3gw'\", name='etcd3gw')\n")
    env = dict(os.environ, PYTHONPATH=str(hide))
    r = _run([str(venv / "bin" / "nsnet"), "--state-dir", str(tmp_path / "state"), "--store",
              "etcd://127.0.0.1:9", "overlay", "ls"], cwd=work, env=env)
    assert r.returncode == 8, r.stdout + r.stderr
    assert r.stderr.count("\n") == 1 and "nsnet[overlay]" in r.stderr, r.stderr
