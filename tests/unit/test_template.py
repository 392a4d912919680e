"""Templated netlink requests encode to exactly what pyroute2 would encode."""

from nsnet.kernel import requests as rtnl
from nsnet.kernel.channel import Channel
from nsnet.kernel.template import Field, Templates


def _encode(msg):
    return Channel._encode(msg, 16, 0x405)


def test_veth_requests_match_pyroute2_for_every_value():
    t = Templates()
    for ifname, peer, fd, master in [("nsv12", "eth0", 7, 3), ("nsv99", "eth1", 900, 12),
                                     ("nsv1234", "ceth0", 2**31 - 1, 1)]:
        fields = [Field("str", ifname), Field("str", peer), Field("u32", fd), Field("u32", master)]
        got = t.encode("veth", lambda *v: rtnl.veth_msg(*v, mtu=1400), fields, _encode)
        assert got == _encode(rtnl.veth_msg(ifname, peer, fd, master, mtu=1400))


def test_address_and_lookup_requests_match():
    t = Templates()
    for index, ip, brd in [(2, "10.1.2.3", "10.1.255.255"), (3000, "192.168.15.254", "192.168.15.255")]:
        fields = [Field("u32", index), Field("ip4", ip), Field("ip4", ip), Field("ip4", brd)]
        got = t.encode("addr", lambda *v: rtnl.addr4_msg(*v, prefixlen=16), fields, _encode)
        assert got == _encode(rtnl.addr4_msg(index, ip, ip, brd, prefixlen=16))
    for name in ("eth0", "x", "a-very-long-nm"):
        assert t.encode("get", rtnl.getlink_msg, [Field("str", name)], _encode) == _encode(rtnl.getlink_msg(name))


def test_ambiguous_placeholder_falls_back_to_full_encoding():
    """Two fields with the same placeholder bytes cannot be told apart: encode for real."""
    t = Templates()
    built = []

    def build(a, b):
        built.append((a, b))
        return rtnl.addr4_msg(2, a, b, "10.0.0.255", prefixlen=24)

    fields = [Field("ip4", "10.0.0.1"), Field("ip4", "10.0.0.2")]
    t._make = lambda build, fields, encode_msg: (b"", None)  # as if the placeholders collided
    assert t.encode("k", build, fields, _encode) == _encode(rtnl.addr4_msg(2, "10.0.0.1", "10.0.0.2",
                                                                             "10.0.0.255", 24))
    assert built[-1] == ("10.0.0.1", "10.0.0.2")


def test_saved_templates_serve_a_new_process_without_building(tmp_path):
    """What one process encoded, the next one (a new Templates on the same file)
    sends as is: byte-identical, and the builder is never called."""
    path = str(tmp_path / "netlink-templates")
    first = Templates(path)
    fields = [Field("str", "nsv12"), Field("str", "eth0"), Field("u32", 7), Field("u32", 3)]
    want = first.encode("veth", lambda *v: rtnl.veth_msg(*v, mtu=1400), fields, _encode)
    first.save()

    def must_not_build(*values):
        raise AssertionError("built again although a saved template exists")

    second = Templates(path)
    assert second.encode("veth", must_not_build, fields, _encode) == want
    other = [Field("str", "nsv99"), Field("str", "eth1"), Field("u32", 900), Field("u32", 12)]
    assert second.encode("veth", must_not_build, other, _encode) == _encode(rtnl.veth_msg("nsv99", "eth1", 900, 12,
                                                                                          mtu=1400))


def test_save_writes_only_when_something_new_was_made(tmp_path):
    path = tmp_path / "netlink-templates"
    t = Templates(str(path))
    t.save()
    assert not path.exists()
    t.encode("get", rtnl.getlink_msg, [Field("str", "eth0")], _encode)
    t.save()
    stamp = path.stat().st_mtime_ns
    reloaded = Templates(str(path))
    reloaded.encode("get", rtnl.getlink_msg, [Field("str", "eth1")], _encode)  # same shape: served
    reloaded.save()
    assert path.stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == ["netlink-templates"]  # no temporary file left


def test_unreadable_or_foreign_template_files_are_ignored(tmp_path):
    import marshal

    path = tmp_path / "netlink-templates"
    for content in (b"", b"garbage", marshal.dumps(((Templates.FORMAT + 1,), {})), marshal.dumps([1, 2, 3])):
        path.write_bytes(content)
        t = Templates(str(path))
        got = t.encode("get", rtnl.getlink_msg, [Field("str", "eth0")], _encode)
        assert got == _encode(rtnl.getlink_msg("eth0"))


def test_constants_match_pyroute2():
    from nsnet.kernel import _pyroute2, nlconst

    names = [n for n in dir(nlconst) if n.isupper()]
    assert len(names) >= 20
    for name in names:
        assert getattr(nlconst, name) == getattr(_pyroute2, name), name


def test_kernel_module_imports_no_pyroute2():
    """The engine and the kernel executor load without pyroute2 (CLI start-up)."""
    import subprocess
    import sys

    code = "import sys, nsnet.engine, nsnet.kernel.rtnl; print(sorted(m for m in sys.modules if 'pyroute2' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_templates_saved_by_other_builders_are_not_used(tmp_path):
    path = str(tmp_path / "netlink-templates")
    old = Templates(path, stamp=(1234, 1))
    old.encode("get", rtnl.addrgen_none_msg, [Field("str", "eth0")], _encode)  # the old code's "get"
    old.save()
    assert Templates(path, stamp=(1234, 1)).encode("get", rtnl.getlink_msg, [Field("str", "eth0")], _encode) \
        == _encode(rtnl.addrgen_none_msg("eth0"))  # same code: served from the file
    new = Templates(path, stamp=(1234, 2))
    assert new.encode("get", rtnl.getlink_msg, [Field("str", "eth0")], _encode) == _encode(rtnl.getlink_msg("eth0"))
