/**
 * The environment workflow on the time-skipping server: approvals and their window, cancel,
 * coalescing, no going back, delete wins, and what each sync asks of AWS. Activities are
 * jest mocks typed as the real ones (FakeAws); requests arrive as signals, since the
 * time-skipping server has known gaps with Updates (STYLE rule 17). The watch Update of
 * `start --wait` is sent as an Update: it needs no time skipped.
 */
import { WorkflowUpdateStage, type WorkflowHandle } from '@temporalio/client';
import type { SignalDefinition } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { approveSignal, cancelSignal, desiredStateSignal, rejectSignal, stateQuery, watchRequestUpdate, WorkflowType, type EnvironmentWorkflowInput } from '../../common/messages';
import { environmentWorkflowId } from '../../common/names';
import { Action, DeployPhase, DeploymentResult, SyncStatus, WatchOutcome, type DesiredState, type EnvironmentState, type PhaseStep } from '../../common/types';
import type { FreezeWindow } from '../../common/freeze';
import type { environmentWorkflow } from '../../workflows/environment';
import { testWorkflowSource, uniqueTaskQueue, useTimeSkippingEnv } from '../support/temporal';
import { APPROVAL_WINDOW_MS, AUTHOR, desiredState, FakeAws, type DesiredOptions, type PipelineStackState } from '../support/workflow-fixtures';

const DAY_MS = 24 * 60 * 60 * 1000;

let env: TestWorkflowEnvironment;
useTimeSkippingEnv((created) => (env = created));

/** What a test drives: one environment's workflow, served by a worker over the test's FakeAws. */
interface Harness {
  aws: FakeAws;
  handle: WorkflowHandle<typeof environmentWorkflow>;
  /** A push, as `cfn-gitops start` sends it with signal-with-start. */
  push(options: DesiredOptions): Promise<DesiredState>;
  /** The same, with the workflow's start arguments when this push starts it. */
  pushStarting(options: DesiredOptions, startArgs: Partial<EnvironmentWorkflowInput>): Promise<DesiredState>;
  signal<Args extends unknown[]>(definition: SignalDefinition<Args>, ...args: Args): Promise<void>;
  /** Polls the state query until `ok` holds. */
  waitFor(what: string, ok: (state: EnvironmentState) => boolean): Promise<EnvironmentState>;
  /** Polls the current details the Temporal UI shows until `ok` holds. */
  waitForDetails(what: string, ok: (details: string) => boolean): Promise<string>;
}

/** Runs `body` against a fresh run of `cfn-gitops/<environment>` and a worker of its own. */
async function withEnvironment(environment: string, body: (t: Harness) => Promise<void>, aws = new FakeAws()): Promise<void> {
  const taskQueue = uniqueTaskQueue('environment');
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    ...testWorkflowSource(),
    activities: aws.activities,
    // Deliver heartbeats (and with them cancellation) at once rather than every ~48 s.
    maxHeartbeatThrottleInterval: '50 ms',
    defaultHeartbeatThrottleInterval: '50 ms',
  });
  const workflowId = environmentWorkflowId(environment);
  const handle = env.client.workflow.getHandle<typeof environmentWorkflow>(workflowId);
  const harness: Harness = {
    aws,
    handle,
    push: (options) => harness.pushStarting(options, {}),
    async pushStarting(options, startArgs) {
      const desired = desiredState(environment, options);
      await env.client.workflow.signalWithStart<typeof environmentWorkflow, [DesiredState]>(WorkflowType.Environment, {
        workflowId,
        taskQueue,
        args: [{ ...startArgs, environment }],
        signal: desiredStateSignal,
        signalArgs: [desired],
      });
      return desired;
    },
    async signal(definition, ...args) {
      await handle.signal(definition, ...args);
    },
    waitFor: (what, ok) => poll(what, () => handle.query(stateQuery), ok),
    waitForDetails: (what, ok) => poll(what, () => currentDetails(handle), ok),
  };
  await worker.runUntil(async () => {
    try {
      await body(harness);
    } finally {
      await stopAll(handle);
    }
  });
}

/** Ends the environment workflow and its deployments, so the next test starts from nothing. */
async function stopAll(handle: WorkflowHandle): Promise<void> {
  const state = await env.client.withDeadline(Date.now() + 5_000, () => handle.query(stateQuery)).catch(() => undefined);
  await handle.terminate('test over').catch(() => undefined);
  for (const record of state?.history ?? []) {
    if (record.workflowId) await env.client.workflow.getHandle(record.workflowId).terminate('test over').catch(() => undefined);
  }
}

async function currentDetails(handle: WorkflowHandle): Promise<string> {
  const metadata = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
  return metadata.currentDetails ?? '';
}

/**
 * gRPC codes of a read asked again: DEADLINE_EXCEEDED, a read that outlived its own deadline, and
 * CANCELLED, what the time-skipping server answers instead when the run it held the query for closes.
 */
const ASKED_AGAIN = new Set([1, 4]);

/**
 * Reads until `ok` holds. Each read has a deadline of its own: the time-skipping server holds a
 * query that meets a continue-as-new for about 90 s before it answers, and the next read goes to
 * the new run.
 */
