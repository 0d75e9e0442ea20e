import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, type ReplayResult } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { WORKFLOW_INTERCEPTOR_MODULES } from '../../worker/bundle';
import { createWorkerMetrics } from '../../worker/metrics';
import { testWorkflowSource } from '../support/temporal';
import { HISTORIES_DIR, workflowIdOfHistoryFile } from '../support/scenario';

/**
 * Replays the workflow histories recorded from the integration tests (`test/histories/`, see
 * its README) against the current workflow code: a change that would break running workflows
 * fails the build here. Re-record with `bash scripts/record-histories.sh` only when no real
 * executions of the old code can exist; otherwise guard the change with `patched()`.
 */

/** A history as `handle.fetchHistory()` gave it, parsed from JSON. */
interface HistoryJson {
  events: Record<string, unknown>[];
}

interface Recorded {
  file: string;
  workflowId: string;
  history: HistoryJson;
}

function loadHistories(): Recorded[] {
  const files = readdirSync(HISTORIES_DIR, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.json'))
    .sort();
  return files.map((file) => ({
    file,
    workflowId: workflowIdOfHistoryFile(file),
    history: JSON.parse(readFileSync(path.join(HISTORIES_DIR, file), 'utf8')) as HistoryJson,
  }));
}

/**
 * The History message of a recorded file. The files hold what `JSON.stringify(await
 * handle.fetchHistory())` writes (protobuf.js's object form, not proto3's canonical JSON that
 * `historyFromJSON` reads), so they come back through `History.fromObject`.
 */
function toHistory(history: HistoryJson): temporal.api.history.v1.History {
  return temporal.api.history.v1.History.fromObject(history);
}

/** The workflow type a history starts. */
function workflowType(history: HistoryJson): string {
  const started = history.events[0]?.workflowExecutionStartedEventAttributes as { workflowType?: { name?: string } } | undefined;
  return started?.workflowType?.name ?? '?';
}

/** Names of the activities a history scheduled. */
function activities(history: HistoryJson): string[] {
  return history.events.flatMap((e) => {
    const scheduled = e.activityTaskScheduledEventAttributes as { activityType?: { name?: string } } | undefined;
    return scheduled?.activityType?.name ? [scheduled.activityType.name] : [];
  });
}

/** Names of the Updates a history accepted. */
function updates(history: HistoryJson): string[] {
  return history.events.flatMap((e) => {
    const accepted = e.workflowExecutionUpdateAcceptedEventAttributes as { acceptedRequest?: { input?: { name?: string } } } | undefined;
    return accepted?.acceptedRequest?.input?.name ? [accepted.acceptedRequest.input.name] : [];
  });
}

/** How the workflow ended, if it did: `Completed`, `Failed`, `Canceled`. */
function ending(history: HistoryJson): string | undefined {
  const last = history.events.at(-1) ?? {};
  if (last.workflowExecutionCompletedEventAttributes) return 'Completed';
  if (last.workflowExecutionFailedEventAttributes) return 'Failed';
  if (last.workflowExecutionCanceledEventAttributes) return 'Canceled';
  return undefined;
}

/**
 * Does a history hold a watch Update (`start --wait`) that waited: accepted in one workflow task
 * and answered in a later one? A worker that takes over such a workflow (after a crash, or with
 * an empty cache) replays the handler from its acceptance and answers it.
 */
function watchThatWaited(history: HistoryJson): boolean {
  const waiting = new Map<string, number>();
  let tasks = 0;
  for (const event of history.events) {
    if (event.workflowTaskCompletedEventAttributes) tasks++;
    const accepted = event.workflowExecutionUpdateAcceptedEventAttributes as { acceptedRequest?: { input?: { name?: string } } } | undefined;
    if (accepted?.acceptedRequest?.input?.name === 'watchRequest') waiting.set(String(event.eventId), tasks);
    const completed = event.workflowExecutionUpdateCompletedEventAttributes as { acceptedEventId?: string } | undefined;
    const since = completed && waiting.get(String(completed.acceptedEventId));
    if (since !== undefined && tasks > since) return true;
  }
  return false;
}

describe('replay of recorded histories', () => {
  const histories = loadHistories();
  const replayOptions = { ...testWorkflowSource(), replayName: 'cfn-gitops committed histories' };

  beforeAll(() => {
    try {
      // Replay logs each workflow's own log lines; only failures matter here.
      Runtime.install({ logger: new DefaultLogger('WARN') });
    } catch {
      // A Runtime is already installed in this process.
    }
  });

  it("cover both workflows and the create, update, delete, approval, cancellation, failure and crash paths, start --wait's watch waiting on a deployment, freezes, and a pipeline started in the environment workflow's task", () => {
    const environments = histories.filter((h) => workflowType(h.history) === 'environmentWorkflow');
    const deployments = histories.filter((h) => workflowType(h.history) === 'deploymentWorkflow');
    expect(environments.length).toBeGreaterThanOrEqual(10);
    expect(deployments.length).toBeGreaterThanOrEqual(20);
    const rollouts = histories.filter((h) => workflowType(h.history) === 'rolloutWorkflow');
    expect(environments.length + deployments.length + rollouts.length).toBe(histories.length);
    // Rollout waves: one rollout that ran every wave, one whose first wave failed (one submit, one watch, then the end).
    const rolloutActivities = rollouts.map((h) => activities(h.history).join(','));
    expect(rolloutActivities).toEqual(expect.arrayContaining(['submitWave,watchWave,submitWave,watchWave,submitWave,watchWave', 'submitWave,watchWave']));

    const scheduled = new Set(deployments.flatMap((h) => activities(h.history)));
    for (const activity of ['publishSource', 'inspectStack', 'createStack', 'updateStack', 'findInitialExecution', 'startPipelineExecution', 'waitForPipelineExecution', 'stopPipelineExecution', 'deleteStack', 'continueUpdateRollback']) {
      expect([activity, scheduled.has(activity)]).toEqual([activity, true]);
    }
    // A version bump whose execution the environment workflow's task started: its deployment only waits.
    expect(deployments.some((h) => activities(h.history).join(',') === 'waitForPipelineExecution')).toBe(true);
    expect(new Set(environments.flatMap((h) => updates(h.history)))).toEqual(new Set(['submit', 'approve', 'watchRequest', 'freeze', 'unfreeze']));
    expect(environments.some((h) => watchThatWaited(h.history))).toBe(true);
    expect(new Set(deployments.map((h) => ending(h.history)))).toEqual(new Set(['Completed', 'Failed', 'Canceled']));
    // A worker killed mid-wait: an attempt timed out (heartbeat) and the next one finished the wait.
    const resumed = deployments.some((h) =>
      h.history.events.some((e) => {
        const started = e.activityTaskStartedEventAttributes as { attempt?: number; lastFailure?: { timeoutFailureInfo?: unknown } } | undefined;
        return (started?.attempt ?? 1) > 1 && started?.lastFailure?.timeoutFailureInfo !== undefined;
      }),
    );
    expect(resumed).toBe(true);
  });

  it('every history replays against the current workflow code', async () => {
    const results: ReplayResult[] = [];
    for await (const result of Worker.runReplayHistories(replayOptions, histories.map(({ workflowId, history }) => ({ workflowId, history: toHistory(history) })))) {
      results.push(result);
    }
    const failures = results.filter((r) => r.error).map((r) => `${r.workflowId}: ${r.error!.name}: ${r.error!.message}`);
    expect(failures).toEqual([]);
    expect(results).toHaveLength(histories.length);
  });

  it("every history replays with the worker's workflow interceptors bundled, as the worker ships them, and a replay counts no deployment", async () => {
    const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES, logger: new DefaultLogger('WARN') });
    const metrics = createWorkerMetrics();
    const results: ReplayResult[] = [];
    const options = { workflowBundle: { code }, sinks: metrics.sinks, replayName: 'cfn-gitops shipped bundle' };
    for await (const result of Worker.runReplayHistories(options, histories.map(({ workflowId, history }) => ({ workflowId, history: toHistory(history) })))) {
      results.push(result);
    }
    expect(results.filter((r) => r.error).map((r) => `${r.workflowId}: ${r.error!.name}: ${r.error!.message}`)).toEqual([]);
    expect(results).toHaveLength(histories.length);
    const finished = await metrics.registry.getSingleMetric('cfn_gitops_deployments_finished_total')!.get();
    expect(finished.values).toEqual([]);
  });

  it('a history the code no longer matches fails the replay', async () => {
    const recorded = histories.find((h) => workflowType(h.history) === 'deploymentWorkflow' && activities(h.history).includes('createStack'))!;
    // As if the deployment had once called another activity where it now publishes the source.
    const changed = JSON.parse(JSON.stringify(recorded.history)) as HistoryJson;
    const first = changed.events.find((e) => e.activityTaskScheduledEventAttributes)!.activityTaskScheduledEventAttributes as { activityType: { name: string } };
    expect(first.activityType.name).toBe('publishSource');
    first.activityType.name = 'uploadTemplate';
    await expect(Worker.runReplayHistory(replayOptions, toHistory(changed), recorded.workflowId)).rejects.toBeInstanceOf(DeterminismViolationError);
  });
});
