import { spawn } from 'node:child_process';
import { WorkflowUpdateStage, type Client, type WorkflowUpdateFailedError } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { temporal as proto } from '@temporalio/proto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createRolloutActivities } from '../../activities/rollout';
import { WATCH_BUSY, watchRequestUpdate } from '../../common/messages';
import { environmentWorkflowId, shortSha } from '../../common/names';
import { Action, WatchOutcome } from '../../common/types';
import { eventually, startTestAws, type TestAws } from '../support/aws';
import { CLI, startWorkerProcess, type WorkerProcess } from '../support/cli';
import type { TestRepo } from '../support/gitops-repo';
import { startGrpcProxy, type GrpcProxy } from '../support/grpc-proxy';
import { TEST_NAMESPACES } from '../support/namespaces';
import { startOlderBuildWorker } from '../support/older-build';
import { cliStart, configYaml, connectTemporal, createRepoWith, operationsLog, recordHistories, workerEnv, ZEROS } from '../support/scenario';
import { uniqueTaskQueue } from '../support/temporal';

/** One line the CLI wrote, and when the test read it. */
interface Line {
  at: number;
  text: string;
}

/** A `cfn-gitops start --wait` run as a person runs it (phases on stderr, the table on stdout), read line by line as it goes. */
interface WaitRun {
  stderr: Line[];
  /** Resolves with the first stderr line matching `pattern`. */
  line(pattern: RegExp, timeoutMs?: number): Promise<Line>;
  done: Promise<{ code: number; stdout: string; endedAt: number }>;
}

