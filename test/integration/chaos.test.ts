import type { Client } from '@temporalio/client';
import { startTestAws, type TestAws } from '../support/aws';
import { startWorkerProcess, type WorkerProcess } from '../support/cli';
import type { TestRepo } from '../support/gitops-repo';
import { TEST_NAMESPACES } from '../support/namespaces';
import { uniqueTaskQueue } from '../support/temporal';
import {
  callLog,
  cliStart,
  configYaml,
  connectTemporal,
  createRepoWith,
  operationsLog,
  operationsOf,
  overlaps,
  recordHistories,
  waitForState,
  workerEnv,
  ZEROS,
  type Operation,
} from '../support/scenario';

/**
 * Worker chaos: five environments deploy (create, update, pipeline stack update, delete) while
 * the worker process is killed with SIGKILL at different points (a stack being created, a
 * pipeline's first execution, a pipeline stack update, a stack delete, an execution started by
 * the product, a push nobody has picked up yet) and started again. Every environment must end
 * as git says, with no stack created twice, no execution started twice and nothing overlapping.
 */
describe('worker chaos', () => {
  let aws: TestAws;
  let worker: WorkerProcess;
  let repo: TestRepo;
  let env: NodeJS.ProcessEnv;
  let temporal: { client: Client; close(): Promise<void> };
  const taskQueue = uniqueTaskQueue('chaos');
  /** Where each kill landed, for the failure message and the report. */
  const kills: string[] = [];

  /** Waits until `what` shows in the emulator's logs, then kills the worker and starts a new one. */
  async function killWhen(point: string, seen: (ops: Operation[]) => boolean, downMs = 0): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (!seen(await operationsLog(aws))) {
      if (Date.now() > deadline) throw new Error(`never saw ${point}; kills so far: ${kills.join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await worker.kill();
    kills.push(point);
    if (downMs) await new Promise((resolve) => setTimeout(resolve, downMs));
    worker = await startWorkerProcess(env);
  }
  const running = (operation: string, target: string) => (ops: Operation[]) => ops.some((op) => op.operation === operation && op.target === target && !op.endedAt);

  /** Every environment's last deployment is `commits[env]` and it succeeded; deleted ones are Deleted. */
  async function settled(commits: Record<string, string>, deleted: string[] = []) {
    for (const [environment, commit] of Object.entries(commits)) {
      const done = deleted.includes(environment)
        ? (s: Awaited<ReturnType<typeof waitForState>>) => s.phase === 'Deleted' && s.lastResult?.commit === commit
        : (s: Awaited<ReturnType<typeof waitForState>>) => !s.current && !s.pending && s.lastResult?.commit === commit && s.lastResult.result === 'Succeeded';
      await waitForState(temporal.client, environment, done, `done with ${commit.slice(0, 7)}`, 120_000);
    }
  }

  beforeAll(async () => {
    // Slower than elsewhere, so that each kill lands inside the phase it aims at.
    aws = await startTestAws({ stackDelayMs: 1_500, actionDelayMs: 1_000 });
    env = workerEnv(aws, TEST_NAMESPACES.chaos, taskQueue);
    [worker, repo, temporal] = await Promise.all([
      startWorkerProcess(env),
      createRepoWith({ alpha: '1.0.0', bravo: '1.0.0', charlie: '1.0.0', delta: '1.0.0', echo: '1.0.0' }),
      connectTemporal(TEST_NAMESPACES.chaos),
    ]);
  });

  afterAll(async () => {
    if (temporal) await recordHistories(temporal.client, 'chaos', taskQueue, ['alpha', 'delta']);
    await worker?.stop();
    await temporal?.close();
    await aws?.close();
    repo?.remove();
  });

  // Six kills, each noticed when a poll attempt or a call times out: more time than the default on a busy machine.
  it('every environment ends as git says, however often the worker is killed', async () => {
    const all = ['alpha', 'bravo', 'charlie', 'delta', 'echo'];
    // Push 1: five new environments.
    // Long enough phases for the kills to land in: they happen in AWS while the worker is down.
    await aws.control('POST', '/pipelines/cfn-gitops-echo/next-executions', { outcome: 'Succeeded', durationMs: 12_000 });
    await aws.control('POST', '/pipelines/cfn-gitops-bravo/next-executions', [{ outcome: 'Succeeded' }, { outcome: 'Succeeded', durationMs: 25_000 }]);
    await aws.control('POST', '/stacks/next-operations', [
      { stackName: 'cfn-gitops-charlie-pipeline', operation: 'UPDATE', delayMs: 4_000 },
      { stackName: 'cfn-gitops-delta', operation: 'DELETE', delayMs: 3_000 },
      { stackName: 'cfn-gitops-delta-pipeline', operation: 'DELETE', delayMs: 3_000 },
    ]);
    const first = await repo.head();
    const created = await cliStart(env, repo, ZEROS, first);
    expect(created.report.environments.map((e) => e.status)).toEqual(all.map(() => 'accepted'));
    await killWhen('pipeline stacks being created', running('CREATE_STACK', 'cfn-gitops-charlie-pipeline'));
    await killWhen("a new pipeline's first execution", running('PIPELINE_EXECUTION', 'cfn-gitops-echo'));
    await settled(Object.fromEntries(all.map((e) => [e, first])));

    // Push 2: two new versions, a pipeline parameter change, a removed folder.
    const second = await repo.commit('alpha, bravo: 1.1.0; charlie: larger instances; remove delta', {
      'alpha/config.yaml': configYaml('1.1.0'),
      'bravo/config.yaml': configYaml('1.1.0'),
      'charlie/config.yaml': configYaml('1.0.0', 't3.large'),
      delta: null,
    });
    const changed = await cliStart(env, repo, first, second);
    expect(changed.report.environments.map((e) => [e.environment, e.action, e.status])).toEqual([
      ['alpha', 'sync', 'accepted'],
      ['bravo', 'sync', 'accepted'],
      ['charlie', 'sync', 'accepted'],
      ['delta', 'delete', 'accepted'],
    ]);
    await killWhen('a pipeline stack update', running('UPDATE_STACK', 'cfn-gitops-charlie-pipeline'));
    await killWhen('a stack delete', (ops) => running('DELETE_STACK', 'cfn-gitops-delta')(ops) || running('DELETE_STACK', 'cfn-gitops-delta-pipeline')(ops));
    await killWhen('an execution the product started', (ops) => ops.filter((op) => op.target === 'cfn-gitops-bravo' && op.kind === 'pipeline').length === 2 && running('PIPELINE_EXECUTION', 'cfn-gitops-bravo')(ops));
    await settled({ alpha: second, bravo: second, charlie: second, delta: second }, ['delta']);

    // Push 3: the worker dies before anything happened and stays down a while.
    const third = await repo.commit('alpha: 1.2.0, echo: 1.1.0', { 'alpha/config.yaml': configYaml('1.2.0'), 'echo/config.yaml': configYaml('1.1.0') });
    const last = await cliStart(env, repo, second, third);
    expect(last.report.environments.map((e) => e.status)).toEqual(['accepted', 'accepted']);
    await killWhen('a push nobody has picked up yet', () => true, 3_000);
    await settled({ alpha: third, bravo: second, charlie: second, echo: third });

    expect(kills).toHaveLength(5 + 1);

    // What AWS holds is what git says.
    expect(await aws.appVersion('cfn-gitops-alpha')).toBe('1.2.0');
    expect(await aws.appVersion('cfn-gitops-bravo')).toBe('1.1.0');
    expect(await aws.appVersion('cfn-gitops-charlie')).toBe('1.0.0');
    expect(await aws.appVersion('cfn-gitops-echo')).toBe('1.1.0');
    const charlie = (await aws.stack('cfn-gitops-charlie-pipeline'))?.Parameters ?? [];
    expect(charlie.find((p) => p.ParameterKey === 'InstanceType')?.ParameterValue).toBe('t3.large');
    expect(await aws.stack('cfn-gitops-delta')).toBeUndefined();
    expect(await aws.stack('cfn-gitops-delta-pipeline')).toBeUndefined();

    // Exactly once: one create per pipeline stack, one execution per desired state, each with its own token.
    const ops = await operationsLog(aws);
    const expectedExecutions: Record<string, string[]> = {
      alpha: ['1.0.0', '1.1.0', '1.2.0'],
      bravo: ['1.0.0', '1.1.0'],
      charlie: ['1.0.0', '1.0.0'],
      echo: ['1.0.0', '1.1.0'],
    };
    for (const environment of all) {
      const mine = operationsOf(ops, environment);
      expect([environment, mine.filter((op) => op.operation === 'CREATE_STACK' && op.target === `cfn-gitops-${environment}-pipeline`).length]).toEqual([environment, 1]);
      const executions = mine.filter((op) => op.kind === 'pipeline');
      expect(executions.every((op) => op.status === 'Succeeded')).toBe(true);
      const started = executions.filter((op) => op.clientRequestToken);
      expect(new Set(started.map((op) => op.clientRequestToken)).size).toBe(started.length);
      if (expectedExecutions[environment]) {
        expect([environment, (await aws.executions(`cfn-gitops-${environment}`)).map((e) => [e.appVersion, e.status])]).toEqual([
          environment,
          expectedExecutions[environment]!.map((version) => [version, 'Succeeded']),
        ]);
      }
    }
    // The calls that create: retried after a crash, answered by the token, never a second stack or execution.
    // The bootstrap stack was made before the chaos began (startTestAws runs cfn-gitops bootstrap).
    const creates = (await callLog(aws, 'CreateStack')).filter((call) => call.status === 200 && call.target !== 'cfn-gitops-bootstrap');
    const starts = (await callLog(aws, 'StartPipelineExecution')).filter((call) => call.status === 200);
    expect(new Set(creates.map((c) => c.target)).size).toBe(all.length);
    expect(new Set(starts.map((c) => c.target))).toEqual(new Set(['cfn-gitops-alpha', 'cfn-gitops-bravo', 'cfn-gitops-charlie', 'cfn-gitops-echo']));
    expect(ops.filter((op) => !op.endedAt)).toEqual([]);
    expect(overlaps(ops)).toEqual([]);
  }, 300_000);
});
