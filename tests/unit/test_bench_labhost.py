"""The benches' clean-up of /etc/netns: nsnet's entries there are symbolic
links (to one shared directory), which shutil.rmtree refuses: a DNS bench of
1,000 names left 1,000 of them behind each run."""

import importlib.util
import os
from pathlib import Path

spec = importlib.util.spec_from_file_location("labhost", Path(__file__).parents[2] / "bench" / "labhost.py")
labhost = importlib.util.module_from_spec(spec)
spec.loader.exec_module(labhost)


def test_links_and_directories_of_the_host_go_and_nothing_else(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "resolv.conf").write_text("x")
    base = tmp_path / "netns"
    base.mkdir()
    (base / "nbh").mkdir()  # the host's own entry: a directory
    (base / "nbh" / "resolv.conf").write_text("y")
    for name in ("nbh-s0", "nbh-s1", "other-s0"):
        os.symlink(shared, base / name)  # the sandboxes' entries: links
    labhost.remove_files("nbh", "nbh-", base=str(base))
    assert sorted(os.listdir(base)) == ["other-s0"]
    assert (shared / "resolv.conf").read_text() == "x"  # a link's target is not followed
