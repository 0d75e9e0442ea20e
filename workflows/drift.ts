import { getExternalWorkflowHandle, log, proxyActivities, setCurrentDetails } from '@temporalio/workflow';
import { mapLimit } from '../common/concurrency';
import { failureMessage } from './failures';
import type { RetryPolicy, SignalDefinition } from '@temporalio/common';
import type { Activities } from '../activities';
import type { DriftCheck, SweepTarget } from '../activities/drift';
import { NON_RETRYABLE_ERROR_TYPES } from '../common/errors';
import { healSignal, syncStatusSignal } from '../common/messages';
import { selfHealFor } from '../common/sync';
import { SyncStatus, type SyncReport } from '../common/types';

/**
 * Throttling and transient AWS failures are retried with a backoff that reaches minutes, so a
 * sweep over hundreds of environments eases off instead of tripping AWS's rate limits harder.
 */
const retry: RetryPolicy = {
  initialInterval: '5 seconds',
  backoffCoefficient: 2,
  maximumInterval: '2 minutes',
  maximumAttempts: 6,
  nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
};
import type { DriftEntry, DriftSweepInput, DriftSweepResult } from '../common/drift';
export type { DriftEntry, DriftSweepInput, DriftSweepResult };
const { listSweepTargets } = proxyActivities<Activities>({ startToCloseTimeout: '10 minutes', heartbeatTimeout: '2 minutes', retry });
const { checkEnvironmentSync } = proxyActivities<Activities>({ startToCloseTimeout: '15 minutes', heartbeatTimeout: '2 minutes', retry });

/**
 * The drift sweep, run by the schedule `cfn-gitops-drift-sweep` and by `cfn-gitops drift`: lists
 * the environments (workflows and the stacks under their prefixes), then checks each in one
 * activity, a bounded number at a time. Each check tells the environment workflow its sync
 * status; the sweep asks environments whose policy allows self-heal to deploy git's version
 * again when they are OutOfSync or Drifted (a protected environment still waits for approval).
 */
export async function driftSweepWorkflow(input: DriftSweepInput = {}): Promise<DriftSweepResult> {
  const startedAt = new Date().toISOString();
  const { targets, concurrency } = await listSweepTargets({ environment: input.environment });
  const limit = Math.max(1, Math.floor(input.concurrency ?? concurrency));
  const scope = input.environment ? `environment ${input.environment}` : `${targets.length} environment(s)`;
  let done = 0;
  setCurrentDetails(`checking ${scope}, ${limit} at a time`);

  const checked = await mapLimit(targets, limit, async (target) => {
    const entry = await sweepOne(target);
    done += 1;
    setCurrentDetails(`checking ${scope}, ${limit} at a time: ${done} done`);
    return entry;
  });

  const entries = checked.filter((e): e is DriftEntry => e !== undefined);
  const counts: Partial<Record<SyncStatus, number>> = {};
  for (const entry of entries) counts[entry.status] = (counts[entry.status] ?? 0) + 1;
  const summary = Object.entries(counts).map(([status, n]) => `${n} ${status}`).join(', ') || 'nothing to check';
  setCurrentDetails(`checked ${scope}: ${summary}`);
  log.info('drift sweep done', { environments: entries.length, counts });
  return { environment: input.environment, startedAt, finishedAt: new Date().toISOString(), entries, counts };
}

/** Checks one environment; a check that failed after its retries is reported as Unknown. */
async function sweepOne(target: SweepTarget): Promise<DriftEntry | undefined> {
  const where = { environment: target.environment, workflowId: target.workflowId, stackPrefix: target.stackPrefix, region: target.region };
  let check: DriftCheck;
  try {
    check = await checkEnvironmentSync(target);
  } catch (error) {
    const report: SyncReport = { status: SyncStatus.Unknown, checkedAt: new Date().toISOString(), drifted: [], message: `could not check: ${failureMessage(error)}` };
    if (target.workflowId) await signal(target.workflowId, syncStatusSignal, report);
    return { ...where, ...report };
  }
  const report = check.report;
  if (!report) return undefined;
  const entry: DriftEntry = { ...where, ...report };
  // Checks recorded before `requestInHand` existed lack it: they decide as before (a request in hand was Progressing then).
  const heal = selfHealFor(report, { allowed: target.selfHeal && target.workflowId !== undefined, requestInHand: check.requestInHand, redeployedAlready: check.redeployedAlready });
  if (heal.request && target.workflowId) {
    log.info('self-heal', { environment: target.environment, status: report.status });
    entry.healRequested = await signal(target.workflowId, healSignal, { reason: `${report.status}: ${report.message ?? ''}`.trim() });
  } else if (!heal.request && heal.skipped) {
    entry.healSkipped = heal.skipped;
  }
  return entry;
}

/** Signals another workflow; false (logged) when it is gone. */
async function signal<Args extends unknown[]>(workflowId: string, definition: SignalDefinition<Args>, ...args: Args): Promise<boolean> {
  try {
    await getExternalWorkflowHandle(workflowId).signal(definition, ...args);
    return true;
  } catch (error) {
    log.warn('signal not delivered', { workflowId, signal: definition.name, reason: failureMessage(error) });
    return false;
  }
}

