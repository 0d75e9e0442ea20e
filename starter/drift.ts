import type { Client } from '@temporalio/client';
import { UsageError } from '../common/errors';
import { WorkflowType } from '../common/messages';
import { DRIFT_SCHEDULE_ID, environmentNameProblem } from '../common/names';
import { renderDriftReport } from '../common/render';
import type { TemporalSettings } from '../common/temporal-settings';
// Types only: the CLI never loads workflow code.
import type { DriftEntry, DriftSweepInput, DriftSweepResult } from '../common/drift';
import { connectClient, workflowUrl } from './client';
import { ExitCode, type Output } from './start-command';

/** One environment in `cfn-gitops drift --json`. */
export interface DriftJsonEntry {
  environment: string;
  status: string;
  desiredVersion?: string;
  deployedVersion?: string;
  drifted: string[];
  message?: string;
  checkedAt: string;
  workflowId?: string;
  healRequested?: boolean;
  healSkipped?: string;
}

/** `cfn-gitops drift --json`. */
export interface DriftJson {
  /** The sweep's workflow and its page in the Temporal UI. */
  workflowId: string;
  url: string;
  startedAt: string;
  finishedAt: string;
  counts: DriftSweepResult['counts'];
  environments: DriftJsonEntry[];
}

/**
 * Starts a drift sweep now (the same workflow the schedule runs) and waits for its result.
 * @throws the client's WorkflowFailedError when the sweep itself failed.
 * @example const { result } = await runDriftSweep(client, 'cfn-gitops', { environment: 'prod' })
 */
export async function runDriftSweep(client: Client, taskQueue: string, input: { environment?: string }): Promise<{ workflowId: string; result: DriftSweepResult }> {
  const workflowId = `${DRIFT_SCHEDULE_ID}-cli-${input.environment ?? 'all'}-${new Date().toISOString()}`;
  const handle = await client.workflow.start<(input: DriftSweepInput) => Promise<DriftSweepResult>>(WorkflowType.DriftSweep, {
    workflowId,
    taskQueue,
    args: [input],
    staticSummary: `drift sweep of ${input.environment ?? 'every environment'} (cfn-gitops drift)`,
  });
  return { workflowId, result: await handle.result() };
}

function jsonEntry(e: DriftEntry): DriftJsonEntry {
  return {
    environment: e.environment,
    status: e.status,
    desiredVersion: e.desiredVersion,
    deployedVersion: e.deployedVersion,
    drifted: e.drifted,
    message: e.message,
    checkedAt: e.checkedAt,
    workflowId: e.workflowId,
    healRequested: e.healRequested,
    healSkipped: e.healSkipped,
  };
}

/**
 * `cfn-gitops drift [ENV] [--json]`: checks every environment (or one) against git and AWS now
 * and prints what it found. Exits 0 when the sweep ran, whatever the statuses (drift is a
 * finding, not a failure of the command; read `status` or the JSON); 1 when the sweep itself
 * failed; 2 for an invalid name or an environment with neither a workflow nor stacks.
 * @throws UsageError for an invalid environment name or one that does not exist.
 * @example await driftCommand('prod', { json: true }, readTemporalSettings(), output)
 */
export async function driftCommand(environment: string | undefined, flags: { json?: boolean }, settings: TemporalSettings, output: Output): Promise<number> {
  const problem = environment === undefined ? undefined : environmentNameProblem(environment);
  if (problem) throw new UsageError(problem);
  const temporal = await connectClient(settings);
  try {
    if (!flags.json) output.err(`drift sweep of ${environment ?? 'every environment'} started; waiting for it to finish`);
    const { workflowId, result } = await runDriftSweep(temporal.client, settings.taskQueue, { environment });
    if (environment !== undefined && result.entries.length === 0) {
      throw new UsageError(`no environment ${environment}: no running workflow cfn-gitops/${environment} and none of its stacks in AWS`);
    }
    const url = workflowUrl(settings, workflowId);
    if (flags.json) {
      const json: DriftJson = { workflowId, url, startedAt: result.startedAt, finishedAt: result.finishedAt, counts: result.counts, environments: result.entries.map(jsonEntry) };
      output.out(JSON.stringify(json, null, 2));
    } else {
      output.out(`${renderDriftReport(result)}\nsweep: ${url}`);
    }
    return ExitCode.Ok;
  } finally {
    await temporal.close();
  }
}
