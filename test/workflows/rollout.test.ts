/**
 * The rollout workflow on the time-skipping server, its two activities jest mocks typed as the
 * real ones: waves in order, a later wave only after every environment of the one before has
 * Succeeded and the bake has passed, a failure or an invalid config halting the later waves
 * (never submitted), and a newer push superseding the rollout.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { Activities } from '../../activities';
import { rolloutStateQuery, supersedeRolloutSignal, WorkflowType } from '../../common/messages';
import { RolloutStatus, rolloutWorkflowId, type RolloutInput, type RolloutMember, type RolloutState, type WaveEnd } from '../../common/rollout';
import { Action, DeploymentResult, SubmitOutcome } from '../../common/types';
import type { rolloutWorkflow } from '../../workflows/rollout';
import { testWorkflowSource, uniqueTaskQueue, useTimeSkippingEnv } from '../support/temporal';
import { desiredState } from '../support/workflow-fixtures';

let env: TestWorkflowEnvironment;
useTimeSkippingEnv((created) => (env = created));

const SHA = 'a'.repeat(40);
const NEWER = 'b'.repeat(40);

type Mocks = {
  submitWave: jest.Mock<ReturnType<Activities['submitWave']>, Parameters<Activities['submitWave']>>;
  watchWave: jest.Mock<ReturnType<Activities['watchWave']>, Parameters<Activities['watchWave']>>;
};

const member = (environment: string): RolloutMember => ({ environment, action: Action.Sync, follows: null, desired: desiredState(environment, { sha: SHA, generation: 2 }) });

/** Activities that accept every submit and end each request with `results[env]` (Succeeded by default) once `release(env)` allows. */
function mocks(results: Record<string, DeploymentResult> = {}, gate?: Promise<void>): Mocks {
  return {
    submitWave: jest.fn(async ({ members }) => members.map((m) => ({ environment: m.environment, outcome: SubmitOutcome.Accepted, message: 'accepted' }))),
    watchWave: jest.fn(async ({ requests }) => {
      await gate;
      return requests.map((r): WaveEnd => ({ environment: r.environment, result: results[r.environment] ?? DeploymentResult.Succeeded, message: results[r.environment] ? `${r.environment}: CreateStack failed: ROLLBACK_COMPLETE` : 'deployed' }));
    }),
  };
}

async function run(activities: Mocks, input: RolloutInput, body?: (handle: Awaited<ReturnType<TestWorkflowEnvironment['client']['workflow']['start']>>) => Promise<void>): Promise<RolloutState> {
  const taskQueue = uniqueTaskQueue('rollout');
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, ...testWorkflowSource(), activities });
  return worker.runUntil(async () => {
    const handle = await env.client.workflow.start<typeof rolloutWorkflow>(WorkflowType.Rollout, { taskQueue, workflowId: `${rolloutWorkflowId(SHA)}-${taskQueue}`, args: [input] });
    await body?.(handle);
    return handle.result();
  });
}

const statuses = (state: RolloutState) => Object.fromEntries(state.entries.map((e) => [e.environment, e.status]));
const submitted = (m: Mocks) => m.submitWave.mock.calls.map(([input]) => input.members.map((x) => x.environment));

