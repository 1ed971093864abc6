#!/usr/bin/env bash
# The TypeScript client package (clients/ts): installs its pinned dependencies from the npm
# registry (package-lock.json), generates its types from clients/ts/openapi.json
# (openapi-typescript) and compiles it (tsc) into clients/ts/dist.
#   scripts/ts-client.sh build     install if needed, generate, compile
#   scripts/ts-client.sh test      build, then node --test against RELAYER_URL & co. (the
#                                  integration test `clients::typescript` sets them)
#   scripts/ts-client.sh test-programs   build, then the IDL client's tests on PROGRAMS_FIXTURE
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
  # One build at a time: the integration tests start several at once. A caller that holds the
  # lock already (scripts/app.sh, for as long as it bundles the client) says so.
  if [ -z "${VEIL_TS_CLIENT_LOCK_HELD:-}" ]; then
    exec 9>"$PWD/.build.lock"
    flock 9
  fi
  install
  npm run --silent build >&2
  # The lock stays held until the script ends: through the tests below too (they `exec` with
  # descriptor 9 open), so no build elsewhere rewrites dist/ while they import it.
}

case "${1:-build}" in
  build) build ;;
  test) build; exec node --test --test-concurrency=1 test/client.test.mjs ;;
  test-programs) build; exec node --test test/programs.test.mjs ;;
  *) echo "usage: scripts/ts-client.sh build | test | test-programs" >&2; exit 2 ;;
esac
