#!/usr/bin/env bash
# Both programs' Anchor IDL (idl/registry.json, idl/challenge.json), built on the host by
# Anchor's own IDL builder (crates/idl-gen):
#   scripts/idl.sh write    rebuild idl/
#   scripts/idl.sh check    fail when idl/ is stale (.ci/run)
# The builder runs `cargo test` on each program with its `idl-build` feature, into its own
# target dir (next to CARGO_TARGET_DIR) so that it never waits on, or invalidates, the main one.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --locked -q -p veil-idl-gen
tool="$target/debug/idl-gen"
# Anchor's builder would run `cargo +$RUSTUP_TOOLCHAIN` (and try to install it) when that is
# set; rust-toolchain.toml already pins the toolchain.
CARGO_TARGET_DIR="$target-idl" env -u RUSTUP_TOOLCHAIN "$tool" "${1:-check}"
