"""A real podman (Debian's, CNI backend, runc) whose only CNI plugin is nsnet's,
run inside a test's host namespace. All of podman's state lives in a temp dir
of the test: containers.conf, storage.conf (vfs graphroot and runroot), the CNI
config dir, the plugin dir, file locks and events. The image is busybox-static
imported from a tar (there is no registry here).

podman runs under `nsenter --net` rather than `ip netns exec`: the latter
mounts a fresh /sys, which hides the cgroup mounts runc needs."""

import json
import os
import shutil
import subprocess
import tempfile

from nsnet.cni.client import stop_server

from .cni_env import PLUGIN

IMAGE = "localhost/nsnet-busybox"
TOOLS = ("sh", "ip", "ping", "nc", "sleep", "cat", "hostname", "httpd", "true")

CONTAINERS_CONF = """\
[containers]
log_driver = "k8s-file"
# No CAP_SYS_RESOURCE on some machines (this one): limits no higher than the host's.
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[network]
network_backend = "cni"
cni_plugin_dirs = ["{d}/plugins"]
network_config_dir = "{d}/net.d"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{d}/events.log"
lock_type = "file"
runtime = "runc"
tmp_dir = "{d}/tmp"
static_dir = "{d}/storage/libpod"
volume_path = "{d}/storage/volumes"
"""

STORAGE_CONF = """\
[storage]
driver = "vfs"
graphroot = "{d}/storage"
runroot = "{d}/run"
"""


class PodmanError(AssertionError):
    pass


class Podman:
    def __init__(self, host):
        self.host = host
        self.dir = tempfile.mkdtemp(prefix=f"{host.name}-podman-")
        for sub in ("plugins", "net.d", "tmp", "rootfs/bin"):
            os.makedirs(os.path.join(self.dir, sub))
        os.symlink(PLUGIN, os.path.join(self.dir, "plugins", "nsnet"))
        for name, text in (("containers.conf", CONTAINERS_CONF), ("storage.conf", STORAGE_CONF)):
            with open(os.path.join(self.dir, name), "w") as f:
                f.write(text.format(d=self.dir))
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("NSNET_", "CNI_"))} | {
            "CONTAINERS_CONF": os.path.join(self.dir, "containers.conf"),
            "CONTAINERS_STORAGE_CONF": os.path.join(self.dir, "storage.conf")}
        self._import_image()

    def _import_image(self) -> None:
        busybox = shutil.which("busybox")
        if busybox is None or not _static(busybox):
            raise PodmanError("a static busybox is needed for the container image (Debian: busybox-static)")
        rootfs = os.path.join(self.dir, "rootfs")
        shutil.copy(busybox, os.path.join(rootfs, "bin", "busybox"))
        for tool in TOOLS:
            os.symlink("busybox", os.path.join(rootfs, "bin", tool))
        for sub in ("etc", "proc", "sys", "dev", "tmp", "run", "www"):
            os.makedirs(os.path.join(rootfs, sub), exist_ok=True)
        with open(os.path.join(rootfs, "www", "index.html"), "w") as f:
            f.write("hello from podman\n")
        tar = subprocess.run(["tar", "-C", rootfs, "-c", "."], capture_output=True, check=True).stdout
        self.run("import", "-", IMAGE, input=tar)

    def network(self, name: str, **nsnet) -> str:
        """A CNI config list for network `name`, nsnet its only plugin."""
        conf = {"cniVersion": "1.0.0", "name": name, "plugins": [
            {"type": "nsnet", "stateDir": self.host.state_dir, **nsnet,
             "capabilities": {"portMappings": True, "ips": True, "mac": True, "aliases": True}}]}
        path = os.path.join(self.dir, "net.d", f"{name}.conflist")
        with open(path, "w") as f:
            json.dump(conf, f)
        return path

    def run(self, *args, check=True, input: bytes | None = None, timeout=120) -> subprocess.CompletedProcess:
        """podman ARGS in the host namespace; a failure raises with podman's own reason."""
        r = subprocess.run(["nsenter", f"--net=/run/netns/{self.host.name}", "podman", *args], env=self.env,
                           input=input, capture_output=True, timeout=timeout)
        r.stdout, r.stderr = r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")
        if check and r.returncode != 0:
            raise PodmanError(f"podman {' '.join(args)} failed ({r.returncode}): {r.stderr.strip()}")
        return r

    def inspect(self, name: str) -> dict:
        return json.loads(self.run("container", "inspect", name).stdout)[0]

    def netns(self, name: str) -> str:
        return self.inspect(name)["NetworkSettings"]["SandboxKey"]

    def destroy(self) -> None:
        try:
            self.run("rm", "--all", "--force", "--time", "0", check=False, timeout=60)
        finally:
            stop_server(self.host.state_dir)  # the plugin's warm server (cni/client.py)
            shutil.rmtree(self.dir, ignore_errors=True)


def _static(path: str) -> bool:
    """No program interpreter named in the first bytes of the ELF file: statically linked."""
    with open(path, "rb") as f:
        return b"ld-linux" not in f.read(4096)
