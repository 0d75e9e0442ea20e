#!/usr/bin/env bash
# The main job on local defaults: installs what is missing, builds, then runs `cfn-gitops demo`
# (Temporal dev server + Web UI, the AWS emulator, a worker, an example repo and three pushes).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run --silent build
exec node dist/bin/cfn-gitops.js demo "$@"
