#!/usr/bin/env bash
# Layering rules, checked with `cargo tree` (after Light Protocol's dependency-constraint check):
#  1. on-chain programs depend on no off-chain crate: no runtime, RPC, async, database or test
#     crate, and no workspace crate except the SBF-safe veil-core, veil-zk, veil-anchor-common;
#  2. the crates the SVM bridge shares by memory layout with the runtime (Clock, EpochSchedule,
#     EpochRewards, LastRestartSlot, AccountInfo, Instruction) exist in exactly one version
#     among the bridge, the programs and litesvm (veil-harness brings it in), and litesvm itself
#     in one version, so the localnet's surfpool-core hosts the programs on the same runtime.
#     Other graphs may hold older copies: surfpool-core's txtx addon brings solana-program 2.x,
#     which never meets the bridge.
#  3. the relayer's platform layer imports no domain, a domain no other domain's internals,
#     and no two of its files import each other in a circle (scripts/check-relayer-layers.py;
#     docs/architecture.md).
set -euo pipefail
cd "$(dirname "$0")/.."

fail=0
programs=$(ls -d programs/*/ | xargs -n1 basename)
# Off-chain crates a program must never pull in (prefix match).
forbidden='^(litesvm|surfpool|solana-program-runtime|solana-program-test|solana-svm|solana-runtime|solana-client|solana-rpc-client|solana-pubsub-client|yellowstone-|tokio|axum|hyper|reqwest|sqlx|redis|tonic|veil-(client|harness|svm-bridge|tests|probe)|relayer|indexer|circuits)( |$)'
allowed_path_deps='^(veil-core|veil-zk|veil-anchor-common)$'

for program in $programs; do
  tree=$(cargo tree -p "$program" -e normal --prefix none --no-dedupe 2>/dev/null | sed 's/ (\*)$//' | sort -u)
  if bad=$(grep -E "$forbidden" <<<"$tree"); then
    echo "layering: program '$program' depends on off-chain crates:"; sed 's/^/  /' <<<"$bad"; fail=1
  fi
  # Workspace (path) dependencies show their path in parentheses.
  while read -r name; do
    [ "$name" = "$program" ] && continue
    if ! grep -Eq "$allowed_path_deps" <<<"$name"; then
      echo "layering: program '$program' depends on workspace crate '$name' (only veil-core, veil-zk and veil-anchor-common are allowed)"; fail=1
    fi
  done < <(grep -F "($PWD/" <<<"$tree" | awk '{print $1}' | sort -u)
done

hosted=$(cargo tree -p veil-svm-bridge -p veil-harness -p registry -p challenge -e normal --prefix none 2>/dev/null | sed 's/ (\*)$//' | sort -u)
for crate in solana-clock solana-epoch-schedule solana-epoch-rewards solana-last-restart-slot solana-account-info solana-instruction solana-program-entrypoint; do
  versions=$(grep -E "^$crate v" <<<"$hosted" | awk '{print $2}' | sort -u | wc -l)
  if [ "$versions" -ne 1 ]; then
    echo "layering: $crate appears in $versions versions; the SVM bridge copies it by layout and needs exactly one"; fail=1
  fi
done

litesvms=$(grep -A1 '^name = "litesvm"$' Cargo.lock | grep -c '^version')
if [ "$litesvms" -ne 1 ]; then
  echo "layering: litesvm appears in $litesvms versions; the harness and the localnet must share one"; fail=1
fi

python3 scripts/check-relayer-layers.py || fail=1

if [ "$fail" -eq 0 ]; then echo "layering: ok ($(wc -w <<<"$programs") programs checked)"; fi
exit "$fail"