function startWait(env: NodeJS.ProcessEnv, repo: TestRepo, before: string, after: string): WaitRun {
  const child = spawn(process.execPath, [CLI, 'start', '--repo', repo.dir, '--before', before, '--after', after, '--wait'], { env: { ...process.env, ...env } });
  const stderr: Line[] = [];
  const waiters: { pattern: RegExp; resolve: (line: Line) => void }[] = [];
  let stdout = '';
  let partial = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk: Buffer) => {
    const at = Date.now();
    const parts = (partial + chunk.toString('utf8')).split('\n');
    partial = parts.pop()!;
    for (const text of parts) {
      const line = { at, text };
      stderr.push(line);
      for (const waiter of waiters.filter((w) => w.pattern.test(text))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  const done = new Promise<{ code: number; stdout: string; endedAt: number }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`start --wait did not end within 150 s:\n${stdout}\n${stderr.map((l) => l.text).join('\n')}`));
    }, 150_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, endedAt: Date.now() });
    });
  });
  return {
    stderr,
    done,
    line(pattern, timeoutMs = 60_000) {
      const seen = stderr.find((l) => pattern.test(l.text));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no line ${pattern} within ${timeoutMs} ms:\n${stderr.map((l) => l.text).join('\n')}`)), timeoutMs);
        waiters.push({ pattern, resolve: (line) => (clearTimeout(timer), resolve(line)) });
      });
    },
  };
}

/** The progress lines of one environment, as printed. */
const phasesOf = (run: WaitRun, environment: string) => run.stderr.map((l) => l.text).filter((text) => text.startsWith(`${environment}: `));

/** The watch Updates an environment workflow's runs accepted, counted from their histories. */
async function acceptedWatches(client: Client, environment: string): Promise<number> {
  let count = 0;
  for await (const execution of client.workflow.list({ query: `WorkflowId = "${environmentWorkflowId(environment)}"` })) {
    const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
    count += (history.events ?? []).filter(
      (e) => e.eventType === proto.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED && e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === 'watchRequest',
    ).length;
  }
  return count;
}

/** Watch Updates the environment workflow's current run has accepted and not answered yet. */
async function openWatches(client: Client, environment: string): Promise<number> {
  const history = await client.workflow.getHandle(environmentWorkflowId(environment)).fetchHistory();
  const open = new Set<string>();
  for (const event of history.events ?? []) {
    if (event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === 'watchRequest') open.add(String(event.eventId));
    const completed = event.workflowExecutionUpdateCompletedEventAttributes;
    if (completed) open.delete(String(completed.acceptedEventId));
  }
  return open.size;
}

/**
 * `cfn-gitops start --wait` waits on the deployment itself: the environment workflow's watch
 * Update answers at each phase and at the end, so the CLI prints each phase as it happens and the
 * result, and asks Temporal nothing in between (no state query: counted on the wire by a gRPC
 * proxy the CLI connects through). The Update survives a worker restart, and a workflow on an
 * older build, without the Update, is polled as before.
 */
describe('cfn-gitops start --wait', () => {
  const namespace = TEST_NAMESPACES.wait;
  const taskQueue = uniqueTaskQueue('wait');
  let aws: TestAws;
  let worker: WorkerProcess;
  let proxy: GrpcProxy;
  let env: NodeJS.ProcessEnv;
  /** The CLI's settings: through the proxy. */
  let cliEnv: NodeJS.ProcessEnv;
  let temporal: { client: Client; close(): Promise<void> };
  let repo: TestRepo;

  /** Calls of each method the CLI made through the proxy during `body`. */
  async function countCalls<T>(body: () => Promise<T>): Promise<{ value: T; calls: (method: string) => number }> {
    const before = proxy.counts();
    const value = await body();
    const after = proxy.counts();
    return { value, calls: (method) => (after[method] ?? 0) - (before[method] ?? 0) };
  }

  beforeAll(async () => {
    [aws, proxy, repo] = await Promise.all([startTestAws({ stackDelayMs: 2_000 }), startGrpcProxy(process.env.TEMPORAL_ADDRESS!), createRepoWith({ watched: '1.0.0' })]);
    env = workerEnv(aws, namespace, taskQueue);
    cliEnv = { ...env, TEMPORAL_ADDRESS: proxy.address };
    [worker, temporal] = await Promise.all([startWorkerProcess(env), connectTemporal(namespace)]);
  });

  afterAll(async () => {
    if (temporal) await recordHistories(temporal.client, 'wait', taskQueue, ['watched', 'crowded']);
    await worker?.stop();
    await temporal?.close();
    await proxy?.close();
    await aws?.close();
    repo?.remove();
  });

  it('prints each phase as it happens and the result, and issues no query while it waits', async () => {
    const head = await repo.head();
    // The pipeline stack's creation and the new pipeline's first execution stay in progress until
    // the CLI has printed their phase, so "printed while AWS was in it" holds on a machine of any speed.
    await aws.control('POST', '/stacks/next-operations', { stackName: 'cfn-gitops-watched-pipeline', operation: 'CREATE', hold: true });
    await aws.control('POST', '/pipelines/cfn-gitops-watched/next-executions', { outcome: 'Succeeded', durationMs: 1_000, hold: true });
    const release = (route: string) => eventually(() => aws.control('POST', route).then(() => true, () => false), `${route} held something to release`);
    const { value: run, calls } = await countCalls(async () => {
      const started = startWait(cliEnv, repo, ZEROS, head);
      await started.line(/^watched: CreatingPipeline /);
      await release('/stacks/cfn-gitops-watched-pipeline/release');
      await started.line(/^watched: RunningPipeline /);
      await release('/pipelines/cfn-gitops-watched/release');
      await started.done;
      return started;
    });
    const { code, stdout, endedAt } = await run.done;
    expect(code).toBe(0);
    const [execution] = await aws.executions('cfn-gitops-watched');
    expect(execution).toMatchObject({ status: 'Succeeded', appVersion: '1.0.0' });
    const commit = `commit ${shortSha(head)}`;
    expect(phasesOf(run, 'watched')).toEqual([
      `watched: Queued (${commit})`,
      `watched: PublishingSource (${commit})`,
      `watched: CreatingPipeline (${commit})`,
      `watched: RunningPipeline (execution ${execution!.id})`,
    ]);
    expect(stdout).toMatch(new RegExp(`watched\\s+sync\\s+1\\.0\\.0\\s+Succeeded\\s+watched: app 1\\.0\\.0 deployed by execution ${execution!.id}`));

    // As it happens: each phase was printed while AWS was still in it, the result after.
    const operations = await operationsLog(aws);
    const createStack = operations.find((op) => op.operation === 'CREATE_STACK' && op.target === 'cfn-gitops-watched-pipeline')!;
    const pipelineRun = operations.find((op) => op.kind === 'pipeline' && op.pipelineExecutionId === execution!.id)!;
    const printed = (phase: string) => run.stderr.find((l) => l.text.startsWith(`watched: ${phase} `))!.at;
    expect(printed('CreatingPipeline')).toBeLessThan(Date.parse(createStack.endedAt!));
    expect(printed('RunningPipeline')).toBeGreaterThanOrEqual(Date.parse(pipelineRun.startedAt) - 1_000);
    expect(printed('RunningPipeline')).toBeLessThan(Date.parse(pipelineRun.endedAt!));
    expect(endedAt).toBeGreaterThanOrEqual(Date.parse(pipelineRun.endedAt!));

    // Without polling: no query at all while it waits, and one watch Update per answer, each
    // answered once (the workflow accepted as many as the CLI sent), never more than the phases and the end.
    expect(calls('QueryWorkflow')).toBe(0);
    const watches = calls('UpdateWorkflowExecution');
    expect(watches).toBe(await acceptedWatches(temporal.client, 'watched'));
    expect(watches).toBeGreaterThanOrEqual(2);
    expect(watches).toBeLessThanOrEqual(5);
  });

  it('with --json waits with one Update for the result, and still no query', async () => {
    const before = await repo.head();
    const after = await repo.commit('watched: app 1.1.0', { 'watched/config.yaml': configYaml('1.1.0') });
    await aws.control('POST', '/pipelines/cfn-gitops-watched/next-executions', { outcome: 'Succeeded', durationMs: 3_000 });
    const watchesBefore = await acceptedWatches(temporal.client, 'watched');
    const { value: run, calls } = await countCalls(() => cliStart(cliEnv, repo, before, after, { wait: true }));
    expect(run.code).toBe(0);
    expect(run.entry('watched')).toMatchObject({ status: 'Succeeded', appVersion: '1.1.0', message: expect.stringMatching(/^watched: app 1\.1\.0 deployed by execution /) });
    expect(calls('QueryWorkflow')).toBe(0);
    expect(calls('UpdateWorkflowExecution')).toBe(1);
    expect((await acceptedWatches(temporal.client, 'watched')) - watchesBefore).toBe(1);
  });

  it('keeps waiting on the same Update across a worker restart, and prints no phase twice', async () => {
    const before = await repo.head();
    const after = await repo.commit('watched: app 1.2.0', { 'watched/config.yaml': configYaml('1.2.0') });
    await aws.control('POST', '/pipelines/cfn-gitops-watched/next-executions', { outcome: 'Succeeded', durationMs: 6_000 });
    const { value: run, calls } = await countCalls(async () => {
      const started = startWait(cliEnv, repo, before, after);
      await started.line(/^watched: RunningPipeline /);
      // The worker dies once it has accepted the CLI's next watch, which waits on the running execution;
      // nothing answers until another worker starts.
      await eventually(async () => (await openWatches(temporal.client, 'watched')) === 1, 'the next watch accepted', 10_000);
      await worker.kill();
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      expect(phasesOf(started, 'watched').at(-1)).toMatch(/^watched: RunningPipeline /);
      worker = await startWorkerProcess(env);
      await started.done;
      return started;
    });
    const { code, stdout } = await run.done;
    expect(code).toBe(0);
    const execution = (await aws.executions('cfn-gitops-watched')).find((e) => e.appVersion === '1.2.0')!;
    expect(execution.status).toBe('Succeeded');
    const commit = `commit ${shortSha(after)}`;
    expect(phasesOf(run, 'watched')).toEqual([`watched: Queued (${commit})`, `watched: PublishingSource (${commit})`, `watched: RunningPipeline (execution ${execution.id})`]);
    expect(stdout).toMatch(/watched\s+sync\s+1\.2\.0\s+Succeeded/);
    expect(calls('QueryWorkflow')).toBe(0);
  });

  it('polls the state, as before, an environment whose workflow is on a build without the Update', async () => {
    const olderQueue = uniqueTaskQueue('wait-older');
    const olderEnv = workerEnv(aws, namespace, olderQueue);
    const older = await startOlderBuildWorker(olderEnv, aws);
    const legacyRepo = await createRepoWith({ legacy: '1.0.0' });
    try {
      await aws.control('POST', '/pipelines/cfn-gitops-legacy/next-executions', { outcome: 'Succeeded', durationMs: 3_000 });
      const { value: run, calls } = await countCalls(async () => {
        const started = startWait({ ...olderEnv, TEMPORAL_ADDRESS: proxy.address }, legacyRepo, ZEROS, await legacyRepo.head());
        await started.done;
        return started;
      });
      const { code, stdout } = await run.done;
      expect({ code, stdout, stderr: run.stderr.map((l) => l.text) }).toMatchObject({ code: 0 });
      const [execution] = await aws.executions('cfn-gitops-legacy');
      expect(phasesOf(run, 'legacy')).toContain(`legacy: RunningPipeline (execution ${execution!.id})`);
      expect(stdout).toMatch(/legacy\s+sync\s+1\.0\.0\s+Succeeded/);
      // The Update was refused once (the workflow has no handler for it); the state was then queried about once a second.
      expect(calls('UpdateWorkflowExecution')).toBe(1);
      expect(await acceptedWatches(temporal.client, 'legacy')).toBe(0);
      expect(calls('QueryWorkflow')).toBeGreaterThanOrEqual(3);
    } finally {
      await older.stop();
      legacyRepo.remove();
    }
  });

  it('leaves room for a new push while watchers wait: the sixth watch is refused and polls the state, and the next push is answered at once', async () => {
    // Temporal lets a workflow hold 10 Updates in flight. Ten watchers (ten `start --wait` of a
    // push, a rollout, a dashboard) used to take all of them, and the next push's submit waited
    // for one of them to end.
    const crowdedRepo = await createRepoWith({ crowded: '1.0.0' });
    let waveProxy: GrpcProxy | undefined;
    let waveTemporal: { client: Client; close(): Promise<void> } | undefined;
    try {
      const first = await crowdedRepo.head();
      await aws.control('POST', '/pipelines/cfn-gitops-crowded/next-executions', { outcome: 'Succeeded', durationMs: 20_000 });
      expect((await cliStart(env, crowdedRepo, ZEROS, first)).entry('crowded').status).toBe('accepted');
      const handle = temporal.client.workflow.getHandle(environmentWorkflowId('crowded'));
      // A watch is refused before it is accepted, or, when ten arrive in one workflow task, at once after.
      const watchers = Array.from({ length: 10 }, async () => {
        const update = await handle.startUpdate(watchRequestUpdate, { args: [{ commit: first, action: Action.Sync }], waitForStage: WorkflowUpdateStage.ACCEPTED });
        const early = await Promise.race([update.result().then(() => 'answered', (error: WorkflowUpdateFailedError) => error), new Promise((resolve) => setTimeout(resolve, 3_000, 'waiting'))]);
        if (early !== 'waiting') throw early;
        return update;
      });
      const settled = await Promise.allSettled(watchers);
      const waiting = settled.flatMap((w) => (w.status === 'fulfilled' ? [w.value] : []));
      const refused = settled.flatMap((w) => (w.status === 'rejected' ? [w.reason as WorkflowUpdateFailedError] : []));
      expect(waiting).toHaveLength(5);
      expect(refused.map((error) => (error.cause as ApplicationFailure | undefined)?.type)).toEqual(Array(5).fill(WATCH_BUSY));
      // A rollout's wave refused the same way reads the state now and then, and ends with the deployment
      // (its client goes through a proxy of its own, which counts what it asked).
      waveProxy = await startGrpcProxy(process.env.TEMPORAL_ADDRESS!);
      waveTemporal = await connectTemporal(namespace, waveProxy.address);
      const wave = new MockActivityEnvironment().run(createRolloutActivities({ temporal: waveTemporal.client }).watchWave, { requests: [{ environment: 'crowded', commit: first, action: Action.Sync }] });

      // The next push is answered while the first deployment still runs; its `start --wait` finds five
      // watches waiting, reads the state instead, and ends with the result.
      const second = await crowdedRepo.commit('crowded: app 1.1.0', { 'crowded/config.yaml': configYaml('1.1.0') });
      const { value: run, calls } = await countCalls(async () => {
        const started = startWait(cliEnv, crowdedRepo, first, second);
        await started.line(/^crowded: Queued /, 15_000);
        expect((await aws.executions('cfn-gitops-crowded')).map((e) => e.status)).toEqual(['InProgress']);
        await started.done;
        return started;
      });
      const { code, stdout } = await run.done;
      expect(code).toBe(0);
      expect(stdout).toMatch(/crowded\s+sync\s+1\.1\.0\s+Succeeded\s+crowded: app 1\.1\.0 deployed by execution /);
      expect(calls('QueryWorkflow')).toBeGreaterThanOrEqual(1);
      for (const watcher of waiting) expect(await watcher.result()).toMatchObject({ outcome: WatchOutcome.Ended, result: 'Succeeded' });
      expect(await wave).toEqual([{ environment: 'crowded', result: 'Succeeded', message: expect.stringMatching(/^crowded: app 1\.0\.0 deployed by execution /) }]);
      // Its watch was refused (the workflow held as many as it allows), so it read the state, and
      // asked again after each read: a query is only ever sent after a refusal.
      const asked = waveProxy.counts();
      expect(asked.QueryWorkflow).toBeGreaterThanOrEqual(1);
      expect(asked.UpdateWorkflowExecution).toBeGreaterThanOrEqual(asked.QueryWorkflow!);
    } finally {
      await waveTemporal?.close();
      await waveProxy?.close();
      crowdedRepo.remove();
    }
  }, 120_000);

  it('a re-run of a push while it deploys waits for the deployment, and reports its failure as the first run does', async () => {
    // CI re-running the job of a push used to be answered `duplicate` at once, and passed while
    // the deployment it repeats was still running, or went on to fail.
    const rerunRepo = await createRepoWith({ rerun: '1.0.0' });
    try {
      const first = await rerunRepo.head();
      expect((await cliStart(env, rerunRepo, ZEROS, first, { wait: true })).entry('rerun').status).toBe('Succeeded');
      const second = await rerunRepo.commit('rerun: app 1.1.0', { 'rerun/config.yaml': configYaml('1.1.0') });
      await aws.control('POST', '/pipelines/cfn-gitops-rerun/next-executions', { outcome: 'Failed', durationMs: 6_000 });
      const run = startWait(cliEnv, rerunRepo, first, second);
      await run.line(/^rerun: RunningPipeline /, 30_000);

      const rerun = await cliStart(env, rerunRepo, first, second, { wait: true });
      const execution = (await aws.executions('cfn-gitops-rerun')).find((e) => e.appVersion === '1.1.0')!;
      expect(execution.status).toBe('Failed');
      expect(rerun.entry('rerun')).toMatchObject({ status: 'Failed', error: expect.stringContaining(execution.id) });
      expect(rerun.code).toBe((await run.done).code);
      expect(rerun.code).not.toBe(0);
      // It waited and started nothing: the one execution of 1.1.0 is the first run's.
      expect((await aws.executions('cfn-gitops-rerun')).filter((e) => e.appVersion === '1.1.0')).toHaveLength(1);

      // A re-run after a success is still a duplicate, and says how the deployment ended.
      const third = await rerunRepo.commit('rerun: app 1.2.0', { 'rerun/config.yaml': configYaml('1.2.0') });
      expect((await cliStart(env, rerunRepo, second, third, { wait: true })).entry('rerun').status).toBe('Succeeded');
      const again = await cliStart(env, rerunRepo, second, third, { wait: true });
      expect(again.code).toBe(0);
      expect(again.entry('rerun')).toMatchObject({ status: 'duplicate', message: expect.stringMatching(/already handled .*; Succeeded: rerun: app 1\.2\.0 deployed by execution /) });
    } finally {
      rerunRepo.remove();
    }
  }, 120_000);
});
