"""The command line's output: plain, aligned, verbatim (issue #15: a terminal
library turned `:cd:` in a MAC into an emoji)."""

from nsnet.cli import matrix, output
from nsnet.topology.check import Report

TRICKY = ["02:4c:0f:cd:17:c7", "[bold]x[/bold]", ":thumbs_up:", "a  b", "ünï"]


def test_table_aligned_without_trailing_blanks(capsys):
    output.table([{"name": "web1", "ip": "10.0.0.2", "nets": ["a", "b"]}, {"name": "db", "ip": None, "nets": []}],
                 [("name", "NAME"), ("ip", "IP"), ("nets", "NETWORKS")], "title")
    assert capsys.readouterr().out == ("title\n"
                                       "NAME  IP        NETWORKS\n"
                                       "web1  10.0.0.2  a, b\n"
                                       "db\n")


def test_text_prints_verbatim(capsys):
    output.table([{"v": t} for t in TRICKY], [("v", "VALUE")])
    output.kv({f"k{i}": t for i, t in enumerate(TRICKY)}, "tricky")
    output.commands(TRICKY, "dry run")
    out = capsys.readouterr().out
    for text in TRICKY:
        assert out.count(text) == 3


def test_control_characters_are_shown_not_obeyed(capsys):
    """A newline keeps an error on one line and a table row in one row; a
    terminal escape in kernel text is printed as text, not run."""
    output.error("sandbox name 'web\n' has invalid characters")
    output.warning("a\rb")
    output.table([{"v": "eth\x1b[31m0"}], [("v", "IF")])
    output.kv({"ifname": "x\ty"}, "t")
    out, err = capsys.readouterr()
    assert err == "nsnet: error: sandbox name 'web\\n' has invalid characters\nnsnet: warning: a\\rb\n"
    assert out == "IF\neth\\x1b[31m0\nt\n  ifname       x\\ty\n"


def test_reachability_matrix_as_the_readme_shows(capsys):
    names = ["web1", "web2", "db1"]
    reach = {("web1", "web2"), ("web2", "web1")}
    report = Report(names, {a: {b: (a, b) in reach for b in names if b != a} for a in names}, probes=6, seconds=1.01)
    matrix.show_report(report)
    assert capsys.readouterr().out == ("reachability (6 probes in 1.01 s)\n"
                                       "from \\ to  web1  web2  db1\n"
                                       "web1        -     ✓     ✗\n"
                                       "web2        ✓     -     ✗\n"
                                       "db1         ✗     ✗     -\n"
                                       "2 of 6 directed pairs reachable, 4 isolated\n")


def test_large_matrix_numbers_its_columns(capsys):
    names = [f"s{i}" for i in range(12)]
    report = Report(names, {a: {b: True for b in names if b != a} for a in names}, probes=132, seconds=0.5)
    matrix.show_report(report)
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "from \\ to 123456789012"
    assert lines[2] == "  1 s0    -✓✓✓✓✓✓✓✓✓✓✓"
