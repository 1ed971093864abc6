#!/usr/bin/env bash
# Formats the workspace. With a nightly rustfmt available, also merges and groups imports the
# way the house style asks (imports_granularity = Crate, group_imports = StdExternalCrate).
set -euo pipefail
cd "$(dirname "$0")/.."
if cargo +nightly fmt --version >/dev/null 2>&1; then
  cargo +nightly fmt --all -- --config imports_granularity=Crate,group_imports=StdExternalCrate
fi
cargo fmt --all
