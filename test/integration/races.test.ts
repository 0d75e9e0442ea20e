import type { Client } from '@temporalio/client';
import { startTestAws, type TestAws } from '../support/aws';
import { runCli, startWorkerProcess, type WorkerProcess } from '../support/cli';
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
 * Races, driven as CI drives them: several `cfn-gitops start` runs for one environment close
 * together or out of order, a folder removed while its deploy runs, and a newer push while an
 * approval waits. Each case asserts what the CLI printed and what AWS (the emulator) holds.
 */
/** Calls that change nothing in AWS (a preview's change set is deleted again, never executed). */
const READ_ONLY = new Set(['DescribeStacks', 'GetTemplate', 'ValidateTemplate', 'CreateChangeSet', 'DescribeChangeSet', 'DeleteChangeSet']);

describe('races between pushes', () => {
  let aws: TestAws;
  let worker: WorkerProcess;
  let repo: TestRepo;
  let env: NodeJS.ProcessEnv;
  let temporal: { client: Client; close(): Promise<void> };
  let client: Client;
  const taskQueue = uniqueTaskQueue('races');
  /** The commit every environment was created at. */
  let setup: string;

  const slowNextExecution = (environment: string, durationMs: number) =>
    aws.control('POST', `/pipelines/cfn-gitops-${environment}/next-executions`, { outcome: 'Succeeded', durationMs });
  const versions = async (environment: string) => (await aws.executions(`cfn-gitops-${environment}`)).map((e) => [e.appVersion, e.status]);

  beforeAll(async () => {
    aws = await startTestAws();
    env = workerEnv(aws, TEST_NAMESPACES.races, taskQueue, { CFN_GITOPS_PROTECTED_ENVIRONMENTS: 'gated' });
    [worker, repo, temporal] = await Promise.all([startWorkerProcess(env), createRepoWith({ abc: '1.0.0', ooo: '1.0.0', gone: '1.0.0', shift: '1.0.0' }), connectTemporal(TEST_NAMESPACES.races)]);
    client = temporal.client;
    setup = await repo.head();
    const created = await cliStart(env, repo, ZEROS, setup, { wait: true });
    expect(created.report.environments.map((e) => [e.environment, e.status])).toEqual([
      ['abc', 'Succeeded'],
      ['gone', 'Succeeded'],
      ['ooo', 'Succeeded'],
      ['shift', 'Succeeded'],
    ]);
  });

  afterAll(async () => {
    if (client) await recordHistories(client, 'races', taskQueue, ['abc', 'gone', 'brief', 'shift', 'gated']);
    await worker?.stop();
    await temporal?.close();
    await aws?.close();
    repo?.remove();
  });

  it('pushes A, B, C in quick succession end with C deployed; B is superseded; A never runs after C', async () => {
    const a = await repo.commit('abc: app 1.1.0', { 'abc/config.yaml': configYaml('1.1.0') });
    const b = await repo.commit('abc: app 1.2.0', { 'abc/config.yaml': configYaml('1.2.0') });
    const c = await repo.commit('abc: app 1.3.0', { 'abc/config.yaml': configYaml('1.3.0') });
    // A's pipeline execution takes long enough for B and C to arrive while it runs.
    await slowNextExecution('abc', 5_000);

    const runA = cliStart(env, repo, setup, a, { wait: true });
    await waitForState(client, 'abc', (s) => s.current?.commit === a, 'running A');
    const runB = cliStart(env, repo, a, b, { wait: true });
    await waitForState(client, 'abc', (s) => s.pending?.commit === b, 'holding B as next');
    const runC = cliStart(env, repo, b, c, { wait: true });
    const [ranA, ranB, ranC] = await Promise.all([runA, runB, runC]);

    expect([ranA.entry('abc').status, ranB.entry('abc').status, ranC.entry('abc').status]).toEqual(['Succeeded', 'Superseded', 'Succeeded']);
    expect(ranB.entry('abc').message).toBe(`superseded by ${c.slice(0, 7)} before it started`);
    expect([ranA.code, ranB.code, ranC.code]).toEqual([0, 0, 0]);

    // AWS ran A, then C; B never ran, and nothing ran after C.
    expect(await versions('abc')).toEqual([
      ['1.0.0', 'Succeeded'],
      ['1.1.0', 'Succeeded'],
      ['1.3.0', 'Succeeded'],
    ]);
    expect(await aws.appVersion('cfn-gitops-abc')).toBe('1.3.0');
    const executions = operationsOf(await operationsLog(aws), 'abc').filter((op) => op.kind === 'pipeline');
    expect(Date.parse(executions[1]!.endedAt!)).toBeLessThanOrEqual(Date.parse(executions[2]!.startedAt));

    // CI re-running any of the three pushes changes nothing.
    const reruns = await Promise.all([cliStart(env, repo, setup, a), cliStart(env, repo, a, b), cliStart(env, repo, b, c)]);
    expect(reruns.map((r) => r.entry('abc').status)).toEqual(['duplicate', 'duplicate', 'duplicate']);
    expect(await versions('abc')).toHaveLength(3);
  });

  it('a start for an older commit that arrives after a newer one is reported stale and changes nothing', async () => {
    const older = await repo.commit('ooo: app 2.0.0', { 'ooo/config.yaml': configYaml('2.0.0') });
    const before = (await repo.git.revparse([`${older}~1`])).trim();
    const newer = await repo.commit('ooo: app 2.1.0', { 'ooo/config.yaml': configYaml('2.1.0') });
    await slowNextExecution('ooo', 3_000);

    // CI's run for the newer push comes first; the older push's run arrives while it deploys …
    const runNewer = cliStart(env, repo, older, newer, { wait: true });
    await waitForState(client, 'ooo', (s) => s.current?.commit === newer, 'deploying the newer commit');
    const lateWhileRunning = await cliStart(env, repo, before, older, { wait: true });
    expect(lateWhileRunning.code).toBe(0);
    expect(lateWhileRunning.entry('ooo')).toEqual(expect.objectContaining({ status: 'stale', appVersion: '2.0.0', commit: older }));
    expect(lateWhileRunning.entry('ooo').message).toBe(`commit ${older.slice(0, 7)} is older than ${newer.slice(0, 7)} already taken for ooo; ignored`);
    expect((await runNewer).entry('ooo').status).toBe('Succeeded');

    // … and again after it deployed.
    const lateAfter = await cliStart(env, repo, before, older, { wait: true });
    expect(lateAfter.entry('ooo').status).toBe('stale');
    expect(await versions('ooo')).toEqual([
      ['1.0.0', 'Succeeded'],
      ['2.1.0', 'Succeeded'],
    ]);
    expect(await aws.appVersion('cfn-gitops-ooo')).toBe('2.1.0');
  });

  it('removing a folder while its deploy runs stops the execution, then deletes the environment stack, then the pipeline stack', async () => {
    const sync = await repo.commit('gone: app 1.1.0', { 'gone/config.yaml': configYaml('1.1.0') });
    const syncBefore = (await repo.git.revparse([`${sync}~1`])).trim();
    const removal = await repo.commit('remove gone', { gone: null });
    await slowNextExecution('gone', 8_000);

    const runSync = cliStart(env, repo, syncBefore, sync, { wait: true });
    const running = await waitForState(client, 'gone', (s) => s.phase === 'RunningPipeline' && s.current?.pipelineExecutionId !== undefined, 'running its pipeline');
    const executionId = running.current!.pipelineExecutionId!;
    const runDelete = await cliStart(env, repo, sync, removal, { wait: true });
    expect(runDelete.code).toBe(0);
    expect(runDelete.entry('gone')).toEqual(expect.objectContaining({ action: 'delete', status: 'Succeeded' }));
    const ranSync = await runSync;
    expect(ranSync.entry('gone')).toEqual(expect.objectContaining({ status: 'Cancelled', message: expect.stringMatching(/^cancelled: the environment is being deleted/) }));
    expect(ranSync.code).toBe(1);

    expect(await aws.stack('cfn-gitops-gone')).toBeUndefined();
    expect(await aws.stack('cfn-gitops-gone-pipeline')).toBeUndefined();
    const ops = operationsOf(await operationsLog(aws), 'gone');
    const stopped = ops.find((op) => op.pipelineExecutionId === executionId)!;
    const deleteEnvironment = ops.find((op) => op.operation === 'DELETE_STACK' && op.target === 'cfn-gitops-gone')!;
    const deletePipeline = ops.find((op) => op.operation === 'DELETE_STACK' && op.target === 'cfn-gitops-gone-pipeline')!;
    expect([stopped.status, deleteEnvironment.status, deletePipeline.status]).toEqual(['Stopped', 'DELETE_COMPLETE', 'DELETE_COMPLETE']);
    const order = [stopped.startedAt, stopped.endedAt!, deleteEnvironment.startedAt, deleteEnvironment.endedAt!, deletePipeline.startedAt, deletePipeline.endedAt!].map(Date.parse);
    expect(order).toEqual([...order].sort((x, y) => x - y));
    const state = await waitForState(client, 'gone', (s) => s.phase === 'Deleted', 'deleted');
    expect(state.history.slice(0, 2).map((r) => [r.action, r.result])).toEqual([
      ['delete', 'Succeeded'],
      ['sync', 'Cancelled'],
    ]);
  });

  it('removing a folder while its pipeline stack is being created lets the create end, stops the first execution, and leaves nothing behind', async () => {
    const added = await repo.commit('add brief', { 'brief/config.yaml': configYaml('1.0.0') });
    const addedBefore = (await repo.git.revparse([`${added}~1`])).trim();
    const removal = await repo.commit('remove brief', { brief: null });
    await aws.control('POST', '/stacks/next-operations', { stackName: 'cfn-gitops-brief-pipeline', operation: 'CREATE', delayMs: 3_000 });
    await slowNextExecution('brief', 4_000);

    const runAdd = cliStart(env, repo, addedBefore, added, { wait: true });
    await waitForState(client, 'brief', (s) => s.phase === 'CreatingPipeline', 'creating its pipeline stack');
    const runDelete = await cliStart(env, repo, added, removal, { wait: true });
    expect(runDelete.entry('brief')).toEqual(expect.objectContaining({ action: 'delete', status: 'Succeeded' }));
    expect((await runAdd).entry('brief').status).toBe('Cancelled');

    // The create ran to its end and the new pipeline's first execution was stopped before the delete began.
    const ops = operationsOf(await operationsLog(aws), 'brief');
    expect(ops.filter((op) => !op.endedAt)).toEqual([]);
    expect(overlaps(ops)).toEqual([]);
    expect(ops.filter((op) => op.target === 'cfn-gitops-brief-pipeline').map((op) => [op.operation, op.status])).toEqual([
      ['CREATE_STACK', 'CREATE_COMPLETE'],
      ['DELETE_STACK', 'DELETE_COMPLETE'],
    ]);
    expect(ops.filter((op) => op.kind === 'pipeline').map((op) => op.status)).toEqual(['Stopped']);
    expect(await aws.stack('cfn-gitops-brief')).toBeUndefined();
    expect(await aws.stack('cfn-gitops-brief-pipeline')).toBeUndefined();
  });

  it('removing a folder while its pipeline stack is being updated waits for the update, then deletes both stacks', async () => {
    const grown = await repo.commit('shift: larger instances', { 'shift/config.yaml': configYaml('1.0.0', 't3.large') });
    const grownBefore = (await repo.git.revparse([`${grown}~1`])).trim();
    const removal = await repo.commit('remove shift', { shift: null });
    await aws.control('POST', '/stacks/next-operations', { stackName: 'cfn-gitops-shift-pipeline', operation: 'UPDATE', delayMs: 3_000 });

    const runUpdate = cliStart(env, repo, grownBefore, grown, { wait: true });
    await waitForState(client, 'shift', (s) => s.phase === 'UpdatingPipeline' && s.current?.commit === grown, 'updating its pipeline stack');
    const runDelete = await cliStart(env, repo, grown, removal, { wait: true });
    expect(runDelete.entry('shift')).toEqual(expect.objectContaining({ action: 'delete', status: 'Succeeded' }));
    expect((await runUpdate).entry('shift').status).toBe('Cancelled');

    const ops = operationsOf(await operationsLog(aws), 'shift');
    expect(ops.filter((op) => !op.endedAt)).toEqual([]);
    expect(overlaps(ops)).toEqual([]);
    expect(ops.filter((op) => op.target === 'cfn-gitops-shift-pipeline').map((op) => [op.operation, op.status])).toEqual([
      ['CREATE_STACK', 'CREATE_COMPLETE'],
      ['UPDATE_STACK', 'UPDATE_COMPLETE'],
      ['DELETE_STACK', 'DELETE_COMPLETE'],
    ]);
    expect(await aws.stack('cfn-gitops-shift')).toBeUndefined();
    expect(await aws.stack('cfn-gitops-shift-pipeline')).toBeUndefined();
  });

  it('a newer push replaces the one waiting for approval, and only the approved version touches AWS', async () => {
    const added = await repo.commit('add gated at 1.0.0', { 'gated/config.yaml': configYaml('1.0.0') });
    const addedBefore = (await repo.git.revparse([`${added}~1`])).trim();
    const bumped = await repo.commit('gated: app 1.1.0', { 'gated/config.yaml': configYaml('1.1.0') });

    const runAdded = cliStart(env, repo, addedBefore, added, { wait: true });
    await waitForState(client, 'gated', (s) => s.approval?.newVersion === '1.0.0', 'waiting for approval of 1.0.0');
    const runBumped = cliStart(env, repo, added, bumped, { wait: true });
    await waitForState(client, 'gated', (s) => s.approval?.newVersion === '1.1.0', 'waiting for approval of 1.1.0');
    const ranAdded = await runAdded;
    expect(ranAdded.entry('gated')).toEqual(expect.objectContaining({ status: 'Superseded', message: 'replaced by a newer request while waiting for approval' }));

    const pending = await runCli(['pending', '--json'], { env });
    expect(JSON.parse(pending.stdout)).toEqual([expect.objectContaining({ environment: 'gated', newVersion: '1.1.0', action: 'sync' })]);
    const stale = await runCli(['approve', 'gated', '--by', 'rita', '--version', '1.0.0'], { env });
    expect(stale.code).toBe(1);
    expect(stale.stdout).toContain(`gated: refused: gated waits for approval of app 1.1.0 (${bumped.slice(0, 7)}), not 1.0.0`);
    // Before approval only reads happen: the approver's preview looks at the pipeline stack.
    const calls = (await callLog(aws)).filter((call) => call.target?.startsWith('cfn-gitops-gated'));
    expect(calls.filter((call) => !READ_ONLY.has(call.operation))).toEqual([]);

    const approved = await runCli(['approve', 'gated', '--by', 'rita', '--version', '1.1.0', '--comment', 'ship it'], { env });
    expect(approved.code).toBe(0);
    expect(approved.stdout).toContain('gated: approved by rita');
    const ranBumped = await runBumped;
    expect(ranBumped.entry('gated').status).toBe('Succeeded');
    expect(await versions('gated')).toEqual([['1.1.0', 'Succeeded']]);
    expect(await aws.appVersion('cfn-gitops-gated')).toBe('1.1.0');
    const creates = (await operationsLog(aws)).filter((op) => op.operation === 'CREATE_STACK' && op.target === 'cfn-gitops-gated-pipeline');
    expect(creates).toHaveLength(1);
  });

  it('no two operations on one environment overlapped in any of these races', async () => {
    const ops = await operationsLog(aws);
    expect(ops.filter((op) => !op.endedAt)).toEqual([]);
    expect(overlaps(ops)).toEqual([]);
  });

  it('the overlap check itself finds an update started during a pipeline execution', () => {
    const op = (operation: string, target: string, startedAt: number, endedAt: number): Operation => ({
      id: `${operation}-${startedAt}`,
      kind: operation === 'PIPELINE_EXECUTION' ? 'pipeline' : 'stack',
      operation,
      target,
      startedAt: new Date(startedAt).toISOString(),
      endedAt: new Date(endedAt).toISOString(),
      status: 'done',
    });
    const allowed = [
      op('CREATE_STACK', 'cfn-gitops-x-pipeline', 0, 100),
      op('PIPELINE_EXECUTION', 'cfn-gitops-x', 50, 300),
      op('CREATE_STACK', 'cfn-gitops-x', 150, 250),
      op('PIPELINE_EXECUTION', 'cfn-gitops-x', 300, 400),
    ];
    expect(overlaps(allowed)).toEqual([]);
    const clash = [...allowed, op('UPDATE_STACK', 'cfn-gitops-x-pipeline', 350, 500)];
    expect(overlaps(clash)).toEqual([expect.stringMatching(/^x: PIPELINE_EXECUTION cfn-gitops-x .* overlaps UPDATE_STACK cfn-gitops-x-pipeline/)]);
  });
});
