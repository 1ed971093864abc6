#!/usr/bin/env bash
# The development verifying key (a public seed's, so anyone can forge proofs against it) must
# never reach a deployment build (audit finding 5, docs/ceremony.md):
#  1. no deployable crate turns the `dev-keys` feature on by default;
#  2. a default build of veil-zk (what `anchor build` / `cargo build-sbf` of the registry does)
#     fails to compile, naming the ceremony document;
#  3. handing it the development key as the "ceremony" key fails too;
#  4. a different key module compiles: the production path works.
set -euo pipefail
cd "$(dirname "$0")/.."

fail=0
# Only test and local-stack crates may turn it on in a dependency declaration.
for manifest in crates/zk programs/registry programs/challenge circuits relayer indexer crates/client fallback member; do
  if grep -Eq '^default *=.*dev-keys' "$manifest/Cargo.toml"; then
    echo "dev-keys: $manifest enables dev-keys by default"; fail=1
  fi
  if sed -n '/^\[dependencies\]/,/^\[/p' "$manifest/Cargo.toml" | grep -q '"dev-keys"'; then
    echo "dev-keys: $manifest turns on dev-keys in a normal dependency"; fail=1
  fi
done

check() { cargo check -p veil-zk --lib --locked --message-format short 2>&1; }

if out=$(env -u VEIL_CEREMONY_VK bash -c "$(declare -f check); check"); then
  echo "dev-keys: a default build of veil-zk compiled without a ceremony key"; fail=1
elif ! grep -q "docs/ceremony.md" <<<"$out"; then
  echo "dev-keys: a default build of veil-zk failed, but not with the ceremony message:"; echo "$out" | tail -5; fail=1
fi

if out=$(VEIL_CEREMONY_VK="$PWD/crates/zk/src/vk.rs" bash -c "$(declare -f check); check"); then
  echo "dev-keys: the development key was accepted as the ceremony key"; fail=1
elif ! grep -q "development key" <<<"$out"; then
  echo "dev-keys: the development key was refused, but not with its message:"; echo "$out" | tail -5; fail=1
fi

# A stand-in ceremony module: the development module with one constant changed.
other=$(mktemp --suffix=.rs)
trap 'rm -f "$other"' EXIT
sed '0,/\[41, 170, 166/s//[42, 170, 166/' crates/zk/src/vk.rs >"$other"
if ! out=$(VEIL_CEREMONY_VK="$other" bash -c "$(declare -f check); check"); then
  echo "dev-keys: a ceremony key module failed to compile:"; echo "$out" | tail -10; fail=1
fi

[ "$fail" -eq 0 ] && echo "dev-keys: ok (no default build carries the development key)"
exit "$fail"
