#!/usr/bin/env bash
# The whole test run: install what is missing, build (tests drive the built CLI), type-check
# the tests too, then every jest tier. jest's global setup starts one Temporal dev server.
set -euo pipefail
# The SDK warns that its releases after January 2027 need Node 22; the locked versions run on 20.
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
cd "$(dirname "$0")/.."
bash scripts/setup.sh --with-browser
npm run --silent build
npx tsc -p tsconfig.json --noEmit
npm run --silent lint
npx jest --ci "$@"
