import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { eventually, startTestAws, type TestAws } from '../support/aws';
import { runCli, startWorkerProcess, type WorkerProcess } from '../support/cli';
import type { TestRepo } from '../support/gitops-repo';
import { TEST_NAMESPACES } from '../support/namespaces';
import { cliStart, configYaml, connectTemporal, createRepoWith, environmentState, recordHistories, waitForState, workerEnv, ZEROS } from '../support/scenario';
import { uniqueTaskQueue } from '../support/temporal';
import { Action, DeployPhase, DeploymentResult, SyncStatus } from '../../common/types';
import type { EnvironmentStatus } from '../../common/status';

/**
 * Expiring environments through the CLI, on the dev server and the emulator: a feature
 * environment with `ttl:` is deleted when it passes and stays Expired (a drift sweep and a
 * `common/` change leave it so) until a push changes its config with a later `expires:`; a
 * push whose `expires:` has passed deletes a live environment without deploying it; `status`
 * warns three days ahead. Histories are recorded into test/histories/expiry/.
 */
describe('expiring environments', () => {
  let aws: TestAws;
  let worker: WorkerProcess;
  let repo: TestRepo;
  let env: NodeJS.ProcessEnv;
  let temporal: { client: Client; close(): Promise<void> };
  const taskQueue = uniqueTaskQueue('expiry');
  const cli = (...args: string[]) => runCli(args, { env });
  const statusRows = async (...flags: string[]) => JSON.parse((await cli('status', '--json', ...flags)).stdout) as EnvironmentStatus[];
  const rowOf = (rows: EnvironmentStatus[], environment: string) => rows.find((r) => r.environment === environment)!;
  const withExpiry = (version: string, line: string) => `${configYaml(version)}${line}\n`;

  beforeAll(async () => {
    aws = await startTestAws();
    env = workerEnv(aws, TEST_NAMESPACES.expiry, taskQueue);
    worker = await startWorkerProcess(env);
    temporal = await connectTemporal(TEST_NAMESPACES.expiry);
    repo = await createRepoWith({ prod: '1.0.0' });
  });
  afterAll(async () => {
    if (temporal) await recordHistories(temporal.client, 'expiry', taskQueue, ['feature-a', 'feature-b', 'staging']);
    await worker?.stop();
    await temporal?.close();
    await aws?.close();
    repo?.remove();
  });

  it('an expired feature environment is deleted and stays Expired until a push changes its config with a later date', async () => {
    const inTwoDays = new Date(Date.now() + 2 * 86_400_000 - 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const first = await repo.commit('feature-a for 20 seconds; staging for two days', {
      'feature-a/config.yaml': withExpiry('1.0.0', 'ttl: 20s'),
      'staging/config.yaml': withExpiry('1.0.0', `expires: ${inTwoDays}`),
    });
    const started = await cliStart(env, repo, ZEROS, first, { wait: true });
    expect(started.code).toBe(0);
    expect(started.entry('feature-a').status).toBe(DeploymentResult.Succeeded);
    expect(await aws.appVersion('cfn-gitops-feature-a')).toBe('1.0.0');

    // status warns three days ahead: staging (2 days) and feature-a (20 s), not prod.
    const rows = await statusRows();
    expect(rowOf(rows, 'staging').expiry).toEqual({ at: new Date(inTwoDays).toISOString(), rule: `expires ${new Date(inTwoDays).toISOString()}` });
    expect(rowOf(rows, 'staging').expiryWarning).toMatch(/^expires in 1d 2[23]h \(expires /);
    expect(rowOf(rows, 'feature-a').expiryWarning).toMatch(/^(expires in \d+m|expiry due) .*ttl 20s from the first deploy at /);
    expect(rowOf(rows, 'prod').expiryWarning).toBeUndefined();
    const table = await cli('status');
    expect(table.stdout).toMatch(/^warning: staging expires in 1d 2[23]h/m);

    // The ttl passes: the workflow deletes both stacks and the environment is Expired.
    const gone = await waitForState(temporal.client, 'feature-a', (s) => s.expired !== undefined && !s.current && !s.pending, 'feature-a expired', 90_000);
    expect(gone.history[0]).toMatchObject({ action: Action.Delete, result: DeploymentResult.Succeeded });
    expect(await aws.stack('cfn-gitops-feature-a')).toBeUndefined();
    expect(await aws.stack('cfn-gitops-feature-a-pipeline')).toBeUndefined();
    for (const row of [rowOf(await statusRows(), 'feature-a'), rowOf(await statusRows('--repo', repo.dir), 'feature-a')]) {
      expect(row).toMatchObject({ phase: DeployPhase.Expired, syncStatus: SyncStatus.Expired, expired: { rule: expect.stringContaining('ttl 20s') } });
    }

    // The drift sweep does not bring it back.
    const sweep = await cli('drift', '--json');
    expect(sweep.code).toBe(0);
    const entry = JSON.parse(sweep.stdout).environments.find((e: { environment: string }) => e.environment === 'feature-a');
    expect(entry).toMatchObject({ status: SyncStatus.Expired });
    expect(entry.healRequested).toBeFalsy();
    expect(await aws.stack('cfn-gitops-feature-a')).toBeUndefined();

    // Neither does a common/ change that leaves its config as it was.
    const template = path.join(repo.dir, 'common/pipeline.yaml');
    const changed = await repo.commit('common: a comment in the pipeline template', { 'common/pipeline.yaml': `${readFileSync(template, 'utf8')}\n# reviewed\n` });
    const common = await cliStart(env, repo, first, changed, { wait: true });
    expect(common.code).toBe(0);
    expect(common.entry('feature-a')).toMatchObject({ status: 'expired', message: expect.stringContaining('stays expired') });
    expect(common.entry('prod').status).toBe(DeploymentResult.Succeeded);
    expect(await aws.stack('cfn-gitops-feature-a')).toBeUndefined();

    // A push of its folder with a later date brings it back.
    const later = await repo.commit('feature-a: back until next year', { 'feature-a/config.yaml': withExpiry('1.1.0', 'expires: 2999-01-01') });
    const back = await cliStart(env, repo, changed, later, { wait: true });
    expect(back.code).toBe(0);
    expect(back.entry('feature-a').status).toBe(DeploymentResult.Succeeded);
    expect(await aws.appVersion('cfn-gitops-feature-a')).toBe('1.1.0');
    expect(rowOf(await statusRows('--repo', repo.dir), 'feature-a')).toMatchObject({ syncStatus: SyncStatus.Synced, expiry: { at: '2999-01-01T00:00:00.000Z' } });
  });

  it('a push whose expires has passed deletes a live environment without deploying it', async () => {
    const before = await repo.head();
    const added = await repo.commit('feature-b', { 'feature-b/config.yaml': configYaml('1.0.0') });
    expect((await cliStart(env, repo, before, added, { wait: true })).entry('feature-b').status).toBe(DeploymentResult.Succeeded);
    const past = await repo.commit('feature-b: done with it', { 'feature-b/config.yaml': withExpiry('2.0.0', 'expires: 2026-01-01') });
    const start = await cliStart(env, repo, added, past, { wait: true });
    expect(start.code).toBe(0);
    expect(start.entry('feature-b')).toMatchObject({ status: 'expired', message: expect.stringContaining('expires 2026-01-01T00:00:00.000Z has passed') });
    await eventually(async () => (await aws.stack('cfn-gitops-feature-b')) === undefined && (await aws.stack('cfn-gitops-feature-b-pipeline')) === undefined, 'feature-b deleted');
    const state = await waitForState(temporal.client, 'feature-b', (s) => s.phase === DeployPhase.Expired, 'feature-b expired');
    expect(state.sync?.status).toBe(SyncStatus.Expired);
    // 2.0.0 was never deployed: no request for it was taken.
    expect(state.history.map((r) => [r.action, r.appVersion, r.result])).toEqual([
      [Action.Delete, undefined, DeploymentResult.Succeeded],
      [Action.Sync, '1.0.0', DeploymentResult.Succeeded],
    ]);
  });

  it('refuses a config with both expires and ttl, or a time without its zone, naming the file, the line and the fix', async () => {
    const before = await repo.head();
    const bad = await repo.commit('feature-c: two expiries', {
      'feature-c/config.yaml': `${configYaml('1.0.0')}expires: 2999-01-01\nttl: 7d\n`,
      'feature-d/config.yaml': `${configYaml('1.0.0')}expires: 2999-01-01T10:00\n`,
    });
    const start = await cliStart(env, repo, before, bad);
    expect(start.code).not.toBe(0);
    expect(start.entry('feature-c')).toMatchObject({ status: 'invalid', file: 'feature-c/config.yaml', line: 5, error: expect.stringContaining('set expires or ttl, not both') });
    expect(start.entry('feature-d')).toMatchObject({ status: 'invalid', file: 'feature-d/config.yaml', line: 4, error: expect.stringContaining('2026-12-31T18:00:00Z') });
    expect((await environmentState(temporal.client, 'prod')).phase).toBe(DeployPhase.Idle);
  });
});
