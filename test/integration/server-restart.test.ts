import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { freePort, startDevServer, type DevServer } from '../../worker/dev-server';
import { startTestAws, type TestAws } from '../support/aws';
import { runCli, startWorkerProcess, type WorkerProcess } from '../support/cli';
import type { TestRepo } from '../support/gitops-repo';
import { uniqueTaskQueue } from '../support/temporal';
import { cliStart, configYaml, connectTemporal, createRepoWith, operationsLog, overlaps, recordHistories, waitForState, workerEnv, ZEROS } from '../support/scenario';

/**
 * The Temporal server goes away mid-deploy and comes back from its SQLite file: the worker, the
 * environment workflow and the deployment carry on, and AWS sees each operation once. This file
 * starts a dev server of its own (the shared one must stay up for the other files).
 */
describe('Temporal server restart', () => {
  let server: DevServer | undefined;
  let port: number;
  let dir: string;
  let aws: TestAws;
  let worker: WorkerProcess;
  let repo: TestRepo;
  let env: NodeJS.ProcessEnv;
  let temporal: { client: Client; close(): Promise<void> } | undefined;
  const taskQueue = uniqueTaskQueue('server-restart');

  const serve = () => startDevServer({ port, uiPort: null, dbFilename: path.join(dir, 'temporal.db'), namespaces: ['default'] });

  /** Stops the server, keeps it down for `downMs`, starts it again from the same file. */
  async function restartServer(downMs: number): Promise<void> {
    await temporal?.close();
    temporal = undefined;
    await server!.stop();
    server = undefined;
    await new Promise((resolve) => setTimeout(resolve, downMs));
    server = await serve();
    temporal = await connectTemporal('default', server.address);
  }

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'cfn-gitops-server-'));
    port = await freePort();
    [server, aws, repo] = await Promise.all([serve(), startTestAws(), createRepoWith({ steady: '1.0.0' })]);
    env = workerEnv(aws, 'default', taskQueue, { TEMPORAL_ADDRESS: server.address });
    [worker, temporal] = await Promise.all([startWorkerProcess(env), connectTemporal('default', server.address)]);
  });

  afterAll(async () => {
    if (temporal) await recordHistories(temporal.client, 'server-restart', taskQueue, ['steady']);
    await worker?.stop();
    await temporal?.close();
    await server?.stop();
    await aws?.close();
    repo?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a deployment running when the server stops completes after it starts again', async () => {
    const first = await repo.head();
    // The pipeline's first execution is long: the server goes down while the deployment waits for it.
    await aws.control('POST', '/pipelines/cfn-gitops-steady/next-executions', { outcome: 'Succeeded', durationMs: 6_000 });
    const created = await cliStart(env, repo, ZEROS, first);
    expect(created.entry('steady').status).toBe('accepted');
    await waitForState(temporal!.client, 'steady', (s) => s.phase === 'RunningPipeline', 'waiting for its first execution');
    await restartServer(2_000);
    const afterCreate = await waitForState(temporal!.client, 'steady', (s) => s.lastResult?.commit === first, 'done with the create', 90_000);
    expect(afterCreate.lastResult?.result).toBe('Succeeded');

    // Again during a version change, with the server down longer than the waits' heartbeat timeout.
    const second = await repo.commit('steady: app 1.1.0', { 'steady/config.yaml': configYaml('1.1.0') });
    await aws.control('POST', '/pipelines/cfn-gitops-steady/next-executions', { outcome: 'Succeeded', durationMs: 8_000 });
    expect((await cliStart(env, repo, first, second)).entry('steady').status).toBe('accepted');
    await waitForState(temporal!.client, 'steady', (s) => s.phase === 'RunningPipeline' && s.current?.commit === second, 'running the new version');
    await restartServer(12_000);
    const afterUpdate = await waitForState(temporal!.client, 'steady', (s) => s.lastResult?.commit === second, 'done with 1.1.0', 90_000);
    expect(afterUpdate.lastResult).toEqual(expect.objectContaining({ result: 'Succeeded', appVersion: '1.1.0' }));
    expect(afterUpdate.deployedVersion).toBe('1.1.0');

    // What a user sees, and what AWS holds: each operation once.
    const status = await runCli(['status', 'steady', '--json'], { env });
    expect(status.code).toBe(0);
    const detail = JSON.parse(status.stdout);
    expect(detail).toEqual(expect.objectContaining({ environment: 'steady', deployedVersion: '1.1.0', lastResult: 'Succeeded', deploymentCount: 2 }));
    expect(detail.deployments.map((d: { appVersion: string; result: string }) => [d.appVersion, d.result])).toEqual([
      ['1.1.0', 'Succeeded'],
      ['1.0.0', 'Succeeded'],
    ]);
    expect(await aws.appVersion('cfn-gitops-steady')).toBe('1.1.0');
    expect((await aws.executions('cfn-gitops-steady')).map((e) => [e.appVersion, e.status])).toEqual([
      ['1.0.0', 'Succeeded'],
      ['1.1.0', 'Succeeded'],
    ]);
    const ops = await operationsLog(aws);
    expect(ops.filter((op) => op.operation === 'CREATE_STACK' && op.target === 'cfn-gitops-steady-pipeline')).toHaveLength(1);
    expect(overlaps(ops)).toEqual([]);
    expect(worker.child.exitCode).toBeNull();
  });
});
