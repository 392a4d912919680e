"""A throwaway host namespace for nsnet benches: lo up, and no upstream
resolvers for nsnet's DNS server (it must never forward out of the bench)."""

import os
import shutil
import subprocess


def make_host(name: str) -> None:
    subprocess.run(["ip", "netns", "add", name], check=True)
    subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
    os.makedirs(f"/etc/netns/{name}", exist_ok=True)
    with open(f"/etc/netns/{name}/resolv.conf", "w") as f:
        f.write("# nsnet bench host: no upstream resolvers\n")


def remove_host_files(name: str) -> None:
    """/etc/netns entries of the host and of its sandboxes (NAME-*)."""
    base = "/etc/netns"
    for entry in os.listdir(base) if os.path.isdir(base) else []:
        if entry == name or entry.startswith(name + "-"):
            shutil.rmtree(os.path.join(base, entry), ignore_errors=True)
