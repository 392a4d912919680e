#!/usr/bin/env bash
# The demo: the seed tutorials (red/blue cable, a bridge with the host as
# gateway, the devops/db multi-network sandbox) built with nsnet inside a
# throwaway host namespace, with the commands shown, pings, and a full teardown.
set -euo pipefail
cd "$(dirname "$0")/.."
HOST="nsdemo$$"
STATE=$(mktemp -d /tmp/nsdemo-state.XXXXXX)
export NSNET_HOST_NETNS=$HOST NSNET_STATE_DIR=$STATE
nsnet() { .venv/bin/nsnet "$@"; }
cleanup() {
  for ns in $(ls /run/netns 2>/dev/null | grep "^$HOST-" || true); do ip netns del "$ns" 2>/dev/null || true; done
  ip netns del "$HOST" 2>/dev/null || true
  rm -rf "/etc/netns/$HOST" /etc/netns/"$HOST"-*
  rm -rf "$STATE"
}
trap cleanup EXIT INT TERM
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '\033[2m$ nsnet %s\033[0m\n' "$*"; nsnet "$@"; }

ip netns add "$HOST" && ip -n "$HOST" link set lo up
# The demo host's resolvers, as nsnet's DNS server sees them: none (no forwarding out).
mkdir -p "/etc/netns/$HOST" && echo "# nsnet demo host: no upstream resolvers" > "/etc/netns/$HOST/resolv.conf"
say "A throwaway host namespace '$HOST' plays the host; the machine's own network is untouched"

say "1. red and blue joined by a veth cable (no bridge)"
run sandbox create red
run sandbox create blue
run link add red blue --subnet 192.168.15.0/24 --ifname-a veth-red --ifname-b veth-blue
run exec red -- ping -c 2 -i 0.2 192.168.15.2

say "2. a bridge (the seeds' v-net-0) with the host as gateway 192.168.15.5"
run link rm red blue
run network create v-net-0 --bridge v-net-0 --subnet 192.168.15.0/24 --gateway 192.168.15.5 --dry-run
run network create v-net-0 --bridge v-net-0 --subnet 192.168.15.0/24 --gateway 192.168.15.5
run network connect v-net-0 red
run network connect v-net-0 blue
run exec red -- ping -c 2 -i 0.2 192.168.15.2
run exec blue -- ping -c 1 192.168.15.5

say "3. devops and db networks, with 'ns' on both as ceth0/ceth1"
run network create devops --subnet 192.168.1.0/24
run network create db --subnet 192.168.2.0/24
run sandbox create web1 --network devops
run sandbox create db1 --network db
run sandbox create ns
run network connect devops ns --ifname ceth0
run network connect db ns --ifname ceth1
run sandbox ls
run sandbox inspect ns
run exec ns -- ping -c 1 192.168.1.2
run exec ns -- ping -c 1 192.168.2.2

say "What nsnet did, as ip commands (nsnet explain ns)"
run explain ns

say "Teardown"
run sandbox rm red blue web1 db1 ns
run network rm v-net-0 devops db
run network ls
left=$(ls /run/netns | grep -c "^$HOST-" || true)
echo "sandbox namespaces left: $left"
