"""Validation of `nsnet run` input (no root needed)."""

import os
import stat

import pytest

from nsnet.errors import InvalidInput, NotFound
from nsnet.run import spec
from nsnet.run.errors import StartError


def test_env_specs():
    assert spec.parse_env(["A=1", "B=", "C=x=y", "_D9=ok"]) == {"A": "1", "B": "", "C": "x=y", "_D9": "ok"}
    assert spec.parse_env({"K": "v"}) == {"K": "v"}
    assert spec.parse_env(None) == {}


@pytest.mark.parametrize("bad", ["FOO", "=1", "1A=x", "A-B=1", "A B=1", "A=\0"])
def test_bad_env_specs(bad):
    with pytest.raises(InvalidInput) as exc:
        spec.parse_env([bad])
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize("text,size", [("1", 1), ("512k", 512 * 1024), ("10M", 10 * 1024**2), ("1g", 1024**3),
                                       ("2KiB", 2048), (" 3 mb ", 3 * 1024**2), (4096, 4096)])
def test_sizes(text, size):
    assert spec.parse_size(text) == size


@pytest.mark.parametrize("bad", ["", "10X", "-1", "0", "1.5M", 0, "k"])
def test_bad_sizes(bad):
    with pytest.raises(InvalidInput):
        spec.parse_size(bad)


def test_log_files_and_argv():
    assert spec.check_log_files(3) == 3
    for bad in (0, 101, "3"):
        with pytest.raises(InvalidInput):
            spec.check_log_files(bad)
    assert spec.check_argv(("echo", 1)) == ["echo", "1"]
    for bad in ([], [""], None, ["a\0b"]):
        with pytest.raises(InvalidInput):
            spec.check_argv(bad)


def test_workdir(tmp_path):
    assert spec.check_workdir(None) is None
    assert spec.check_workdir(str(tmp_path)) == str(tmp_path)
    with pytest.raises(InvalidInput):
        spec.check_workdir("relative/dir")
    with pytest.raises(NotFound):
        spec.check_workdir(str(tmp_path / "missing"))


def test_resolve_command(tmp_path):
    env = {"PATH": str(tmp_path)}
    tool = tmp_path / "tool"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    assert spec.resolve_command("tool", env, None) == str(tool)
    assert spec.resolve_command(str(tool), {}, None) == str(tool)
    assert spec.resolve_command("./tool", {}, str(tmp_path)) == os.path.join(str(tmp_path), "./tool")
    with pytest.raises(StartError) as exc:
        spec.resolve_command("no-such-tool-xyz", env, None)
    assert exc.value.exit_code == 127
    plain = tmp_path / "plain"
    plain.write_text("data")
    with pytest.raises(StartError) as exc:
        spec.resolve_command(str(plain), {}, None)
    assert exc.value.exit_code == 126  # no x bit: not even root may execute it
    with pytest.raises(StartError) as exc:
        spec.resolve_command(str(tmp_path), {}, None)
    assert exc.value.exit_code == 126


def test_which_finds_what_shutil_which_finds(tmp_path):
    import os
    import shutil

    from nsnet.run.spec import which

    a, b, c = (tmp_path / "a", tmp_path / "b", tmp_path / "c")
    for d in (a, b, c):
        d.mkdir()
    (a / "tool").write_text("#!/bin/sh\n")  # not executable
    (b / "tool").write_text("#!/bin/sh\n")
    (b / "tool").chmod(0o755)
    (c / "tool").mkdir()  # a directory
    (c / "only").write_text("")
    (c / "only").chmod(0o755)
    for path in [f"{a}:{b}", f"{c}:{a}:{b}", f"{a}", "", ":", f"{a}::{a}:{c}", f"{c}", os.defpath]:
        for cmd in ("tool", "only", "sh", "missing", ""):
            assert which(cmd, path) == shutil.which(cmd, path=path), (cmd, path)
