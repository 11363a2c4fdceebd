#!/usr/bin/env bash
# A real etcd for development and tests, as a local process on 127.0.0.1.
#   scripts/etcd.sh install   make sure an `etcd` binary exists (Debian's etcd-server when root)
#   scripts/etcd.sh up        start one on a free port; prints ETCD_ENDPOINT=127.0.0.1:<port>
#   scripts/etcd.sh up --members 3
#                             a 3-member cluster on loopback (free ports); prints
#                             ETCD_ENDPOINTS=127.0.0.1:<a>,127.0.0.1:<b>,127.0.0.1:<c>
#   scripts/etcd.sh down      stop what `up` started (the single node and the cluster)
# State lives in .cache/etcd/ (git-ignored); the cluster's in .cache/etcd/cluster/. The
# tests start their own etcd the same way (test/setup/etcd-server.ts, and
# test/setup/etcd-cluster.ts for a cluster) unless OPLOG_TEST_ETCD=host:port points elsewhere.
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

# A cluster of $1 members, m1..mN, each with its own client and peer port and data dir
# under $cluster/; the same flags as the single node, plus the initial cluster.
cluster=$state/cluster

cluster_running() {
  [ -f "$cluster/endpoints" ] || return 1
  local pid
  for pid in "$cluster"/m*.pid; do
    [ -f "$pid" ] && kill -0 "$(cat "$pid")" 2>/dev/null || return 1
  done
}

cluster_up() {
  local members=$1 bin; bin=$(find_etcd)
  [ -n "$bin" ] || { install; bin=$(find_etcd); }
  if cluster_running; then
    [ "$(tr ',' '\n' <"$cluster/endpoints" | wc -l)" = "$members" ] || {
      echo "an etcd cluster of another size is running ($(cat "$cluster/endpoints")); run down first" >&2; exit 1
    }
    echo "ETCD_ENDPOINTS=$(cat "$cluster/endpoints")"; return
  fi
  cluster_down
  rm -rf "$cluster"; mkdir -p "$cluster"
  local i initial="" endpoints=""
  local -a clients peers
  for i in $(seq 1 "$members"); do
    clients[i]=$(free_port); peers[i]=$(free_port)
    initial+="${initial:+,}m$i=http://127.0.0.1:${peers[i]}"
    endpoints+="${endpoints:+,}127.0.0.1:${clients[i]}"
  done
  for i in $(seq 1 "$members"); do
    "$bin" --name "m$i" --data-dir "$cluster/m$i" \
      --listen-client-urls "http://127.0.0.1:${clients[i]}" --advertise-client-urls "http://127.0.0.1:${clients[i]}" \
      --listen-peer-urls "http://127.0.0.1:${peers[i]}" --initial-advertise-peer-urls "http://127.0.0.1:${peers[i]}" \
      --initial-cluster "$initial" --initial-cluster-state new --initial-cluster-token "oplog-dev-$$" \
      --quota-backend-bytes 8589934592 --heartbeat-interval 50 --election-timeout 500 \
      >"$cluster/m$i.log" 2>&1 &
    echo $! >"$cluster/m$i.pid"
  done
  echo "$endpoints" >"$cluster/endpoints"
  # /health is true on a member once the cluster has a leader and the member has applied.
  for _ in $(seq 1 200); do
    local healthy=0
    for i in $(seq 1 "$members"); do
      curl -fs "http://127.0.0.1:${clients[i]}/health" 2>/dev/null | grep -q '"health":"true"' && healthy=$((healthy + 1))
    done
    if [ "$healthy" = "$members" ]; then echo "ETCD_ENDPOINTS=$endpoints"; return; fi
    sleep 0.1
  done
  echo "the etcd cluster did not become healthy; see $cluster/m*.log" >&2
  cluster_down; exit 1
}

cluster_down() {
  local pid
  for pid in "$cluster"/m*.pid; do
    [ -f "$pid" ] || continue
    kill "$(cat "$pid")" 2>/dev/null || true; rm -f "$pid"
  done
  rm -f "$cluster/endpoints"
}

down() {
  if [ -f "$state/pid" ]; then kill "$(cat "$state/pid")" 2>/dev/null || true; rm -f "$state/pid"; fi
  cluster_down
}

usage() { echo "usage: $0 install|up [--members N]|down" >&2; exit 2; }

case "${1:-}" in
  install) install ;;
  up)
    case "${2:-}" in
      "") up ;;
      --members)
        # 1 is the single node (the same output as plain `up`); an even count tolerates no more failures than one fewer.
        case "${3:-}" in
          1) up ;;
          3 | 5 | 7) cluster_up "$3" ;;
          *) echo "--members takes 1, 3, 5 or 7" >&2; exit 2 ;;
        esac ;;
      *) usage ;;
    esac ;;
  down) down ;;
  *) usage ;;
esac
