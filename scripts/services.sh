#!/usr/bin/env bash
# Ensures PostgreSQL (127.0.0.1:5432, trust auth, user postgres) and Redis (127.0.0.1:6379) are
# up, and that the tools the tests use are installed (Node.js and npm, Debian's Chromium).
# Starts the services if they are installed but down; on a bare Debian machine, running as
# root, installs what is missing from Debian's packages first. Idempotent; safe to run before every test run.
set -euo pipefail

log() { printf '[services] %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root for: $*"; return 1; fi
}

pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

wait_for() {
  local what=$1 check=$2
  for _ in $(seq 1 60); do
    if $check; then log "$what is up"; return 0; fi
    sleep 0.5
  done
  log "$what did not come up within 30 s"; return 1
}

install_missing() {
  local packages=()
  command -v pg_ctlcluster >/dev/null || packages+=(postgresql postgresql-client)
  command -v redis-server >/dev/null || packages+=(redis-server redis-tools)
  # scripts/check-layering.sh reads the relayer's imports with a Python script.
  command -v python3 >/dev/null || packages+=(python3)
  # The gatekeeper's tests start a local EVM node (Hardhat from the npm registry; scripts/evm-node.sh).
  command -v npm >/dev/null || packages+=(nodejs npm)
  # The web app's browser tests drive Debian's Chromium (scripts/app.sh test).
  [ -x /usr/bin/chromium ] || packages+=(chromium)
  # The alert rules' unit tests and the metrics lint run Debian's promtool (ops/prometheus).
  command -v promtool >/dev/null || packages+=(prometheus)
  # The conformance tests install schemathesis from PyPI into a virtualenv (scripts/conformance.sh).
  python3 -c 'import venv, ensurepip' 2>/dev/null || packages+=(python3-venv)
  [ ${#packages[@]} -eq 0 ] && return 0
  log "installing ${packages[*]} from Debian packages"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}"
}

ensure_trust_auth() {
  # The project's tests connect as postgres over TCP without a password.
  local hba
  hba=$(ls /etc/postgresql/*/main/pg_hba.conf 2>/dev/null | head -n1) || return 0
  [ -n "$hba" ] || return 0
  if ! grep -Eq '^host\s+all\s+all\s+127\.0\.0\.1/32\s+trust' "$hba"; then
    log "enabling trust auth for 127.0.0.1 in $hba"
    as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
    as_root pg_ctlcluster --skip-systemctl-redirect "$(basename "$(dirname "$(dirname "$hba")")")" main reload || true
  fi
}

start_postgres() {
  local version
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)
  if [ -z "$version" ]; then log "no PostgreSQL cluster found"; return 1; fi
  log "starting PostgreSQL $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
}

start_redis() {
  log "starting Redis"
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
    --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
}

main() {
  install_missing
  if pg_up && redis_up; then log "PostgreSQL and Redis already up"; return 0; fi
  if ! pg_up; then ensure_trust_auth; start_postgres; wait_for PostgreSQL pg_up; fi
  if ! redis_up; then start_redis; wait_for Redis redis_up; fi
}

main "$@"
