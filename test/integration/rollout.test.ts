import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { rolloutWorkflowId, type RolloutState } from '../../common/rollout';
import type { EnvironmentStatus } from '../../common/status';
import { rolloutStateQuery, WorkflowType } from '../../common/messages';
import { environmentWorkflowId } from '../../common/names';
import type { DesiredState } from '../../common/types';
import { eventually, startTestAws, type TestAws } from '../support/aws';
import { runCli, startWorkerProcess, type WorkerProcess } from '../support/cli';
import { createTestRepo, type TestRepo } from '../support/gitops-repo';
import { TEST_NAMESPACES } from '../support/namespaces';
import { uniqueTaskQueue } from '../support/temporal';
import { freePort, startDevServer } from '../../worker/dev-server';
import { cliStart, configYaml, connectTemporal, createRepoWith, HISTORIES_DIR, historyFileName, operationsLog, operationsOf, waitForState, workerEnv, ZEROS } from '../support/scenario';

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

  it('a push of 600 environments whose commit message is 100 KB starts its rollout: the commit, settings and templates cross once, and each environment takes the first 4 KB of the message', async () => {
    // Each desired state used to carry all of it: 600 copies of the message passed the 2 MB a
    // payload may hold, and a message over 64 KB was refused by every environment workflow.
    const wide = await createTestRepo();
    try {
      const names = Array.from({ length: 600 }, (_, i) => `wide-${String(i).padStart(4, '0')}`);
      const message = `wide push\n\n${'a long release note. '.repeat(5_000).trimEnd()}`;
      const files: Record<string, string | null> = { development: null, featureX: null, prod: null, 'common/gitops.yaml': 'waves: [[wide-0000]]\nbake: 1h\n' };
      for (const name of names) files[`${name}/config.yaml`] = configYaml('1.0.0');
      const head = await wide.commit(message, files);

      const run = await cliStart(env, wide, ZEROS, head);
      expect(run.code).toBe(0);
      expect(run.report.notes).toContain(`rollout ${rolloutWorkflowId(head)}: wave 1 wide-0000; wave 2 ${names.slice(1).join(', ')}; bake 3600s between waves`);
      const first = await waitForState(temporal.client, 'wide-0000', (s) => s.applied?.commit === head, 'deployed by wave 1', 120_000);
      expect(first.applied?.appVersion).toBe('1.0.0');

      const rollout = temporal.client.workflow.getHandle(rolloutWorkflowId(head));
      const history = await rollout.fetchHistory();
      const inputBytes = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!.data!.length;
      expect(inputBytes).toBeLessThan(300_000);
      const state = await rollout.query(rolloutStateQuery);
      expect(state.entries).toHaveLength(600);
      expect(state.entries.filter((e) => e.status === 'Waiting')).toHaveLength(599);

      // wide-0000's request carried the message cut at 4 KB, saying so.
      const decoded = await keptMessage('wide-0000');
      expect(decoded.startsWith(message.slice(0, 4_096))).toBe(true);
      expect(decoded).toMatch(new RegExp(`\\n… \\(${message.length - 4_096} more characters in the commit\\)$`));
      await rollout.terminate('test over: wave 2 would wait an hour');
    } finally {
      wide.remove();
    }
  }, 300_000);

  it('a rollout too large for one Temporal payload is refused whole, with its size, the limit and what to do', async () => {
    // 40 environments of 60 KB of parameters each: 2.4 MB of desired states, above the 2 MB a
    // workflow's input may hold. `start` used to fail with the SDK's bare "Failed to start Workflow".
    const large = await createTestRepo();
    try {
      const head = await commitLargeConfigs(large, 40);

      const run = await runCli(['start', '--repo', large.dir, '--before', ZEROS, '--after', head], { env });
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(new RegExp(`rollout of ${head.slice(0, 7)}: its input of 40 environments is 2\\.\\d MB, above the 2 MB Temporal takes in one payload`));
      expect(run.stderr).toMatch(/split the change over several pushes/);
      await expectNothingStarted(temporal.client, head);
    } finally {
      large.remove();
    }
  }, 120_000);

  it('a rollout a server with a lower payload limit refuses is refused whole, in the server\'s words', async () => {
    // 20 environments of 60 KB of parameters each: 1.2 MB, under the 2 MB checked before the start
    // but over the 1 MB this server takes (its `limit.blobSize.error`), so the refusal is the server's.
    const namespace = TEST_NAMESPACES.rollout;
    const server = await startDevServer({ port: await freePort(), uiPort: null, namespaces: [namespace], dynamicConfig: { 'limit.blobSize.error': 2 ** 20, 'limit.blobSize.warn': 2 ** 19 } });
    const strictEnv = { ...env, TEMPORAL_ADDRESS: server.address };
    const large = await createTestRepo();
    let strictWorker: WorkerProcess | undefined;
    let strict: { client: Client; close(): Promise<void> } | undefined;
    try {
      // `start` stores the push's templates through a workflow first: this server needs a worker too.
      [strictWorker, strict] = await Promise.all([startWorkerProcess(strictEnv), connectTemporal(namespace, server.address)]);
      const head = await commitLargeConfigs(large, 20);

      const run = await runCli(['start', '--repo', large.dir, '--before', ZEROS, '--after', head], { env: strictEnv });
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(new RegExp(`rollout of ${head.slice(0, 7)}: its input of 20 environments is 1\\.\\d MB, and Temporal refused it \\(Blob data size exceeds limit\\)`));
      expect(run.stderr).toMatch(/split the change over several pushes/);
      await expectNothingStarted(strict.client, head);
    } finally {
      large.remove();
      await strictWorker?.stop();
      await strict?.close();
      await server.stop();
    }
  }, 120_000);

  /** Commits `count` environments (`large-00`…) of 60 KB of parameters each, in one wave; returns the commit. */
  function commitLargeConfigs(repo: TestRepo, count: number): Promise<string> {
    const parameters = Array.from({ length: 15 }, (_, i) => `  Setting${i}: "${String(i % 10).repeat(4_000)}"`).join('\n');
    const files: Record<string, string | null> = { development: null, featureX: null, prod: null, 'common/gitops.yaml': 'waves: [[large-00]]\n' };
    for (let i = 0; i < count; i++) files[`large-${String(i).padStart(2, '0')}/config.yaml`] = `appVersion: "1.0.0"\nparameters:\n  InstanceType: t3.micro\n${parameters}\n`;
    return repo.commit('large parameters everywhere', files);
  }

  /** Nothing half-done: no rollout of `head`, and no environment workflow took anything. */
  async function expectNothingStarted(client: Client, head: string): Promise<void> {
    expect((await client.workflow.count(`WorkflowId = '${rolloutWorkflowId(head)}'`)).count).toBe(0);
    expect((await client.workflow.count(`WorkflowId = '${environmentWorkflowId('large-00')}'`)).count).toBe(0);
  }

  /** The commit message of the first request `environment`'s workflow took, from its history. */
  async function keptMessage(environment: string): Promise<string> {
    const history = await temporal.client.workflow.getHandle(environmentWorkflowId(environment)).fetchHistory();
    for (const event of history.events ?? []) {
      const payload = event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.args?.payloads?.[0];
      if (payload?.data) return (JSON.parse(Buffer.from(payload.data).toString('utf8')) as DesiredState).commit.message;
    }
    throw new Error(`${environment}: no accepted request in its history`);
  }
});
