import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { rolloutWorkflowId, type RolloutState } from '../../common/rollout';
import type { EnvironmentStatus } from '../../common/status';
import { WorkflowType } from '../../common/messages';
import { eventually, startTestAws, type TestAws } from '../support/aws';
import { runCli, startWorkerProcess, type WorkerProcess } from '../support/cli';
import type { TestRepo } from '../support/gitops-repo';
import { TEST_NAMESPACES } from '../support/namespaces';
import { uniqueTaskQueue } from '../support/temporal';
import { cliStart, connectTemporal, createRepoWith, HISTORIES_DIR, historyFileName, operationsLog, operationsOf, workerEnv, ZEROS } from '../support/scenario';

/**
 * Rollout waves through the CLI on the dev server, a worker process and the emulator:
 * `waves: [[development], [staging], [prod]]` in common/gitops.yaml. A first push rolls out wave
 * by wave (`start --wait` waits for the whole rollout); a `common/` change whose first wave fails
 * halts the other two with nothing done in AWS there, and `status` shows the wave while it runs.
 */
describe('rollout waves', () => {
  let aws: TestAws;
  let worker: WorkerProcess;
  let env: NodeJS.ProcessEnv;
  let temporal: { client: Client; close(): Promise<void> };
  let repo: TestRepo;
  const taskQueue = uniqueTaskQueue('rollout');

  beforeAll(async () => {
    aws = await startTestAws();
    env = workerEnv(aws, TEST_NAMESPACES.rollout, taskQueue);
    [worker, temporal] = await Promise.all([startWorkerProcess(env), connectTemporal(TEST_NAMESPACES.rollout)]);
    repo = await createRepoWith({ development: '1.0.0', staging: '1.0.0', prod: '1.0.0' });
    await repo.commit('rollout waves', { 'common/gitops.yaml': 'waves: [[development], [staging], [prod]]\n' });
  });

  afterAll(async () => {
    // The new path is the rollout workflow's: its histories are recorded (the environments' are the other scenarios').
    if (temporal && process.env.CFN_GITOPS_RECORD_HISTORIES === '1') await recordRollouts(temporal.client);
    await worker?.stop();
    await temporal?.close();
    await aws?.close();
    repo?.remove();
  });

  /** The rollout workflows' histories, beside the environments' in test/histories/rollout. */
  async function recordRollouts(client: Client): Promise<void> {
    const dir = path.join(HISTORIES_DIR, 'rollout');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for await (const execution of client.workflow.list({ query: `TaskQueue = "${taskQueue}" AND WorkflowType = '${WorkflowType.Rollout}'` })) {
      const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
      writeFileSync(path.join(dir, historyFileName(execution.workflowId)), JSON.stringify(history) + '\n');
    }
  }

  it('a first push rolls out wave by wave, each wave after the one before has Succeeded, and start --wait waits for all of it', async () => {
    const head = await repo.head();
    const run = await cliStart(env, repo, ZEROS, head, { wait: true, timeoutMs: 240_000 });
    expect(run.code).toBe(0);
    expect(run.report.environments.map((e) => [e.environment, e.status])).toEqual([
      ['development', 'Succeeded'],
      ['prod', 'Succeeded'],
      ['staging', 'Succeeded'],
    ]);
    expect(run.report.notes).toContain(`rollout ${rolloutWorkflowId(head)}: wave 1 development; wave 2 staging; wave 3 prod`);
    // Each wave's first AWS operation starts after the last of the wave before has ended.
    const ops = await operationsLog(aws);
    const span = (environment: string) => {
      const mine = operationsOf(ops, environment);
      return { start: Math.min(...mine.map((op) => Date.parse(op.startedAt))), end: Math.max(...mine.map((op) => Date.parse(op.endedAt ?? '9999'))) };
    };
    expect(span('staging').start).toBeGreaterThanOrEqual(span('development').end);
    expect(span('prod').start).toBeGreaterThanOrEqual(span('staging').end);
    expect(await aws.appVersion('cfn-gitops-prod')).toBe('1.0.0');
  }, 300_000);

  it('a common/ change whose first wave fails halts the later waves: Halted with the reason, nothing done in AWS there', async () => {
    const before = await repo.head();
    const pipeline = readFileSync(path.join(repo.dir, 'common', 'pipeline.yaml'), 'utf8');
    const after = await repo.commit('common: pipeline description', { 'common/pipeline.yaml': `${pipeline}\n# rollout test: a changed template\n` });
    const reason = 'Deploy action failed: Environment health is Severe';
    await aws.control('POST', '/pipelines/cfn-gitops-development/next-executions', { outcome: 'Failed', message: reason, durationMs: 15_000 });
    const opsBefore = (await operationsLog(aws)).length;

    // start --wait runs while status is read: it waits for the whole rollout.
    const running = cliStart(env, repo, before, after, { wait: true, timeoutMs: 240_000 });
    // While wave 1 runs, status shows each environment's wave.
    let table = '';
    await eventually(async () => {
      table = (await runCli(['status'], { env })).stdout;
      return /prod .*\(wave 3 of 3\)/.test(table);
    }, 'status shows the rollout\'s waves', 30_000);
    expect(table).toMatch(/development .*\(wave 1 of 3\)/);
    expect(table).toMatch(/staging .*\(wave 2 of 3\)/);
    const detail = (await runCli(['status', 'prod'], { env })).stdout;
    expect(detail).toContain(`rollout: wave 3 of 3, waits for wave 1 (rollout of ${after.slice(0, 7)}, ${rolloutWorkflowId(after)})`);

    const state = (await temporal.client.workflow.getHandle(rolloutWorkflowId(after)).result()) as RolloutState;
    const run = await running;
    const failure = state.entries.find((e) => e.environment === 'development')?.message ?? '';
    expect(failure).toContain(reason);
    const halt = `wave 1: development's sync of ${after.slice(0, 7)} ended Failed: ${failure}`;
    expect(state.haltReason).toBe(halt);
    expect(run.code).toBe(1);
    expect(state.entries.map((e) => [e.environment, e.wave, e.status])).toEqual([
      ['development', 1, 'Failed'],
      ['staging', 2, 'Halted'],
      ['prod', 3, 'Halted'],
    ]);
    expect(state.entries.find((e) => e.environment === 'prod')?.message).toBe(halt);
    // Nothing was done in AWS for the halted waves; the failed one rolled back.
    const newOps = (await operationsLog(aws)).slice(opsBefore);
    expect(operationsOf(newOps, 'staging')).toEqual([]);
    expect(operationsOf(newOps, 'prod')).toEqual([]);
    expect(operationsOf(newOps, 'development').filter((op) => op.kind === 'pipeline').map((op) => op.status)).toEqual(['Failed']);

    expect(run.report.environments.map((e) => [e.environment, e.status, e.error])).toEqual([
      ['development', 'Failed', expect.stringContaining(reason)],
      ['prod', 'Halted', `prod: ${halt}`],
      ['staging', 'Halted', `staging: ${halt}`],
    ]);

    // Once the rollout has ended, status still says which environments it halted, and why.
    const rows = JSON.parse((await runCli(['status', '--json'], { env })).stdout) as EnvironmentStatus[];
    expect(rows.map((r) => [r.environment, r.rollout?.halted])).toEqual([
      ['development', undefined],
      ['prod', halt],
      ['staging', halt],
    ]);
    expect((await runCli(['status'], { env })).stdout).toMatch(/prod .*\(Halted, wave 3 of 3\)/);
    expect((await runCli(['status', 'staging'], { env })).stdout).toContain(`rollout: wave 2 of 3, Halted: ${halt} (rollout of ${after.slice(0, 7)}, ${rolloutWorkflowId(after)})`);
  }, 300_000);
});
