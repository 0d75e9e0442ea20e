#!/usr/bin/env bash
# Records the workflow histories that test/replay/replay.test.ts replays, into
# test/histories/<scenario>/, from the integration tests that drive every path: races (create,
# update, superseded, stale, delete wins, approval), faults (failures and recoveries), chaos
# (worker crashes), server-restart, trust (refused approvals, ignored malformed messages,
# compare-and-set after a force push), wait (start --wait's watch Updates, and watches refused
# when five wait), templates (templates by
# hash), freeze (pushes held in phase Frozen by a window and by `cfn-gitops freeze`, an override),
# rollout (waves run, halted after a failed wave, and 600 environments by their shared parts) and expiry (a ttl that passes, a push that
# does not bring the environment back and one that does, an expires that has passed) and long-lived
# (a run continuing as new past 500 events while messages arrive). Then replays them.
#
# Re-record only when a workflow change is meant to break replay AND no real executions of the
# old code can exist any more; otherwise keep the committed histories and guard the change with
# patched() from @temporalio/workflow.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run --silent build
CFN_GITOPS_RECORD_HISTORIES=1 npx jest --ci \
  test/integration/races.test.ts \
  test/integration/faults.test.ts \
  test/integration/chaos.test.ts \
  test/integration/server-restart.test.ts \
  test/integration/trust.test.ts \
  test/integration/wait.test.ts \
  test/integration/templates.test.ts \
  test/integration/freeze.test.ts \
  test/integration/rollout.test.ts \
  test/integration/expiry.test.ts \
  test/integration/long-lived.test.ts
npx jest --ci test/replay
echo "histories written to test/histories/; review and commit them"