describe('rolloutWorkflow', () => {
  it('deploys wave by wave, each after the one before has Succeeded and the bake has passed', async () => {
    const activities = mocks();
    const waves = [[member('development'), member('featureX')], [member('staging')], [member('prod')]];
    const started = Date.now();
    const state = await run(activities, { commit: SHA, waves, bakeMs: 600_000 });
    expect(submitted(activities)).toEqual([['development', 'featureX'], ['staging'], ['prod']]);
    expect(statuses(state)).toEqual({ development: 'Succeeded', featureX: 'Succeeded', staging: 'Succeeded', prod: 'Succeeded' });
    expect(state).toMatchObject({ wave: 3, waves: 3, done: true });
    expect(state.haltReason).toBeUndefined();
    // Two bakes of 10 minutes, skipped by the test server's clock.
    expect((await env.currentTimeMs()) - started).toBeGreaterThanOrEqual(1_200_000);
  });

  it('halts the later waves when an environment of a wave fails: never submitted, with which environment and deployment', async () => {
    const activities = mocks({ featureX: DeploymentResult.Failed });
    const waves = [[member('development'), member('featureX')], [member('staging')], [member('prod')]];
    const state = await run(activities, { commit: SHA, waves, bakeMs: 0 });
    expect(submitted(activities)).toEqual([['development', 'featureX']]);
    expect(statuses(state)).toEqual({ development: 'Succeeded', featureX: 'Failed', staging: 'Halted', prod: 'Halted' });
    expect(state.haltReason).toBe(`wave 1: featureX's sync of aaaaaaa ended Failed: featureX: CreateStack failed: ROLLBACK_COMPLETE`);
    expect(state.entries.find((e) => e.environment === 'prod')?.message).toBe(state.haltReason);
  });

  it.each([DeploymentResult.Rejected, DeploymentResult.Cancelled])('halts the later waves when a deployment ends %s', async (result) => {
    const activities = mocks({ staging: result });
    const state = await run(activities, { commit: SHA, waves: [[member('staging')], [member('prod')]], bakeMs: 0 });
    expect(statuses(state)).toEqual({ staging: result, prod: RolloutStatus.Halted });
  });

  it('halts the later waves when an environment of a wave has an invalid config, and submits the rest of that wave', async () => {
    const activities = mocks();
    const invalid: RolloutMember = { environment: 'featureX', action: Action.Sync, follows: null, error: 'featureX/config.yaml:1: appVersion: is required' };
    const state = await run(activities, { commit: SHA, waves: [[member('development'), invalid], [member('prod')]], bakeMs: 0 });
    expect(submitted(activities)).toEqual([['development']]);
    expect(statuses(state)).toEqual({ development: 'Succeeded', featureX: 'invalid', prod: 'Halted' });
    expect(state.haltReason).toContain('featureX/config.yaml:1: appVersion: is required');
  });

  it('halts the later waves when a submit is refused as stale (a newer commit took the environment)', async () => {
    const activities = mocks();
    activities.submitWave.mockImplementation(async ({ members }) => members.map((m) => ({ environment: m.environment, outcome: SubmitOutcome.Stale, message: 'older than bbbbbbb' })));
    const state = await run(activities, { commit: SHA, waves: [[member('development')], [member('prod')]], bakeMs: 0 });
    expect(statuses(state)).toEqual({ development: 'stale', prod: 'Halted' });
    expect(activities.watchWave).not.toHaveBeenCalled();
  });

  it('is superseded by a newer push: stops waiting for the running wave and halts the later ones', async () => {
    let open!: () => void;
    const activities = mocks({}, new Promise<void>((resolve) => (open = resolve)));
    const state = await run(activities, { commit: SHA, waves: [[member('development')], [member('staging')], [member('prod')]], bakeMs: 0 }, async (handle) => {
      for (;;) {
        const now = await handle.query(rolloutStateQuery);
        if (now.entries[0]!.status === RolloutStatus.Running) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect((await handle.query(rolloutStateQuery)).wave).toBe(1);
      await handle.signal(supersedeRolloutSignal, { by: NEWER });
      await handle.result();
      // The worker stops only when its activities have ended.
      open();
    });
    expect(submitted(activities)).toEqual([['development']]);
    expect(statuses(state)).toEqual({ development: 'Running', staging: 'Halted', prod: 'Halted' });
    expect(state.haltReason).toBe('superseded by push bbbbbbb');
    expect(state.entries[0]!.message).toBe('handed over to push bbbbbbb');
  });

  it('ignores a supersede signal that names no commit', async () => {
    const activities = mocks();
    const state = await run(activities, { commit: SHA, waves: [[member('development')], [member('prod')]], bakeMs: 1_000 }, async (handle) => {
      await handle.signal(supersedeRolloutSignal, { by: 'soon' });
    });
    expect(statuses(state)).toEqual({ development: 'Succeeded', prod: 'Succeeded' });
  });
});
