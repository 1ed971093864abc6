#!/usr/bin/env bash
# The web app (app/): installs its pinned dependencies from the npm registry
# (package-lock.json), builds the TypeScript client it uses (scripts/ts-client.sh), type-checks
# it and bundles it with Vite into app/dist, which veil-stack serves.
#   scripts/app.sh build   install if needed, build the client, type-check, bundle
#   scripts/app.sh test    build, then the browser tests (node --test) against APP_URL & co.
#                          (the integration test `app::browser` starts the stack and sets them);
#                          they drive Debian's Chromium (CHROMIUM, default /usr/bin/chromium)
#                          with playwright-core, which downloads no browser.
# Needs Node.js ≥ 18 and npm (Debian: apt-get install nodejs npm); the tests need chromium.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/app"

install() {
  if [ -f node_modules/.package-lock.json ] && cmp -s package-lock.json node_modules/.installed-lock 2>/dev/null; then
    return 0
  fi
  command -v npm >/dev/null || { echo "app: npm is missing (apt-get install nodejs npm)" >&2; exit 1; }
  echo "app: installing from the npm registry" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  cp package-lock.json node_modules/.installed-lock
}

build() {
  # One build at a time (the stack and the tests may both ask). The client's lock is held too
  # until the bundle is done: Vite reads clients/ts, which a client build elsewhere (the
  # client's own tests) would otherwise rewrite under it. Lock order: app, then client.
  exec 8>"$PWD/.build.lock"
  flock 8
  exec 9>"$root/clients/ts/.build.lock"
  flock 9
  VEIL_TS_CLIENT_LOCK_HELD=1 bash "$root/scripts/ts-client.sh" build
  install
  echo "app: type-checking and bundling (vite)" >&2
  npm run --silent build >&2
  flock -u 9
  flock -u 8
}

case "${1:-build}" in
  build) build ;;
  test) build; exec node --test --test-concurrency=1 test/ ;;
  *) echo "usage: scripts/app.sh build | test" >&2; exit 2 ;;
esac
