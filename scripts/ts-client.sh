#!/usr/bin/env bash
# The TypeScript client package (clients/ts): installs its pinned dependencies from the npm
# registry (package-lock.json), generates its types from clients/ts/openapi.json
# (openapi-typescript) and compiles it (tsc) into clients/ts/dist.
#   scripts/ts-client.sh build     install if needed, generate, compile
#   scripts/ts-client.sh test      build, then node --test against RELAYER_URL & co. (the
#                                  integration test `clients::typescript` sets them)
# Needs Node.js ≥ 18 and npm (Debian: apt-get install nodejs npm).
set -euo pipefail
cd "$(dirname "$0")/../clients/ts"

install() {
  if [ -f node_modules/.package-lock.json ] && cmp -s package-lock.json node_modules/.installed-lock 2>/dev/null; then
    return 0
  fi
  command -v npm >/dev/null || { echo "ts-client: npm is missing (apt-get install nodejs npm)" >&2; exit 1; }
  echo "ts-client: installing from the npm registry" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  cp package-lock.json node_modules/.installed-lock
}

build() {
  install
  npm run --silent build >&2
}

case "${1:-build}" in
  build) build ;;
  test) build; exec node --test --test-concurrency=1 test/ ;;
  *) echo "usage: scripts/ts-client.sh build | test" >&2; exit 2 ;;
esac
