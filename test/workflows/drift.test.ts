/**
 * The drift sweep workflow on the time-skipping server: bounded concurrency, one entry per
 * environment, self-heal only where the policy allows it (and approval still gating a protected
 * environment), and a check that keeps failing reported as Unknown. The sweep's two activities
 * are jest mocks typed as the real ones; the environment workflows are the real ones over FakeAws.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/activity';
import { Worker } from '@temporalio/worker';
import type { Activities } from '../../activities';
import type { DriftCheck, SweepTarget } from '../../activities/drift';
import { ErrorType } from '../../common/errors';
import { desiredStateSignal, stateQuery, WorkflowType } from '../../common/messages';
import { environmentWorkflowId } from '../../common/names';
import { DeployPhase, DeploymentResult, SyncStatus, type DesiredState, type EnvironmentState, type SyncReport } from '../../common/types';
import type { environmentWorkflow } from '../../workflows/environment';
import type { DriftSweepResult, driftSweepWorkflow } from '../../workflows/drift';
import { testWorkflowSource, uniqueTaskQueue, useTimeSkippingEnv } from '../support/temporal';
import { desiredState, FakeAws } from '../support/workflow-fixtures';

let env: TestWorkflowEnvironment;
useTimeSkippingEnv((created) => (env = created));

type SweepMocks = {
  listSweepTargets: jest.Mock<ReturnType<Activities['listSweepTargets']>, Parameters<Activities['listSweepTargets']>>;
  checkEnvironmentSync: jest.Mock<ReturnType<Activities['checkEnvironmentSync']>, Parameters<Activities['checkEnvironmentSync']>>;
};

const target = (environment: string, options: Partial<SweepTarget> = {}): SweepTarget => ({
  environment,
  workflowId: environmentWorkflowId(environment),
  stackPrefix: 'cfn-gitops-',
  region: 'us-east-1',
  selfHeal: false,
  ...options,
});

const report = (status: SyncReport['status'], options: Partial<SyncReport> = {}): SyncReport => ({
  status,
  checkedAt: '2024-05-01T12:00:00.000Z',
  desiredVersion: '1.4.2',
  deployedVersion: status === SyncStatus.OutOfSync ? '1.0.0' : '1.4.2',
  drifted: [],
  message: `${status} in the test`,
  ...options,
});

/** A worker serving the sweep (with `sweep` as its activities) and the environment workflows (over `aws`). */
async function withWorker(sweep: SweepMocks, body: (taskQueue: string) => Promise<void>, aws = new FakeAws()): Promise<void> {
  const taskQueue = uniqueTaskQueue('drift');
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    ...testWorkflowSource(),
    activities: { ...aws.activities, ...sweep },
  });
  await worker.runUntil(body(taskQueue));
}

function sweep(taskQueue: string, input: { environment?: string; concurrency?: number } = {}): Promise<DriftSweepResult> {
  return env.client.workflow.execute<typeof driftSweepWorkflow>(WorkflowType.DriftSweep, {
    taskQueue,
    workflowId: `drift-test-${Math.random().toString(36).slice(2)}`,
    args: [input],
  });
}

async function startEnvironment(taskQueue: string, desired: DesiredState) {
  const handle = await env.client.workflow.signalWithStart<typeof environmentWorkflow, [DesiredState]>(WorkflowType.Environment, {
    workflowId: environmentWorkflowId(desired.environment),
    taskQueue,
    args: [{ environment: desired.environment }],
    signal: desiredStateSignal,
    signalArgs: [desired],
  });
  return handle;
}

