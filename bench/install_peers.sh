#!/bin/bash
# Install the Debian packages the benchmark peers need.  Idempotent: packages
# already installed are skipped and apt is not touched when nothing is missing.
# Installs nothing else and changes no network settings (iperf3's daemon is
# not enabled: debconf is answered "no").
set -eu
PKGS=(
    containernetworking-plugins  # CNI bridge, host-local, portmap  (/usr/lib/cni)
    netavark                     # /usr/lib/podman/netavark
    mininet                      # python3-mininet + mnexec
    bridge-utils                 # brctl, used by Mininet's LinuxBridge
    net-tools                    # ifconfig, used by Mininet
    iptables                     # iptables-nft: portmap and netavark 1.4 call it
    nftables iproute2 iputils-ping
    iperf3 jq socat curl util-linux procps
)
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install_peers: all ${#PKGS[@]} packages present"
    exit 0
fi
echo "install_peers: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
echo 'iperf3 iperf3/start_daemon boolean false' | debconf-set-selections 2>/dev/null || true
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
