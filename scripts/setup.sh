#!/usr/bin/env bash
# Set up everything nsnet needs on a fresh Debian machine: system packages and a
# virtualenv (.venv) with nsnet installed in it. Idempotent.
#   scripts/setup.sh           nsnet (with the overlay extra) and its test tools
#   scripts/setup.sh bench     also the bench's extras (matplotlib for the report's plots)
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pair in ip:iproute2 nft:nftables ping:iputils-ping setpriv:util-linux nsenter:util-linux \
            sysctl:procps dot:graphviz etcd:etcd-server etcdctl:etcd-client socat:socat \
            wg:wireguard-tools wireguard-go:wireguard-go; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

# The CNI tests' container runtime and reference client: podman (CNI backend, runc)
# runs busybox-static containers; libcni (Go source) builds tests/tools/libcni-client;
# the reference CNI plugins are chained with nsnet's and are its bench peers.
cni=(podman runc conmon containernetworking-plugins busybox-static golang-go golang-github-appc-cni-dev)
missing=()
for pkg in "${cni[@]}"; do
  dpkg-query -W -f '${db:Status-Abbrev}' "$pkg" 2>/dev/null | grep -q '^ii' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
extras=test,overlay${1:+,$1}
.venv/bin/pip install -q --disable-pip-version-check -e ".[$extras]"
# Bytecode once, here: every later command starts from it, also where writing
# it at run time is off (PYTHONDONTWRITEBYTECODE, a read-only checkout).
.venv/bin/python -m compileall -q -j 0 src/nsnet
client=.venv/bin/libcni-client
if [ ! -x "$client" ] || [ tests/tools/libcni-client/main.go -nt "$client" ]; then
  gocache=$(mktemp -d)
  (cd tests/tools/libcni-client && GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$gocache" \
     go build -o "../../../$client" .)
  rm -rf "$gocache"
fi
echo "setup: ok ($(.venv/bin/nsnet --version))"