async function waitForState(environment: string, what: string, ok: (state: EnvironmentState) => boolean, timeoutMs = 20_000): Promise<EnvironmentState> {
  const handle = env.client.workflow.getHandle(environmentWorkflowId(environment));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await handle.query(stateQuery);
    if (ok(state)) return state;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${environment}: ${what}; last seen: ${JSON.stringify(state, null, 2)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function terminate(environments: string[]): Promise<void> {
  for (const environment of environments) {
    await env.client.workflow.getHandle(environmentWorkflowId(environment)).terminate('test over').catch(() => undefined);
  }
}

describe('driftSweepWorkflow', () => {
  it('checks every environment once, never more than `concurrency` at a time, counts the statuses, and does not heal a drift a re-deploy already failed to fix', async () => {
    const names = ['a1', 'b2', 'c3', 'd4', 'e5', 'f6', 'g7'];
    let inFlight = 0;
    let most = 0;
    const mocks: SweepMocks = {
      listSweepTargets: jest.fn(async (_input: { environment?: string }) => ({ targets: names.map((n) => target(n, { selfHeal: n === 'c3' })), concurrency: 8 })),
      checkEnvironmentSync: jest.fn(async (t: SweepTarget): Promise<DriftCheck> => {
        inFlight += 1;
        most = Math.max(most, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 30));
        inFlight -= 1;
        const status = t.environment === 'c3' ? SyncStatus.Drifted : SyncStatus.Synced;
        // c3 was re-deployed already and is still drifted: another re-deploy would not help.
        return { environment: t.environment, workflowId: t.workflowId, report: report(status), reported: true, redeployedAlready: t.environment === 'c3' };
      }),
    };
    await withWorker(mocks, async (taskQueue) => {
      const result = await sweep(taskQueue, { concurrency: 3 });
      expect(most).toBe(3);
      expect(mocks.checkEnvironmentSync).toHaveBeenCalledTimes(names.length);
      expect(result.entries.map((e) => [e.environment, e.status])).toEqual(names.map((n) => [n, n === 'c3' ? 'Drifted' : 'Synced']));
      expect(result.counts).toEqual({ Synced: 6, Drifted: 1 });
      expect(result.entries.some((e) => e.healRequested !== undefined)).toBe(false);
      expect(result.entries[2]!.healSkipped).toMatch(/already deployed again and the drift remains/);
    });
  });

  it("uses the worker's concurrency when the input names none, and leaves out environments with nothing to report", async () => {
    let inFlight = 0;
    let most = 0;
    const mocks: SweepMocks = {
      listSweepTargets: jest.fn(async (_input: { environment?: string }) => ({ targets: ['a', 'b', 'c', 'd'].map((n) => target(n)), concurrency: 2 })),
      checkEnvironmentSync: jest.fn(async (t: SweepTarget): Promise<DriftCheck> => {
        inFlight += 1;
        most = Math.max(most, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 30));
        inFlight -= 1;
        return { environment: t.environment, report: t.environment === 'b' ? undefined : report(SyncStatus.Synced), reported: false };
      }),
    };
    await withWorker(mocks, async (taskQueue) => {
      const result = await sweep(taskQueue, { environment: 'a' });
      expect(mocks.listSweepTargets).toHaveBeenCalledWith({ environment: 'a' });
      expect(most).toBe(2);
      expect(result.environment).toBe('a');
      expect(result.entries.map((e) => e.environment)).toEqual(['a', 'c', 'd']);
    });
  });

  it('asks a self-heal environment to deploy again when OutOfSync or Drifted; a protected one waits for approval; others are left alone', async () => {
    const aws = new FakeAws();
    const names = ['development', 'staging', 'prod'];
    const mocks: SweepMocks = {
      listSweepTargets: jest.fn(async (_input: { environment?: string }) => ({
        targets: [target('development', { selfHeal: true }), target('staging'), target('prod', { selfHeal: true })],
        concurrency: 4,
      })),
      checkEnvironmentSync: jest.fn(async (t: SweepTarget): Promise<DriftCheck> => ({
        environment: t.environment,
        workflowId: t.workflowId,
        report: report(t.environment === 'development' ? SyncStatus.Drifted : SyncStatus.OutOfSync),
        reported: true,
        redeployedAlready: false,
      })),
    };
    await withWorker(
      mocks,
      async (taskQueue) => {
        try {
          // prod is protected (FakeAws's policy): approve its first deploy so that it has something to heal.
          for (const [i, environment] of names.entries()) await startEnvironment(taskQueue, desiredState(environment, { sha: `c0ffee${i}`, generation: 5, appVersion: '1.4.2' }));
          await waitForState('prod', 'the approval gate', (s) => s.phase === DeployPhase.WaitingForApproval);
          await env.client.workflow.getHandle(environmentWorkflowId('prod')).signal('approve', { by: 'Alice' });
          for (const environment of names) await waitForState(environment, 'the first deploy', (s) => s.lastResult?.result === DeploymentResult.Succeeded);
          const executionsBefore = aws.activities.startPipelineExecution.mock.calls.length;
          expect(executionsBefore).toBe(3);

          const result = await sweep(taskQueue);
          expect(result.entries.map((e) => [e.environment, e.status, e.healRequested ?? false])).toEqual([
            ['development', 'Drifted', true],
            ['staging', 'OutOfSync', false],
            ['prod', 'OutOfSync', true],
          ]);

          const healed = await waitForState('development', 'the self-heal deploy', (s) => s.deploymentCount === 2 && s.lastResult?.number === 2);
          expect(healed.lastResult).toMatchObject({ result: DeploymentResult.Succeeded, appVersion: '1.4.2' });
          expect(healed.history[0]).toMatchObject({ number: 2, commit: 'c0ffee0'.padEnd(40, '0') });
          const prod = await waitForState('prod', 'the approval gate of the heal', (s) => s.phase === DeployPhase.WaitingForApproval && s.deploymentCount === 2);
          expect(prod.approval).toMatchObject({ newVersion: '1.4.2' });
          const staging = await waitForState('staging', 'its state', () => true);
          expect(staging.deploymentCount).toBe(1);
          // One new execution: development's. prod waits for a person; staging was not asked.
          const started = aws.activities.startPipelineExecution.mock.calls.slice(executionsBefore).map(([ref]) => ref.pipelineName);
          expect(started).toEqual(['cfn-gitops-development']);
        } finally {
          await terminate(names);
        }
      },
      aws,
    );
  });

  it('does not ask for self-heal while a request is in hand, and says why it skips drift a re-deploy left in place', async () => {
    const mocks: SweepMocks = {
      listSweepTargets: jest.fn(async (_input: { environment?: string }) => ({ targets: [target('gated', { selfHeal: true }), target('stubborn', { selfHeal: true })], concurrency: 2 })),
      checkEnvironmentSync: jest.fn(async (t: SweepTarget): Promise<DriftCheck> =>
        t.environment === 'gated'
          ? { environment: t.environment, workflowId: t.workflowId, report: report(SyncStatus.OutOfSync), reported: true, requestInHand: true }
          : { environment: t.environment, workflowId: t.workflowId, report: report(SyncStatus.Drifted), reported: true, redeployedAlready: true },
      ),
    };
    await withWorker(mocks, async (taskQueue) => {
      const result = await sweep(taskQueue);
      expect(result.entries.map((e) => [e.environment, e.status, e.healRequested, e.healSkipped])).toEqual([
        ['gated', 'OutOfSync', undefined, undefined],
        ['stubborn', 'Drifted', undefined, 'this commit was already deployed again and the drift remains; fix the resources by hand or through the template'],
      ]);
    });
  });

  it('retries a throttled check, and reports a check that keeps failing as Unknown to the environment workflow', async () => {
    const attempts = new Map<string, number>();
    const mocks: SweepMocks = {
      listSweepTargets: jest.fn(async (_input: { environment?: string }) => ({ targets: [target('development'), target('featureX')], concurrency: 2 })),
      checkEnvironmentSync: jest.fn(async (t: SweepTarget): Promise<DriftCheck> => {
        const n = (attempts.get(t.environment) ?? 0) + 1;
        attempts.set(t.environment, n);
        if (t.environment === 'featureX') {
          throw ApplicationFailure.create({ type: ErrorType.AccessDenied, nonRetryable: true, message: 'featureX: DescribeStacks cfn-gitops-featureX: User is not authorized to perform cloudformation:DescribeStacks' });
        }
        if (n === 1) throw ApplicationFailure.create({ type: ErrorType.Throttled, message: 'development: DetectStackDrift cfn-gitops-development: Rate exceeded' });
        return { environment: t.environment, workflowId: t.workflowId, report: report(SyncStatus.Synced), reported: true };
      }),
    };
    await withWorker(mocks, async (taskQueue) => {
      try {
        await startEnvironment(taskQueue, desiredState('featureX', { sha: 'beef01', generation: 3, appVersion: '2.0.0' }));
        await waitForState('featureX', 'the first deploy', (s) => s.lastResult?.result === DeploymentResult.Succeeded);

        const result = await sweep(taskQueue);
        expect(attempts.get('development')).toBe(2);
        expect(attempts.get('featureX')).toBe(1);
        expect(result.entries.map((e) => [e.environment, e.status])).toEqual([
          ['development', 'Synced'],
          ['featureX', 'Unknown'],
        ]);
        expect(result.entries[1]!.message).toBe('could not check: featureX: DescribeStacks cfn-gitops-featureX: User is not authorized to perform cloudformation:DescribeStacks');
        const state = await waitForState('featureX', 'the Unknown report', (s) => s.sync?.status === SyncStatus.Unknown);
        expect(state.sync?.message).toContain('not authorized');
      } finally {
        await terminate(['featureX']);
      }
    });
  });
});
