#!/usr/bin/env bash
# A real etcd for development and tests, as a local process on 127.0.0.1.
#   scripts/etcd.sh install   make sure an `etcd` binary exists (Debian's etcd-server when root)
#   scripts/etcd.sh up        start one on a free port; prints ETCD_ENDPOINT=127.0.0.1:<port>
#   scripts/etcd.sh down      stop the one `up` started
# State lives in .cache/etcd/ (git-ignored). The tests start their own etcd the same
# way (test/setup/etcd-server.ts) unless OPLOG_TEST_ETCD=host:port points elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
state=.cache/etcd
mkdir -p "$state"

find_etcd() {
  command -v etcd 2>/dev/null || { [ -x /usr/bin/etcd ] && echo /usr/bin/etcd; } || true
}

install() {
  if [ -n "$(find_etcd)" ]; then echo "etcd: $("$(find_etcd)" --version | head -1)"; return; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >/dev/null
    # Debian's package may start a system etcd on 2379; ours use their own ports.
    echo "etcd: $(/usr/bin/etcd --version | head -1)"
  else
    echo "etcd is not installed. Install it (Debian/Ubuntu: sudo apt-get install etcd-server," >&2
    echo "or a release from https://github.com/etcd-io/etcd/releases) or set OPLOG_TEST_ETCD=host:port." >&2
    exit 1
  fi
}

free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

up() {
  local bin; bin=$(find_etcd)
  [ -n "$bin" ] || { install; bin=$(find_etcd); }
  if [ -f "$state/pid" ] && kill -0 "$(cat "$state/pid")" 2>/dev/null; then
    echo "ETCD_ENDPOINT=$(cat "$state/endpoint")"; return
  fi
  local client peer; client=$(free_port); peer=$(free_port)
  rm -rf "$state/data"
  "$bin" --name oplog-dev --data-dir "$state/data" \
    --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
    --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
    --initial-cluster "oplog-dev=http://127.0.0.1:$peer" --quota-backend-bytes 8589934592 \
    --heartbeat-interval 50 --election-timeout 500 \
    >"$state/etcd.log" 2>&1 &
  echo $! >"$state/pid"
  echo "127.0.0.1:$client" >"$state/endpoint"
  for _ in $(seq 1 100); do
    if curl -fs "http://127.0.0.1:$client/health" 2>/dev/null | grep -q '"health":"true"'; then
      echo "ETCD_ENDPOINT=127.0.0.1:$client"; return
    fi
    sleep 0.1
  done
  echo "etcd did not become healthy; see $state/etcd.log" >&2
  down; exit 1
}

down() {
  if [ -f "$state/pid" ]; then kill "$(cat "$state/pid")" 2>/dev/null || true; rm -f "$state/pid"; fi
}

case "${1:-}" in
  install) install ;;
  up) up ;;
  down) down ;;
  *) echo "usage: $0 install|up|down" >&2; exit 2 ;;
esac
