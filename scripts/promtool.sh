#!/usr/bin/env bash
# promtool, Prometheus' rule checker, for test/docs/dashboard-alerts.test.ts (which
# runs `promtool check rules` and `promtool test rules` on docs/prometheus/).
#   scripts/promtool.sh install   make sure `promtool` is on PATH (Debian's prometheus package when root)
# The tests run it themselves when promtool is missing (test/helpers/ops-docs.ts), and
# fail when it cannot provide one, unless OPLOG_SKIP_PROMTOOL=1 says to go without.
set -euo pipefail
cd "$(dirname "$0")/.."

install() {
  if command -v promtool >/dev/null; then echo "promtool: $(promtool --version 2>&1 | head -1)"; return; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    # Debian packages promtool with the server. Where an init system runs, the package
    # also starts a Prometheus server on :9090; nothing here uses it.
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
    echo "promtool: $(promtool --version 2>&1 | head -1)"
  else
    echo "promtool is not installed. Install it (Debian/Ubuntu: sudo apt-get install prometheus," >&2
    echo "or a release from https://github.com/prometheus/prometheus/releases) or set OPLOG_SKIP_PROMTOOL=1." >&2
    exit 1
  fi
}

case "${1:-}" in
  install) install ;;
  *) echo "usage: $0 install" >&2; exit 2 ;;
esac
