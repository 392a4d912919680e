"""The 'outside world' for NAT and port tests: a throwaway namespace joined
to the test's host namespace by a veth pair (host 10.77.0.1, outside 10.77.0.2)."""

import subprocess

from .helpers import sh

HOST_IP, OUTSIDE_IP = "10.77.0.1", "10.77.0.2"


class Outside:
    def __init__(self, host):
        self.name = host.name + "o"
        sh("ip", "netns", "add", self.name)
        sh("ip", "-n", self.name, "link", "set", "lo", "up")
        sh("ip", "-n", host.name, "link", "add", "ntlan", "type", "veth", "peer", "name", "eth0",
           "netns", self.name)
        sh("ip", "-n", host.name, "addr", "add", f"{HOST_IP}/24", "dev", "ntlan")
        sh("ip", "-n", host.name, "link", "set", "ntlan", "up")
        sh("ip", "-n", self.name, "addr", "add", f"{OUTSIDE_IP}/24", "dev", "eth0")
        sh("ip", "-n", self.name, "link", "set", "eth0", "up")

    def destroy(self):
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)
