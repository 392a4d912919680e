"""The docs' console comparison (tests/pages/console.py): what it lets through."""

from pages import console


def test_commands_and_their_output():
    block = "$ nsnet up x.yaml\n+ network 'a'\n1 change\n$ nsnet heal\n"
    assert console.commands(block) == [("nsnet up x.yaml", ["+ network 'a'", "1 change"]), ("nsnet heal", [])]


def test_a_line_of_dots_stands_for_any_lines_but_the_rest_must_match():
    assert console.matches(["a", "...", "z"], "a\nb\nc\nz")
    assert console.matches(["a", "...", "z"], "a\nz")
    assert not console.matches(["a", "...", "z"], "a\nb\ny")
    assert not console.matches(["a"], "a\nb")  # output the doc does not show is a difference
    assert console.matches([], "")
    assert not console.matches([], "something")


def test_normalised_parts():
    text = "ip link add nsv17 type veth\nreachability (24 probes in 1.01 s)   \nip netns add hostx-web2"
    assert console.normalise(text, "hostx") == (
        "ip link add nsvN type veth\nreachability (24 probes in T s)\nip netns add web2")


def test_an_exit_code_is_named_in_the_comment():
    assert console.EXIT.search("nsnet exec a -- getent hosts b   # not found (exit 2)").group(1) == "2"
    assert console.EXIT.search("nsnet heal") is None
