"""The DNS server's command line (read by hand, no argparse): what it takes
and the one line it gives for what it does not."""

import pytest

from nsnet.dns.__main__ import UsageError, main, parse


def test_options_take_values_either_way():
    assert parse(["--state-dir", "/s", "--lock-fd=3", "--control-fd", "4", "--host-netns=h"]) == {
        "--state-dir": "/s", "--lock-fd": "3", "--control-fd": "4", "--host-netns": "h"}


@pytest.mark.parametrize("argv, words", [
    ([], "one of --config or --state-dir"),
    (["--config", "a", "--state-dir", "b"], "one of --config or --state-dir"),
    (["--config"], "--config needs a value"),
    (["--config", "a", "--lock-fd", "x"], "--lock-fd takes a number"),
    (["--config", "a", "--log-level", "loud"], "--log-level: one of"),
    (["--config", "a", "-v"], "unknown option '-v'"),
])
def test_bad_arguments_are_refused_with_one_line(argv, words, capsys):
    with pytest.raises(UsageError, match=words):
        parse(argv)
    assert main(argv) == 2
    assert words in capsys.readouterr().err


def test_a_missing_config_file_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["--config", str(tmp_path / "nope.json")]) == 2
    assert "cannot read DNS config" in capsys.readouterr().err


def test_the_server_starts_without_dnslib_logging_argparse_or_json():
    """Start-up is part of the product: a server that nobody asks never loads
    dnslib, and logging, argparse and json (with re: ~5 ms) are not loaded at all
    (dns/log.py, __main__, config.py reads its file with state/jsonread.py)."""
    import subprocess
    import sys

    code = ("import sys, nsnet.dns.__main__, nsnet.dns.source, nsnet.dns.server; "
            "print(sorted(m for m in ('dnslib', 'logging', 'argparse', 'json', 're') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
