#!/usr/bin/env bash
# The local EVM node: Hardhat Network from the npm registry (evm/package.json, pinned by
# evm/package-lock.json), on 127.0.0.1.
#   scripts/evm-node.sh install        installs evm/node_modules (npm ci) unless present
#   scripts/evm-node.sh serve [PORT]   installs if needed, then runs the node (default 8545)
# Needs Node.js ≥ 18 and npm (Debian: apt-get install nodejs npm).
set -euo pipefail
cd "$(dirname "$0")/../evm"

install() {
  if [ -x node_modules/.bin/hardhat ]; then return 0; fi
  command -v npm >/dev/null || { echo "evm-node: npm is missing (apt-get install nodejs npm)" >&2; exit 1; }
  echo "evm-node: installing Hardhat from the npm registry (evm/package-lock.json)" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
}

case "${1:-serve}" in
  install) install ;;
  serve)
    install
    export HARDHAT_DISABLE_TELEMETRY_PROMPT=true
    exec node_modules/.bin/hardhat node --hostname 127.0.0.1 --port "${2:-8545}"
    ;;
  *) echo "usage: scripts/evm-node.sh install | serve [PORT]" >&2; exit 2 ;;
esac