async function poll<T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await env.client.withDeadline(Date.now() + 2_000, read).catch((error: unknown) => {
      if (ASKED_AGAIN.has((error as { cause?: { code?: number } }).cause?.code ?? -1) && Date.now() < deadline) return undefined;
      throw error;
    });
    if (value === undefined) continue;
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last seen: ${JSON.stringify(value, null, 2)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The record of deployment number `n` once it has a result. */
const ended = (n: number) => (state: EnvironmentState) => state.history.some((r) => r.number === n && r.result !== undefined);
const record = (state: EnvironmentState, n: number) => state.history.find((r) => r.number === n);
const waitingForApproval = (state: EnvironmentState) => state.phase === DeployPhase.WaitingForApproval;

describe('a protected environment (prod)', () => {
  const push = { sha: 'a1b2c3d4e5', generation: 10, appVersion: '1.4.2' };

  it('waits for approval, then deploys; the record names the approver and the comment', () =>
    withEnvironment('prod', async ({ aws, push: send, signal, waitFor }) => {
      const desired = await send(push);
      const waiting = await waitFor('the approval gate', waitingForApproval);
      expect(waiting.approval).toMatchObject({ action: Action.Sync, newVersion: '1.4.2', commit: { sha: desired.commit.sha, author: AUTHOR } });
      // The pipeline stack is as the desired state wants it: the approver is told nothing else changes.
      expect(waiting.approval!.pipelineChanges).toEqual([]);
      expect(Date.parse(waiting.approval!.expiresAt) - Date.parse(waiting.approval!.requestedAt)).toBe(APPROVAL_WINDOW_MS);
      expect(waiting.current).toMatchObject({ number: 1, appVersion: '1.4.2' });
      expect(aws.callOrder()).toEqual(['getPolicy', 'previewStackChanges']);

      await signal(approveSignal, { by: 'Alice', version: '1.4.2', comment: 'ship it' });
      const done = await waitFor('the deployment', ended(1));

      expect(done.lastResult).toMatchObject({
        number: 1,
        result: DeploymentResult.Succeeded,
        appVersion: '1.4.2',
        approvedBy: 'Alice',
        approvalComment: 'ship it',
        pipelineExecutionId: 'exec-1.4.2',
        message: 'prod: app 1.4.2 deployed by execution exec-1.4.2',
      });
      expect(done).toMatchObject({ phase: DeployPhase.Idle, deployedVersion: '1.4.2', applied: { commit: desired.commit.sha, generation: 10 } });
      expect(done.approval).toBeUndefined();
      expect(aws.activities.startPipelineExecution).toHaveBeenCalledTimes(1);
      expect(aws.activities.startPipelineExecution).toHaveBeenCalledWith(expect.objectContaining({ pipelineName: 'cfn-gitops-prod', appVersion: '1.4.2' }));
    }));

  it('ends as Rejected on a rejection, with AWS untouched', () =>
    withEnvironment('prod', async ({ aws, push: send, signal, waitFor }) => {
      await send(push);
      await waitFor('the approval gate', waitingForApproval);
      await signal(rejectSignal, { by: 'Bob', comment: 'not during the freeze' });
      const done = await waitFor('the rejection', ended(1));

      expect(done.lastResult).toMatchObject({ result: DeploymentResult.Rejected, message: 'rejected by Bob: not during the freeze; AWS untouched' });
      expect(done.phase).toBe(DeployPhase.Rejected);
      expect(done.approval).toBeUndefined();
      expect(done.deployedVersion).toBeUndefined();
      expect(aws.callOrder()).toEqual(['getPolicy', 'previewStackChanges']);
    }));

  it('refuses an approval for another version, says why, keeps waiting and takes the right one (by commit prefix)', () =>
    withEnvironment('prod', async ({ aws, push: send, signal, waitFor, waitForDetails }) => {
      await send(push);
      await waitFor('the approval gate', waitingForApproval);
      await signal(approveSignal, { by: 'Alice', version: '1.4.1' });

      const details = await waitForDetails('the refusal', (d) => d.includes('ignored'));
      expect(details).toContain('note: approve by Alice ignored: prod waits for approval of app 1.4.2 (a1b2c3d), not 1.4.1');
      const still = await waitFor('the state', () => true);
      expect(still.phase).toBe(DeployPhase.WaitingForApproval);
      expect(still.approval?.newVersion).toBe('1.4.2');
      expect(still.current?.approvedBy).toBeUndefined();
      expect(aws.callOrder()).toEqual(['getPolicy', 'previewStackChanges']);

      await signal(approveSignal, { by: 'Alice', version: 'a1b2c3d' });
      const done = await waitFor('the deployment', ended(1));
      expect(done.lastResult).toMatchObject({ result: DeploymentResult.Succeeded, approvedBy: 'Alice', appVersion: '1.4.2' });
    }));

  it("refuses an approval by the commit's author, by name or e-mail", () =>
    withEnvironment('prod', async ({ aws, push: send, signal, waitFor, waitForDetails }) => {
      await send(push);
      await waitFor('the approval gate', waitingForApproval);

      await signal(approveSignal, { by: 'Dev Eloper' });
      expect(await waitForDetails('the refusal', (d) => d.includes('ignored'))).toContain(
        'note: approve by Dev Eloper ignored: Dev Eloper wrote commit a1b2c3d and may not approve it; ask someone else',
      );
      await signal(approveSignal, { by: 'DEV@example.com', version: '1.4.2' });
      expect(await waitForDetails('the second refusal', (d) => d.includes('approve by DEV@example.com ignored'))).toContain(
        'DEV@example.com wrote commit a1b2c3d and may not approve it',
      );

      const still = await waitFor('the state', () => true);
      expect(still.phase).toBe(DeployPhase.WaitingForApproval);
      expect(still.current?.approvedBy).toBeUndefined();
      expect(aws.callOrder()).toEqual(['getPolicy', 'previewStackChanges']);
    }));

  it('expires when nobody decides within the window, with AWS untouched', () =>
    withEnvironment('prod', async ({ aws, push: send, waitFor }) => {
      await send(push);
      await waitFor('the approval gate', waitingForApproval);

      await env.sleep(6 * DAY_MS);
      const sixDaysLater = await waitFor('the state', () => true);
      expect(sixDaysLater.phase).toBe(DeployPhase.WaitingForApproval);

      await env.sleep(DAY_MS + 60_000);
      const done = await waitFor('the expiry', ended(1));
      expect(done.lastResult?.result).toBe(DeploymentResult.Expired);
      expect(done.lastResult?.message).toMatch(/^no decision within the approval window; expired at .+; AWS untouched$/);
      expect(done.phase).toBe(DeployPhase.Expired);
      expect(done.approval).toBeUndefined();
      expect(aws.activities.createStack).not.toHaveBeenCalled();
      expect(aws.activities.startPipelineExecution).not.toHaveBeenCalled();
      expect(aws.callOrder()).toEqual(['getPolicy', 'previewStackChanges']);
    }));

  it('ends as Cancelled when cancelled while it waits, with nothing changed', () =>
    withEnvironment('prod', async ({ aws, push: send, signal, waitFor }) => {
      await send(push);
      await waitFor('the approval gate', waitingForApproval);
      await signal(cancelSignal, { by: 'Carol', reason: 'wrong day' });
      const done = await waitFor('the cancellation', ended(1));

      expect(done.lastResult).toMatchObject({ result: DeploymentResult.Cancelled, message: 'cancelled by Carol: wrong day; AWS untouched' });
      expect(done.phase).toBe(DeployPhase.Cancelled);
      expect(done.approval).toBeUndefined();
      expect(done.applied).toBeUndefined();
      expect(aws.callOrder()).toEqual(['getPolicy', 'previewStackChanges']);
    }));

  it('replaces what waits with a newer push: the old one is Superseded, only the new version can be approved and is deployed', () =>
    withEnvironment('prod', async ({ aws, push: send, signal, waitFor, waitForDetails }) => {
      const first = await send(push);
      await waitFor('the first approval gate', waitingForApproval);
      const second = await send({ sha: 'b2c3d4e5f6', generation: 11, appVersion: '1.4.3' });

      const replaced = await waitFor('the second approval gate', (s) => waitingForApproval(s) && s.approval?.newVersion === '1.4.3');
      expect(record(replaced, 1)).toMatchObject({ commit: first.commit.sha, result: DeploymentResult.Superseded, message: 'replaced by a newer request while waiting for approval' });
      expect(replaced.approval).toMatchObject({ newVersion: '1.4.3', commit: { sha: second.commit.sha } });
      expect(replaced.current).toMatchObject({ number: 2, commit: second.commit.sha });

      await signal(approveSignal, { by: 'Alice', version: '1.4.2' });
      expect(await waitForDetails('the refusal', (d) => d.includes('ignored'))).toContain('prod waits for approval of app 1.4.3 (b2c3d4e), not 1.4.2');
      expect((await waitFor('the state', () => true)).phase).toBe(DeployPhase.WaitingForApproval);

      await signal(approveSignal, { by: 'Alice', version: '1.4.3' });
      const done = await waitFor('the deployment', ended(2));
      expect(done.lastResult).toMatchObject({ number: 2, result: DeploymentResult.Succeeded, appVersion: '1.4.3', approvedBy: 'Alice' });
      expect(done.deployedVersion).toBe('1.4.3');
      expect(aws.activities.startPipelineExecution.mock.calls.map(([ref]) => ref.appVersion)).toEqual(['1.4.3']);
    }));
});

describe('a running deployment', () => {
  it('is stopped by a cancel: the pipeline execution is stopped and the version before it remains', () =>
    withEnvironment('development', async ({ aws, push: send, signal, waitFor }) => {
      await send({ sha: 'c1000000', generation: 1, appVersion: '1.0.0' });
      await waitFor('the first deployment', ended(1));
      const execution = aws.hold('1.1.0');
      await send({ sha: 'c2000000', generation: 2, appVersion: '1.1.0' });
      await waitFor('the running pipeline', (s) => s.phase === DeployPhase.RunningPipeline && s.current?.pipelineExecutionId === 'exec-1.1.0');

      await signal(cancelSignal, { by: 'Carol' });
      const done = await waitFor('the cancellation', ended(2));

      expect(done.lastResult).toMatchObject({ number: 2, result: DeploymentResult.Cancelled, message: 'cancelled by Carol; version that remains: 1.0.0' });
      expect(done).toMatchObject({ phase: DeployPhase.Cancelled, deployedVersion: '1.0.0', applied: { generation: 1 } });
      await execution.cancelled;
      expect(aws.activities.stopPipelineExecution).toHaveBeenCalledTimes(1);
      expect(aws.activities.stopPipelineExecution).toHaveBeenCalledWith(expect.objectContaining({ pipelineName: 'cfn-gitops-development', executionId: 'exec-1.1.0', abandon: false }));
      expect(aws.activities.waitForExecutionToSettle).toHaveBeenCalledWith(expect.objectContaining({ executionId: 'exec-1.1.0' }));
      expect(aws.callOrder().slice(-3)).toEqual(['waitForPipelineExecution', 'stopPipelineExecution', 'waitForExecutionToSettle']);
    }));
});

describe('the rules of an environment (DESIGN §3)', () => {
  it('coalesces pushes that arrive while a deploy runs: A and C are deployed, B is Superseded, never A after C', () =>
    withEnvironment('development', async ({ aws, push: send, waitFor }) => {
      const runningA = aws.hold('1.0.0');
      const a = await send({ sha: 'a0000001', generation: 1, appVersion: '1.0.0' });
      await waitFor('A running', (s) => s.phase === DeployPhase.RunningPipeline);
      const b = await send({ sha: 'b0000002', generation: 2, appVersion: '1.1.0' });
      const c = await send({ sha: 'c0000003', generation: 3, appVersion: '1.2.0' });

      const queued = await waitFor('C queued', (s) => s.pending?.commit === c.commit.sha);
      expect(queued.current).toMatchObject({ number: 1, commit: a.commit.sha });
      expect(queued.history.find((r) => r.commit === b.commit.sha)).toMatchObject({ result: DeploymentResult.Superseded, message: 'superseded by c000000 before it started' });

      runningA.succeed();
      const done = await waitFor('C deployed', (s) => s.lastResult?.commit === c.commit.sha);
      expect(done.lastResult).toMatchObject({ number: 2, result: DeploymentResult.Succeeded, appVersion: '1.2.0' });
      expect(record(done, 1)).toMatchObject({ commit: a.commit.sha, result: DeploymentResult.Succeeded });
      expect(done).toMatchObject({ phase: DeployPhase.Idle, deployedVersion: '1.2.0', applied: { commit: c.commit.sha, generation: 3 } });
      expect(aws.activities.startPipelineExecution.mock.calls.map(([ref]) => ref.appVersion)).toEqual(['1.0.0', '1.2.0']);
      expect(done.history.map((r) => [r.commit.slice(0, 8), r.result])).toEqual([
        ['c0000003', DeploymentResult.Succeeded],
        ['b0000002', DeploymentResult.Superseded],
        ['a0000001', DeploymentResult.Succeeded],
      ]);
    }));

  it('ignores a stale push (lower generation) and says so; nothing is deployed for it', () =>
    withEnvironment('development', async ({ aws, push: send, waitFor, waitForDetails }) => {
      const newer = await send({ sha: 'e5000000', generation: 5, appVersion: '1.5.0' });
      await waitFor('the first deployment', ended(1));
      await send({ sha: 'e4000000', generation: 4, appVersion: '1.4.0' });

      expect(await waitForDetails('the refusal', (d) => d.includes('older'))).toContain('commit e400000 is older than e500000 already taken for development; ignored');
      const state = await waitFor('the state', () => true);
      expect(state).toMatchObject({ phase: DeployPhase.Idle, deployedVersion: '1.5.0', desired: { commit: newer.commit.sha, generation: 5 }, deploymentCount: 1 });
      expect(state.history).toHaveLength(1);
      expect(aws.activities.startPipelineExecution.mock.calls.map(([ref]) => ref.appVersion)).toEqual(['1.5.0']);
    }));

  it('treats the same commit sent again, while it runs or after it succeeded, as a no-op', () =>
    withEnvironment('development', async ({ aws, push: send, waitFor, waitForDetails }) => {
      const running = aws.hold('2.0.0');
      const options = { sha: 'd2000000', generation: 2, appVersion: '2.0.0' };
      await send(options);
      await waitFor('the deployment running', (s) => s.phase === DeployPhase.RunningPipeline);
      await send(options);
      expect(await waitForDetails('the first duplicate', (d) => d.includes('already running'))).toContain('sync of d200000 is already running');
      expect((await waitFor('the state', () => true)).pending).toBeUndefined();

      running.succeed();
      await waitFor('the deployment', ended(1));
      await send(options);
      expect(await waitForDetails('the second duplicate', (d) => d.includes('already handled'))).toContain('sync of d200000 was already handled (Succeeded)');

      const state = await waitFor('the state', () => true);
      expect(state).toMatchObject({ phase: DeployPhase.Idle, deploymentCount: 1 });
      expect(state.history).toHaveLength(1);
      expect(aws.activities.startPipelineExecution).toHaveBeenCalledTimes(1);
    }));

  it('fails with the pipeline\'s message, then takes the next push', () =>
    withEnvironment('development', async ({ aws, push: send, waitFor }) => {
      const reason = 'development: pipeline cfn-gitops-development execution exec-3.0.0 Failed: Deploy.DeployEnvironment failed: Parameter InstanceType is invalid';
      aws.hold('3.0.0').fail(reason);
      await send({ sha: 'f3000000', generation: 3, appVersion: '3.0.0' });
      const failed = await waitFor('the failure', ended(1));
      expect(failed.lastResult).toMatchObject({ number: 1, result: DeploymentResult.Failed, message: reason });
      expect(failed).toMatchObject({ phase: DeployPhase.Failed, sync: { status: SyncStatus.OutOfSync } });
      expect(failed.deployedVersion).toBeUndefined();
      expect(aws.activities.describeStack).not.toHaveBeenCalled();

      await send({ sha: 'f4000000', generation: 4, appVersion: '3.0.1' });
      const done = await waitFor('the next deployment', ended(2));
      expect(done.lastResult).toMatchObject({ number: 2, result: DeploymentResult.Succeeded, appVersion: '3.0.1' });
      expect(done).toMatchObject({ phase: DeployPhase.Idle, deployedVersion: '3.0.1', sync: { status: SyncStatus.Synced } });
    }));

  it('retries the same commit after a failure', () =>
    withEnvironment('development', async ({ aws, push: send, waitFor }) => {
      aws.hold('4.0.0').fail('development: pipeline cfn-gitops-development execution exec-4.0.0 Failed: throttled by a flaky test');
      const options = { sha: 'f5000000', generation: 5, appVersion: '4.0.0' };
      await send(options);
      await waitFor('the failure', ended(1));

      aws.hold('4.0.0').succeed();
      await send(options);
      const done = await waitFor('the retry', ended(2));
      expect(done.history.map((r) => [r.number, r.commit.slice(0, 8), r.result])).toEqual([
        [2, 'f5000000', DeploymentResult.Succeeded],
        [1, 'f5000000', DeploymentResult.Failed],
      ]);
      expect(done.deployedVersion).toBe('4.0.0');
      expect(aws.activities.startPipelineExecution).toHaveBeenCalledTimes(2);
    }));

  it('deletes while a sync runs: the sync is cancelled and its execution stopped, then the environment stack, then the pipeline stack', () =>
    withEnvironment('development', async ({ aws, push: send, waitFor }) => {
      const execution = aws.hold('1.0.0');
      await send({ sha: 'a7000000', generation: 7, appVersion: '1.0.0' });
      await waitFor('the sync running', (s) => s.phase === DeployPhase.RunningPipeline);
      const removal = await send({ sha: 'a8000000', generation: 8, action: Action.Delete });

      // The child reports Deleted a moment before the environment workflow records its result.
      const done = await waitFor('the delete', (s) => s.phase === DeployPhase.Deleted && record(s, 2)?.result !== undefined);
      await execution.cancelled;
      expect(record(done, 1)).toMatchObject({ action: Action.Sync, result: DeploymentResult.Cancelled, message: 'cancelled: the environment is being deleted; version that remains: none' });
      expect(record(done, 2)).toMatchObject({ action: Action.Delete, commit: removal.commit.sha, result: DeploymentResult.Succeeded });
      expect(done.applied).toBeUndefined();
      expect(done.deployedVersion).toBeUndefined();

      expect(aws.activities.stopPipelineExecution).toHaveBeenCalledWith(expect.objectContaining({ executionId: 'exec-1.0.0' }));
      expect(aws.activities.deleteStack.mock.calls.map(([ref]) => ref.stackName)).toEqual(['cfn-gitops-development', 'cfn-gitops-development-pipeline']);
      const order = (mock: jest.Mock, call = 0) => mock.mock.invocationCallOrder[call]!;
      expect(order(aws.activities.stopPipelineExecution)).toBeLessThan(order(aws.activities.waitForExecutionToSettle));
      expect(order(aws.activities.waitForExecutionToSettle)).toBeLessThan(order(aws.activities.deleteStack, 0));
      expect(order(aws.activities.deleteStack, 0)).toBeLessThan(order(aws.activities.deleteStack, 1));
      expect(aws.activities.waitForStack.mock.calls.map(([ref]) => [ref.stackName, ref.operation])).toEqual([
        ['cfn-gitops-development', 'delete'],
        ['cfn-gitops-development-pipeline', 'delete'],
      ]);
    }));
});

describe('a sync, by the state of the pipeline stack', () => {
  const cases: [PipelineStackState, string, string[]][] = [
    ['absent', 'creates the stack and follows the execution the new pipeline starts by itself', [
      'getPolicy', 'publishSource', 'inspectStack', 'createStack', 'waitForStack', 'findInitialExecution', 'waitForPipelineExecution',
    ]],
    ['unchanged', 'starts an execution with the version as AppVersion', [
      'getPolicy', 'publishSource', 'inspectStack', 'startPipelineExecution', 'waitForPipelineExecution',
    ]],
    ['needsUpdate', 'updates the stack, then starts an execution', [
      'getPolicy', 'publishSource', 'inspectStack', 'updateStack', 'waitForStack', 'startPipelineExecution', 'waitForPipelineExecution',
    ]],
  ];

  it.each(cases)('pipeline stack %s: %s', (stack, _what, calls) => {
    const aws = new FakeAws();
    aws.pipelineStack = stack;
    return withEnvironment('development', async ({ push: send, waitFor }) => {
      await send({ sha: '9a000000', generation: 1, appVersion: '2.3.4' });
      const done = await waitFor('the deployment', ended(1));
      const { workflowId } = done.lastResult!;
      const executionId = stack === 'absent' ? 'initial-2.3.4' : 'exec-2.3.4';

      expect(aws.callOrder()).toEqual(calls);
      expect(done.lastResult).toMatchObject({ result: DeploymentResult.Succeeded, pipelineExecutionId: executionId, message: `development: app 2.3.4 deployed by execution ${executionId}` });
      expect(workflowId).toBe('cfn-gitops/development/1-sync-9a0000000000');
      expect(done.deployedVersion).toBe('2.3.4');
      expect(aws.activities.waitForPipelineExecution).toHaveBeenCalledWith(expect.objectContaining({ pipelineName: 'cfn-gitops-development', executionId }));

      const change = expect.objectContaining({
        stackName: 'cfn-gitops-development-pipeline',
        requestKey: `${workflowId}/pipeline`,
        parameters: expect.objectContaining({ AppVersion: '2.3.4', EnvironmentName: 'development', PipelineName: 'cfn-gitops-development', ArtifactBucket: 'b', InstanceType: 't3.micro' }),
      });
      if (stack === 'absent') {
        expect(aws.activities.createStack).toHaveBeenCalledWith(change);
        expect(aws.activities.waitForStack).toHaveBeenCalledWith(expect.objectContaining({ stackName: 'cfn-gitops-development-pipeline', operation: 'create' }));
        expect(aws.activities.startPipelineExecution).not.toHaveBeenCalled();
      } else {
        expect(aws.activities.createStack).not.toHaveBeenCalled();
        expect(aws.activities.startPipelineExecution).toHaveBeenCalledWith(
          expect.objectContaining({ pipelineName: 'cfn-gitops-development', appVersion: '2.3.4', requestKey: `${workflowId}/pipeline` }),
        );
      }
      if (stack === 'needsUpdate') {
        expect(aws.activities.updateStack).toHaveBeenCalledWith(change);
        expect(aws.activities.waitForStack).toHaveBeenCalledWith(expect.objectContaining({ stackName: 'cfn-gitops-development-pipeline', operation: 'update' }));
      } else {
        expect(aws.activities.updateStack).not.toHaveBeenCalled();
      }
    }, aws);
  });
});


describe('the version a deployment leaves', () => {
  it("is the AppVersion variable the succeeded execution ran with; without one, the environment stack's parameter", () => {
    const aws = new FakeAws();
    aws.activities.waitForPipelineExecution.mockImplementationOnce(async (ref) => ({ executionId: ref.executionId, status: 'Succeeded' }));
    aws.environmentVersion = '2.3.4-read-from-the-stack';
    return withEnvironment(
      'development',
      async ({ push: send, waitFor }) => {
        await send({ sha: '9b000000', generation: 1, appVersion: '2.3.4' });
        const first = await waitFor('the first deployment', ended(1));
        expect(first.deployedVersion).toBe('2.3.4-read-from-the-stack');
        expect(aws.activities.describeStack).toHaveBeenCalledTimes(1);

        await send({ sha: '9c000000', generation: 2, appVersion: '2.3.5' });
        const second = await waitFor('the second deployment', ended(2));
        expect(second.deployedVersion).toBe('2.3.5');
        expect(aws.activities.describeStack).toHaveBeenCalledTimes(1);
      },
      aws,
    );
  });
});

describe('a long-lived environment', () => {
  it('continues as new when its history grows, carrying what it applied, its count and its refusals', () =>
    withEnvironment('development', async ({ handle, push: send, pushStarting, waitFor, waitForDetails }) => {
      await pushStarting({ sha: 'c1000000', generation: 5, appVersion: '1.0.0' }, { continueAsNewAfterEvents: 15 });
      const firstRun = (await handle.describe()).runId;
      await waitFor('the first deployment', ended(1));
      // Idle past 15 events, the workflow continues as new; the run id changes, the state stays.
      const carried = await poll('a new run', () => handle.describe(), (d) => d.runId !== firstRun && d.status.name === 'RUNNING');
      expect(carried.runId).not.toBe(firstRun);
      const state = await handle.query(stateQuery);
      expect(state).toMatchObject({ deploymentCount: 1, deployedVersion: '1.0.0', applied: { commit: expect.stringMatching(/^c1000000/), generation: 5 } });
      expect(record(state, 1)).toMatchObject({ result: DeploymentResult.Succeeded, appVersion: '1.0.0' });
      expect(state.successfulVersions.map((v) => v.appVersion)).toEqual(['1.0.0']);

      // The new run still refuses going back, and numbers the next deployment 2.
      await send({ sha: 'c0400000', generation: 4, appVersion: '0.9.0' });
      await waitForDetails('the stale push said', (details) => /older than/.test(details));
      await send({ sha: 'c2000000', generation: 6, appVersion: '1.1.0' });
      const done = await waitFor('the second deployment', ended(2));
      expect(record(done, 2)).toMatchObject({ result: DeploymentResult.Succeeded, appVersion: '1.1.0' });
      expect(done.history.some((r) => r.appVersion === '0.9.0')).toBe(false);
      expect(done.successfulVersions.map((v) => v.appVersion)).toEqual(['1.1.0', '1.0.0']);
    }));
});

describe('a watcher of one request (start --wait)', () => {
  it('is told each phase and the result; one waiting when the run continues as new is answered first, and the next run answers from what it carried', () =>
    withEnvironment('development', async ({ aws, handle, pushStarting, waitFor }) => {
      const held = aws.hold('1.0.0');
      const desired = await pushStarting({ sha: 'e1000000', generation: 5, appVersion: '1.0.0' }, { continueAsNewAfterEvents: 25 });
      // A watch sent in the start's first task may be handled before its signal: `start --wait` watches only what its submit had answered.
      await waitFor('the push taken', (s) => s.current !== undefined);
      const firstRun = (await handle.describe()).runId;
      const watch = { commit: desired.commit.sha, action: Action.Sync };
      const seen: PhaseStep[] = [];
      while (!seen.some((step) => step.phase === DeployPhase.RunningPipeline)) {
        const answer = await handle.executeUpdate(watchRequestUpdate, { args: [{ ...watch, seenPhases: seen.length }] });
        expect(answer.outcome).toBe(WatchOutcome.Phases);
        expect(answer.phases.length).toBeGreaterThan(0);
        seen.push(...answer.phases);
      }
      expect(seen).toEqual([{ phase: DeployPhase.Queued }, { phase: DeployPhase.PublishingSource }, { phase: DeployPhase.RunningPipeline, pipelineExecutionId: 'exec-1.0.0' }]);

      // Two watchers wait on the running execution: one for its next phase, one for its end only.
      const next = await handle.startUpdate(watchRequestUpdate, { args: [{ ...watch, seenPhases: seen.length }], waitForStage: WorkflowUpdateStage.ACCEPTED });
      const end = await handle.startUpdate(watchRequestUpdate, { args: [watch], waitForStage: WorkflowUpdateStage.ACCEPTED });
      const ended = { outcome: WatchOutcome.Ended, phases: [], result: DeploymentResult.Succeeded, message: 'development: app 1.0.0 deployed by execution exec-1.0.0' };
      held.succeed();
      // The deployment ends and the run, past 25 events and idle, continues as new in the same task:
      // both watchers have their answer before it closes, so neither holds it.
      expect(await next.result()).toEqual(ended);
      expect(await end.result()).toEqual(ended);
      const carried = await poll('a new run', () => handle.describe(), (d) => d.runId !== firstRun && d.status.name === 'RUNNING');
      const { EventType } = temporal.api.enums.v1;
      const events = (await env.client.workflow.getHandle(handle.workflowId, firstRun).fetchHistory()).events ?? [];
      const types = events.map((event) => event.eventType);
      const completed = types.filter((type) => type === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED);
      // Each answer the loop above had, and the two at the end, all in the first run's history before it continued as new.
      expect(completed.length).toBeGreaterThanOrEqual(3);
      expect(types.indexOf(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW)).toBeGreaterThan(types.lastIndexOf(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED));

      // Asked again, as the starter asks after `continuing`, the next run answers from the history it carried.
      expect(await handle.executeUpdate(watchRequestUpdate, { args: [{ ...watch, seenPhases: seen.length }] })).toEqual(ended);
      expect((await handle.describe()).runId).toBe(carried.runId);
      // A request it never took is unknown there, and a malformed watch is refused before it enters the history.
      expect(await handle.executeUpdate(watchRequestUpdate, { args: [{ commit: 'f'.repeat(40), action: Action.Sync }] })).toEqual({ outcome: WatchOutcome.Unknown, phases: [] });
      await expect(handle.executeUpdate(watchRequestUpdate, { args: [{ commit: 'e1000000', action: Action.Sync }] })).rejects.toMatchObject({
        cause: { type: 'WatchRefused', message: 'invalid watch: commit: a 40-character SHA' },
      });
    }));
});

describe('a refused signal', () => {
  it('says why in the current details when there is nothing to cancel', () =>
    withEnvironment('development', async ({ push: send, signal, waitFor, waitForDetails }) => {
      await send({ sha: 'd1000000', generation: 1, appVersion: '1.0.0' });
      await waitFor('the deployment', ended(1));
      await signal(cancelSignal, { by: 'Carol' });
      const details = await waitForDetails('the refusal', (text) => /cancel by Carol ignored/.test(text));
      expect(details).toContain('cancel by Carol ignored: nothing runs or waits in development');
    }));
});

describe('a freeze window (CFN_GITOPS_FREEZE)', () => {
  /** The policy of FakeAws with the given freeze windows. */
  const freezing = (aws: FakeAws, freezes: FreezeWindow[]) =>
    aws.activities.getPolicy.mockImplementation(async (input) => ({
      protected: input.environment === 'prod' || input.repoProtected,
      approvalWindowMs: APPROVAL_WINDOW_MS,
      allowSelfApproval: false,
      selfHeal: false,
      region: input.region ?? 'us-east-1',
      freezes,
    }));
  const frozen = (state: EnvironmentState) => state.phase === DeployPhase.Frozen;

  it('holds a push in phase Frozen with AWS untouched, then deploys when the window ends', () => {
    const aws = new FakeAws();
    return withEnvironment(
      'development',
      async ({ push: send, waitFor, waitForDetails }) => {
        // A window of a few seconds that ends by itself: earlier tests may leave work that keeps
        // the server from skipping time, so the test waits for it in real time.
        const now = await env.currentTimeMs();
        const end = new Date(now + 6_000).toISOString();
        freezing(aws, [{ environments: ['dev*'], reason: 'release day', start: new Date(now - 60_000).toISOString(), end }]);
        await send({ sha: 'f1000000', generation: 1, appVersion: '1.0.0' });
        const held = await waitFor('the freeze', frozen);
        expect(held.frozenBy).toEqual({ source: 'window', reason: 'release day', until: end });
        expect(held.current).toMatchObject({ number: 1, appVersion: '1.0.0' });
        expect(await waitForDetails('the freeze in the details', (text) => text.includes('frozen: release day'))).toContain(`until ${end}`);
        expect(aws.callOrder()).toEqual(['getPolicy']);
        expect(aws.activities.startPipelineExecution).not.toHaveBeenCalled();

        const done = await waitFor('the deployment', ended(1));
        expect(done.lastResult).toMatchObject({ result: DeploymentResult.Succeeded, appVersion: '1.0.0' });
        expect(done.frozenBy).toBeUndefined();
        expect(Date.parse(done.lastResult!.endedAt!)).toBeGreaterThanOrEqual(Date.parse(end));
        expect(aws.activities.startPipelineExecution).toHaveBeenCalledTimes(1);
      },
      aws,
    );
  });

  it('lets a push through with an approval that overrides the freeze, refusing the author and a plain approval', () => {
    const aws = new FakeAws();
    return withEnvironment(
      'development',
      async ({ push: send, signal, waitFor, waitForDetails }) => {
        const now = await env.currentTimeMs();
        freezing(aws, [{ environments: ['development'], reason: 'weekend', cron: '0 0 * * *', durationMs: 86_400_000 }]);
        await send({ sha: 'f2000000', generation: 1, appVersion: '2.0.0' });
        const held = await waitFor('the freeze', frozen);
        expect(held.frozenBy).toMatchObject({ source: 'window', reason: 'weekend' });
        expect(Date.parse(held.frozenBy!.until!)).toBeGreaterThan(now);

        await signal(approveSignal, { by: 'Bob' });
        expect(await waitForDetails('the refusal', (text) => /approve by Bob ignored/.test(text))).toContain('approve --override-freeze lets it go ahead');
        await signal(approveSignal, { by: AUTHOR.email, overrideFreeze: true });
        expect(await waitForDetails('the refusal', (text) => /may not let it through the freeze/.test(text))).toContain('ask someone else');
        expect(aws.activities.startPipelineExecution).not.toHaveBeenCalled();

        await signal(approveSignal, { by: 'Bob', overrideFreeze: true, comment: 'hotfix' });
        const done = await waitFor('the deployment', ended(1));
        expect(done.lastResult).toMatchObject({ result: DeploymentResult.Succeeded, appVersion: '2.0.0', freezeOverriddenBy: 'Bob' });
        expect(aws.activities.startPipelineExecution).toHaveBeenCalledTimes(1);
      },
      aws,
    );
  });

  it('holds a push by a window of common/gitops.yaml too, which never shortens the orchestrator\'s', () => {
    const aws = new FakeAws();
    return withEnvironment(
      'development',
      async ({ push: send, waitFor, waitForDetails }) => {
        // Waited in real time, as the first window above.
        const now = await env.currentTimeMs();
        const end = new Date(now + 6_000).toISOString();
        freezing(aws, [{ environments: ['development'], reason: 'release day', start: new Date(now - 60_000).toISOString(), end }]);
        const settings = {
          freeze: [
            { environments: ['dev*'], reason: 'repo says short', start: new Date(now - 60_000).toISOString(), end: new Date(now + 1_000).toISOString() },
            { environments: ['prod'], reason: 'not this one', start: new Date(now - 60_000).toISOString(), end: new Date(now + 86_400_000).toISOString() },
          ],
        };
        await send({ sha: 'f4000000', generation: 1, appVersion: '4.0.0', settings });
        const held = await waitFor('the freeze', frozen);
        expect(held.frozenBy).toEqual({ source: 'window', reason: 'release day; repo says short (common/gitops.yaml)', until: end });
        expect(await waitForDetails('the freeze in the details', (text) => text.includes('frozen: release day'))).toContain(`until ${end}`);

        const done = await waitFor('the deployment', ended(1));
        expect(done.lastResult).toMatchObject({ result: DeploymentResult.Succeeded, appVersion: '4.0.0' });
        expect(Date.parse(done.lastResult!.endedAt!)).toBeGreaterThanOrEqual(Date.parse(end));
      },
      aws,
    );
  });

  it('ignores a push whose repo windows the workflow could not decide with, and takes the next', () => {
    const aws = new FakeAws();
    return withEnvironment(
      'development',
      async ({ push: send, waitFor, waitForDetails }) => {
        const bad = { freeze: [{ environments: ['development'], reason: 'weekend', cron: 'fridays', durationMs: 3_600_000 }] };
        await send({ sha: 'f5000000', generation: 1, appVersion: '5.0.0', settings: bad });
        expect(await waitForDetails('the refusal', (text) => text.includes('ignored'))).toContain(
          'desired state ignored: invalid desired state: settings.freeze.0.cron: a weekly rule such as "0 18 * * 5"',
        );
        await send({ sha: 'f5100000', generation: 2, appVersion: '5.1.0' });
        const done = await waitFor('the deployment', ended(1));
        expect(done.lastResult).toMatchObject({ result: DeploymentResult.Succeeded, appVersion: '5.1.0' });
        expect(aws.activities.startPipelineExecution).toHaveBeenCalledTimes(1);
      },
      aws,
    );
  });

  it('replaces a held push with a newer one (latest wins) and ends a cancelled one with AWS untouched', () => {
    const aws = new FakeAws();
    return withEnvironment(
      'development',
      async ({ push: send, signal, waitFor }) => {
        const now = await env.currentTimeMs();
        freezing(aws, [{ environments: ['*'], reason: 'incident', start: new Date(now - 60_000).toISOString(), end: new Date(now + 86_400_000).toISOString() }]);
        await send({ sha: 'f3000000', generation: 1, appVersion: '3.0.0' });
        await waitFor('the freeze', frozen);
        await send({ sha: 'f3100000', generation: 2, appVersion: '3.1.0' });
        const second = await waitFor('the newer push held', (s) => frozen(s) && s.current?.number === 2);
        expect(record(second, 1)).toMatchObject({ result: DeploymentResult.Superseded, message: 'replaced by a newer request while frozen (incident); AWS untouched' });
        await signal(cancelSignal, { by: 'Carol' });
        const done = await waitFor('the cancel', ended(2));
        expect(done.lastResult).toMatchObject({ result: DeploymentResult.Cancelled, message: 'cancelled by Carol while frozen; AWS untouched' });
        expect(aws.activities.startPipelineExecution).not.toHaveBeenCalled();
        expect(aws.activities.publishSource).not.toHaveBeenCalled();
      },
      aws,
    );
  });
});

describe('an expiring environment (expires, ttl)', () => {
  const expired = (state: EnvironmentState) => state.expired !== undefined && state.current === undefined && state.pending === undefined;
  const deletedStacks = (aws: FakeAws) => aws.activities.deleteStack.mock.calls.map(([ref]) => ref.stackName);

  it('deletes its stacks when its ttl passes, stays Expired for the same config, and comes back for a changed one', () =>
    withEnvironment('feature-a', async ({ aws, push: send, waitFor, waitForDetails }) => {
      // A ttl of a few seconds, waited in real time (see the freeze windows above).
      await send({ sha: 'e1000000', generation: 1, appVersion: '1.0.0', config: { ttl: '4s' } });
      const deployed = await waitFor('the deployment', ended(1));
      expect(record(deployed, 1)).toMatchObject({ result: DeploymentResult.Succeeded });
      expect(deployed.expiry?.rule).toBe(`ttl 4s from the first deploy at ${deployed.firstDeployedAt}`);
      expect(Date.parse(deployed.expiry!.at) - Date.parse(deployed.firstDeployedAt!)).toBe(4_000);
      expect(await waitForDetails('the expiry in the details', (text) => text.includes('expires: '))).toContain('(ttl 4s from the first deploy');

      const gone = await waitFor('the expiry', expired);
      expect(record(gone, 2)).toMatchObject({ action: Action.Delete, commit: 'e1000000'.padEnd(40, '0'), result: DeploymentResult.Succeeded });
      expect(Date.parse(record(gone, 2)!.startedAt!)).toBeGreaterThanOrEqual(Date.parse(deployed.expiry!.at));
      expect(deletedStacks(aws)).toEqual(['cfn-gitops-feature-a', 'cfn-gitops-feature-a-pipeline']);
      expect(gone).toMatchObject({ phase: DeployPhase.Expired, sync: { status: SyncStatus.Expired }, expired: { rule: deployed.expiry!.rule, commit: 'e1000000'.padEnd(40, '0') } });
      expect(gone.expiry).toBeUndefined();
      expect(gone.applied).toBeUndefined();

      // A push that leaves the config as it was (a common/ change) does not bring it back.
      await send({ sha: 'e2000000', generation: 2, appVersion: '1.0.0', config: { ttl: '4s' }, reason: 'common/ changed' });
      expect(await waitForDetails('the refusal', (text) => text.includes('stays expired'))).toContain('feature-a expired at');
      expect((await waitFor('no change', () => true)).deploymentCount).toBe(2);

      // A changed config brings it back, with its own expiry.
      await send({ sha: 'e3000000', generation: 3, appVersion: '1.1.0', config: { ttl: '1h' } });
      const back = await waitFor('the return', ended(3));
      expect(record(back, 3)).toMatchObject({ action: Action.Sync, appVersion: '1.1.0', result: DeploymentResult.Succeeded });
      expect(back).toMatchObject({ phase: DeployPhase.Idle, deployedVersion: '1.1.0', sync: { status: SyncStatus.Synced } });
      expect(back.expired).toBeUndefined();
      expect(Date.parse(back.expiry!.at) - Date.parse(back.firstDeployedAt!)).toBe(3_600_000);
    }));

  it('is deleted at once by a push whose expires has passed, without deploying it', () =>
    withEnvironment('feature-b', async ({ aws, push: send, waitFor, waitForDetails }) => {
      await send({ sha: 'e4000000', generation: 1, appVersion: '1.0.0' });
      await waitFor('the deployment', ended(1));
      await send({ sha: 'e5000000', generation: 2, appVersion: '1.0.0', config: { expires: '2020-01-01T00:00:00.000Z' } });
      const gone = await waitFor('the expiry', expired);
      expect(record(gone, 2)).toMatchObject({ action: Action.Delete, commit: 'e5000000'.padEnd(40, '0'), result: DeploymentResult.Succeeded });
      expect(gone.history.map((r) => r.action)).toEqual([Action.Delete, Action.Sync]);
      expect(aws.activities.startPipelineExecution).toHaveBeenCalledTimes(1);
      expect(gone).toMatchObject({ phase: DeployPhase.Expired, sync: { status: SyncStatus.Expired }, expired: { rule: 'expires 2020-01-01T00:00:00.000Z' } });
      expect(await waitForDetails('the expired line', (text) => text.includes('expired at'))).toContain('brings it back');

      // A later date brings it back.
      await send({ sha: 'e6000000', generation: 3, appVersion: '1.0.0', config: { expires: '2999-01-01T00:00:00.000Z' } });
      const back = await waitFor('the return', ended(3));
      expect(record(back, 3)).toMatchObject({ action: Action.Sync, result: DeploymentResult.Succeeded });
      expect(back.expiry).toEqual({ at: '2999-01-01T00:00:00.000Z', rule: 'expires 2999-01-01T00:00:00.000Z' });
    }));
});
