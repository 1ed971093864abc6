#!/usr/bin/env bash
# API conformance with schemathesis (PyPI), in a virtualenv of its own:
#   bash scripts/conformance.sh <pytest arguments…>
# The virtualenv lives in $VEIL_CONFORMANCE_VENV (default ~/.cache/chitty-veil/schemathesis) and
# is (re)made from tests/conformance/requirements.txt when that file changes.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${VEIL_CONFORMANCE_VENV:-$HOME/.cache/chitty-veil/schemathesis}"
requirements=tests/conformance/requirements.txt
stamp="$venv/.requirements"
if ! cmp -s "$requirements" "$stamp" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$stamp"
fi
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider "$@"
