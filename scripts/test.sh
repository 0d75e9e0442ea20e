#!/usr/bin/env bash
# The whole test run: install what is missing, type-check, then every jest tier.
# jest's global setup starts one Temporal dev server for the run; tests start their own emulators.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx tsc -p tsconfig.json --noEmit
npx jest --ci "$@"
