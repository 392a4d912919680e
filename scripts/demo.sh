#!/usr/bin/env bash
# The demo: inside a throwaway host namespace, bring up the seeds' devops/db
# lab from examples/devops-db.yaml, show the plan as ip/nft commands, prove
# connectivity and isolation with a matrix, resolve names, publish a port,
# draw the picture, and tear everything down leaving nothing behind.
set -euo pipefail
cd "$(dirname "$0")/.."
HOST="nsdemo$$"
STATE=$(mktemp -d /tmp/nsdemo-state.XXXXXX)
OUT=${NSNET_DEMO_OUT:-out}
export NSNET_HOST_NETNS=$HOST NSNET_STATE_DIR=$STATE
nsnet() { .venv/bin/nsnet "$@"; }
cleanup() {
  for ns in $(ls /run/netns 2>/dev/null | grep "^$HOST-" || true); do ip netns del "$ns" 2>/dev/null || true; done
  [ -f "$STATE/dns/server.pid" ] && kill "$(cat "$STATE/dns/server.pid")" 2>/dev/null || true
  [ -f "$STATE/cli/server.pid" ] && kill "$(cat "$STATE/cli/server.pid")" 2>/dev/null || true
  ip netns del "$HOST" 2>/dev/null || true
  rm -rf "$STATE" "/etc/netns/$HOST" /etc/netns/"$HOST"-*
}
trap cleanup EXIT INT TERM
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '\033[2m$ nsnet %s\033[0m\n' "$*"; nsnet "$@"; }

ip netns add "$HOST" && ip -n "$HOST" link set lo up
# The demo host's resolvers, as nsnet's DNS server sees them: none (no forwarding out).
mkdir -p "/etc/netns/$HOST" && echo "# nsnet demo host: no upstream resolvers" > "/etc/netns/$HOST/resolv.conf"
say "A throwaway host namespace '$HOST' plays the host; the machine's own network is untouched"
cat examples/devops-db.yaml

say "1. The plan, as the ip/nft commands it stands for (nothing changes yet)"
mkdir -p "$OUT"
nsnet up examples/devops-db.yaml --dry-run > "$OUT/devops-db.plan.txt"
printf '\033[2m$ nsnet up examples/devops-db.yaml --dry-run   # (first 30 of %s lines)\033[0m\n' \
  "$(wc -l < "$OUT/devops-db.plan.txt")"
head -30 "$OUT/devops-db.plan.txt"

say "2. Bring it up; a second up changes nothing"
run up examples/devops-db.yaml
run up examples/devops-db.yaml
run sandbox ls

say "3. Connectivity matrix: who reaches whom (and the isolation it proves)"
run check examples/devops-db.yaml

say "4. Names resolve inside a network (not across networks)"
sleep 0.2
run exec web1 -- getent hosts web2
run exec ns -- getent hosts db1
printf '\033[2m$ nsnet exec web1 -- getent hosts db1   # another network\033[0m\n'
nsnet exec web1 -- getent hosts db1 || echo "(not found, as expected: exit $?)"

say "5. Publish a port of web1 and reach it from the host"
run publish web1 8080:80
nsnet exec web1 -- python3 -c "import socket;s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(('',80));s.listen();s.settimeout(5);c,a=s.accept();c.sendall(b'hello from web1 to '+a[0].encode()+b'\n')" &
sleep 0.5
ip netns exec "$HOST" python3 -c "import socket;print(socket.create_connection(('127.0.0.1',8080),3).recv(100).decode().strip())"
wait
run port

say "6. The picture"
run graph examples/devops-db.yaml -o "$OUT/devops-db.svg"
run graph examples/devops-db.yaml -o "$OUT/devops-db.png"

say "7. Drift is seen and repaired: delete web1's veth behind nsnet's back"
ip -n "$HOST-web1" link del eth0
run status examples/devops-db.yaml || true
run up examples/devops-db.yaml

say "8. Teardown"
run down examples/devops-db.yaml
run down examples/devops-db.yaml
left=$(ls /run/netns | grep -c "^$HOST-" || true)
echo "sandbox namespaces left: $left; nft tables left in the host: $(ip netns exec "$HOST" nft list tables | wc -l)"
