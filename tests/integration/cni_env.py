"""Driving nsnet-cni as runtimes do, inside a test's host namespace.

- `Cni.libcni(...)`: through libcni itself (tests/tools/libcni-client, built by
  scripts/setup.sh from Debian's libcni): config lists loaded and validated by
  libcni, runtimeConfig filtered by the plugin's capabilities, prevResult
  chained from plugin to plugin, results cached and converted per cniVersion.
- `Cni.call(...)`: one raw plugin call (CNI_* environment, config on stdin), for
  what libcni 1.1 does not send (STATUS, GC: spec 1.1) and for malformed input.

The reference plugins (/usr/lib/cni) sit beside nsnet in the plugin directory,
so nsnet can be chained with them."""

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

from nsnet.cni.client import stop_server

BIN = os.path.dirname(sys.executable)
PLUGIN = os.path.join(BIN, "nsnet-cni")
CLIENT = os.path.join(BIN, "libcni-client")
REFERENCE = "/usr/lib/cni"


class Cni:
    def __init__(self, host):
        self.host = host
        self.dir = tempfile.mkdtemp(prefix=f"{host.name}-cni-")
        self.plugins = os.path.join(self.dir, "plugins")
        self.cache = os.path.join(self.dir, "cache")
        os.makedirs(self.plugins)
        os.symlink(PLUGIN, os.path.join(self.plugins, "nsnet"))
        assert os.access(CLIENT, os.X_OK), f"{CLIENT} is missing: run `make setup` (it builds it with Go)"

    def destroy(self) -> None:
        stop_server(self.host.state_dir)  # the plugin's warm server (cni/client.py)
        shutil.rmtree(self.dir, ignore_errors=True)

    def conf(self, name="cninet", version="1.0.0", chain=(), **nsnet) -> dict:
        """A config list: nsnet with `nsnet` settings, then the `chain` plugins."""
        first = {"type": "nsnet", "subnet": "10.88.0.0/24", "stateDir": self.host.state_dir,
                 "capabilities": {"portMappings": True, "ips": True, "mac": True, "aliases": True}, **nsnet}
        return {"cniVersion": version, "name": name, "plugins": [first, *chain]}

    def write(self, conf: dict | str, name="net.conflist") -> str:
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(conf if isinstance(conf, str) else json.dumps(conf))
        return path

    def _run(self, argv, env=None, stdin=None):
        """argv in the host namespace, with none of the test process's NSNET_*/CNI_* settings."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NSNET_", "CNI_"))} | (env or {})
        r = subprocess.run(["nsenter", f"--net=/run/netns/{self.host.name}", *argv], input=stdin, env=env,
                           capture_output=True, text=True, timeout=60)
        assert "Traceback" not in r.stderr, r.stderr
        out = json.loads(r.stdout) if r.stdout.strip() else None
        return r.returncode, out

    def libcni(self, command, conf, netns="", container="ctr0", ifname="eth0", args="", cap=None):
        """libcni's AddNetworkList / CheckNetworkList / DelNetworkList / GetNetworkListCachedResult /
        ValidateNetworkList, or 'load' (ConfListFromBytes). Returns (exit code, JSON printed)."""
        path = conf if isinstance(conf, str) else self.write(conf)
        argv = [CLIENT, "-path", f"{self.plugins}:{REFERENCE}", "-cache", self.cache, "-netns", netns,
                "-id", container, "-ifname", ifname, "-args", args]
        if cap is not None:
            argv += ["-cap", json.dumps(cap)]
        return self._run([*argv, command, path])

    def call(self, command, conf=None, container="ctr0", netns="", ifname="eth0", args="", raw=None, env=None):
        """One raw plugin call, as the spec describes it."""
        cni_env = {"CNI_COMMAND": command, "CNI_CONTAINERID": container, "CNI_NETNS": netns,
                   "CNI_IFNAME": ifname, "CNI_ARGS": args, "CNI_PATH": self.plugins}
        stdin = raw if raw is not None else json.dumps(conf or {})
        return self._run([PLUGIN], env=cni_env | (env or {}), stdin=stdin)


def single(conf_list: dict, **extra) -> dict:
    """The config a runtime sends nsnet for the list's first plugin (name and version injected)."""
    return {"cniVersion": conf_list["cniVersion"], "name": conf_list["name"], **conf_list["plugins"][0], **extra}


@contextlib.contextmanager
def container_namespaces(host, count: int, lo_up: bool = False):
    """`count` namespaces a runtime made for its containers (HOSTc0, c1, ...), as
    paths; removed afterwards."""
    names = [f"{host.name}c{i}" for i in range(count)]
    for name in names:
        subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
        if lo_up:
            subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True, capture_output=True)
    try:
        yield [f"/run/netns/{name}" for name in names]
    finally:
        for name in names:
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
