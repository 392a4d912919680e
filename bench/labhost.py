"""A throwaway host namespace for nsnet benches: lo up, and no upstream
resolvers for nsnet's DNS server (it must never forward out of the bench)."""

import os
import subprocess

from nsnet.testing import remove_etc  # nsnet's entries are links, which rmtree refuses


def make_host(name: str) -> None:
    subprocess.run(["ip", "netns", "add", name], check=True)
    subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
    no_upstream(name)


def no_upstream(name: str) -> None:
    """An empty /etc/netns/NAME/resolv.conf: an nsnet DNS server whose host is
    NAME finds no upstream resolver, so it never forwards out of the bench."""
    os.makedirs(f"/etc/netns/{name}", exist_ok=True)
    with open(f"/etc/netns/{name}/resolv.conf", "w") as f:
        f.write("# nsnet bench host: no upstream resolvers\n")


def remove_host_files(name: str) -> None:
    """/etc/netns entries of the host and of its sandboxes (NAME-*)."""
    remove_files(name, name + "-")


def remove_files(name: str, prefix: str, base: str = "/etc/netns") -> None:
    """Entries of `base` named `name` or starting with `prefix`."""
    for entry in os.listdir(base) if os.path.isdir(base) else []:
        if entry == name or (prefix and entry.startswith(prefix)):
            remove_etc(os.path.join(base, entry))
