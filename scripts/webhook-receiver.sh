#!/usr/bin/env bash
# The webhook receiver the tests and the local stack use: node with the official Standard
# Webhooks library from the npm registry (webhook-receiver/package.json, pinned by its
# package-lock.json), listening on 127.0.0.1.
#   scripts/webhook-receiver.sh install                installs webhook-receiver/node_modules
#   scripts/webhook-receiver.sh serve [PORT] [--print] installs if needed, then runs it
# Needs Node.js ≥ 18 and npm (Debian: apt-get install nodejs npm).
set -euo pipefail
cd "$(dirname "$0")/../webhook-receiver"

install() {
  if [ -f node_modules/standardwebhooks/package.json ]; then return 0; fi
  command -v npm >/dev/null || { echo "webhook-receiver: npm is missing (apt-get install nodejs npm)" >&2; exit 1; }
  echo "webhook-receiver: installing standardwebhooks from the npm registry" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
}

case "${1:-serve}" in
  install) install ;;
  serve)
    install
    shift || true
    exec node receiver.mjs "${1:-8090}" "${@:2}"
    ;;
  *) echo "usage: scripts/webhook-receiver.sh install | serve [PORT] [--print]" >&2; exit 2 ;;
esac
