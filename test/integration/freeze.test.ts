import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { eventually, startTestAws, type TestAws } from '../support/aws';
import { runCli, startWorkerProcess, type WorkerProcess } from '../support/cli';
import type { TestRepo } from '../support/gitops-repo';
import { TEST_NAMESPACES } from '../support/namespaces';
import { cliStart, configYaml, connectTemporal, createRepoWith, environmentState, recordHistories, waitForState, workerEnv, ZEROS } from '../support/scenario';
import { uniqueTaskQueue } from '../support/temporal';
import { DeployPhase, DeploymentResult } from '../../common/types';

/**
 * Freeze windows and the emergency stop through the CLI, on the dev server and the emulator: a
 * short CFN_GITOPS_FREEZE window holds development in phase Frozen and it deploys when the window
 * ends; `cfn-gitops freeze prod` holds every push to prod with AWS untouched (the newest waiting)
 * until `unfreeze`; `approve --override-freeze` lets a held push through; a window that the
 * repo adds with `freeze:` in common/gitops.yaml holds prod the same way. Their histories are
 * recorded into test/histories/freeze/ for the replay test.
 */
describe('freeze windows and the emergency stop', () => {
  let aws: TestAws;
  let worker: WorkerProcess;
  let repo: TestRepo;
  let env: NodeJS.ProcessEnv;
  let temporal: { client: Client; close(): Promise<void> };
  const taskQueue = uniqueTaskQueue('freeze');
  // The window: from before the worker starts to some 30 s after the first push.
  const windowEnd = new Date(Date.now() + 45_000);
  const cli = (...args: string[]) => runCli(args, { env });
  const executionsOf = async (environment: string) => (await aws.executions(`cfn-gitops-${environment}`)).map((e) => e.appVersion);

  beforeAll(async () => {
    aws = await startTestAws();
    const window = { environments: ['dev*'], reason: 'release train', start: new Date(Date.now() - 60_000).toISOString(), end: windowEnd.toISOString() };
    env = workerEnv(aws, TEST_NAMESPACES.freeze, taskQueue, { CFN_GITOPS_FREEZE: JSON.stringify([window]) });
    worker = await startWorkerProcess(env);
    temporal = await connectTemporal(TEST_NAMESPACES.freeze);
    repo = await createRepoWith({ development: '1.0.0', prod: '1.0.0' });
  });
  afterAll(async () => {
    if (temporal) await recordHistories(temporal.client, 'freeze', taskQueue, ['development', 'prod']);
    await worker?.stop();
    await temporal?.close();
    await aws?.close();
    repo?.remove();
  });

  it('a push in a freeze window waits in phase Frozen with AWS untouched, then deploys when the window ends', async () => {
    const start = await cliStart(env, repo, ZEROS, await repo.head());
    expect(start.code).toBe(0);
    const held = await waitForState(temporal.client, 'development', (s) => s.phase === DeployPhase.Frozen, 'development frozen');
    expect(held.frozenBy).toEqual({ source: 'window', reason: 'release train', until: windowEnd.toISOString() });
    // prod is in no window: it deploys.
    await eventually(async () => (await aws.appVersion('cfn-gitops-prod')) === '1.0.0', 'prod deployed');
    const status = await cli('status', '--json');
    expect(JSON.parse(status.stdout)).toEqual(expect.arrayContaining([expect.objectContaining({ environment: 'development', phase: 'Frozen' })]));
    expect(await aws.stack('cfn-gitops-development-pipeline')).toBeUndefined();

    expect(Date.now()).toBeLessThan(windowEnd.getTime());
    await eventually(async () => (await aws.appVersion('cfn-gitops-development')) === '1.0.0', 'development deployed after the window', 90_000);
    const done = await waitForState(temporal.client, 'development', (s) => s.lastResult?.number === 1, 'development #1 recorded');
    expect(done.lastResult).toMatchObject({ number: 1, result: DeploymentResult.Succeeded, appVersion: '1.0.0' });
    expect(Date.parse(done.lastResult!.endedAt!)).toBeGreaterThanOrEqual(windowEnd.getTime());
    expect(done.frozenBy).toBeUndefined();
  });

  it('freeze prod: pushes wait in phase Frozen with AWS untouched, the newest replacing older ones, until unfreeze', async () => {
    const frozen = await cli('freeze', 'prod', '--reason', 'incident 42: database failover', '--by', 'Olive Operator');
    expect(frozen.code).toBe(0);
    expect(frozen.stdout).toBe('prod: frozen by Olive Operator: incident 42: database failover until unfreeze\n');
    expect((await environmentState(temporal.client, 'prod')).freeze).toMatchObject({ source: 'command', reason: 'incident 42: database failover', by: 'Olive Operator' });

    let before = await repo.head();
    for (const version of ['1.1.0', '1.2.0']) {
      const after = await repo.commit(`prod: ${version}`, { 'prod/config.yaml': configYaml(version) });
      expect((await cliStart(env, repo, before, after)).code).toBe(0);
      before = after;
      await waitForState(temporal.client, 'prod', (s) => s.phase === DeployPhase.Frozen && s.current?.appVersion === version, `prod ${version} frozen`);
    }
    const held = await environmentState(temporal.client, 'prod');
    expect(held.frozenBy).toMatchObject({ source: 'command', reason: 'incident 42: database failover' });
    expect(held.history.find((r) => r.appVersion === '1.1.0')).toMatchObject({ result: DeploymentResult.Superseded });
    expect(await aws.appVersion('cfn-gitops-prod')).toBe('1.0.0');
    expect(await executionsOf('prod')).toEqual(['1.0.0']);
    const refused = await cli('approve', 'prod', '--by', 'Blake Reviewer');
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('prod is frozen (incident 42: database failover): approve --override-freeze lets it go ahead');

    const unfrozen = await cli('unfreeze', 'prod', '--by', 'Olive Operator');
    expect(unfrozen.code).toBe(0);
    expect(unfrozen.stdout).toMatch(/^prod: unfrozen by Olive Operator; deployment #\d+ goes ahead\n$/);
    await eventually(async () => (await aws.appVersion('cfn-gitops-prod')) === '1.2.0', 'prod deployed with 1.2.0');
    expect(await executionsOf('prod')).toEqual(['1.0.0', '1.2.0']);
    const again = await cli('unfreeze', 'prod');
    expect(again.code).toBe(1);
    expect(again.stdout).toContain('prod: refused: prod is not frozen');
  });

  it('freeze --all holds a push until an approval overrides the freeze', async () => {
    const until = new Date(Date.now() + 3_600_000).toISOString();
    const frozen = await cli('freeze', '--all', '--reason', 'drill', '--until', until, '--json');
    expect(frozen.code).toBe(0);
    expect(JSON.parse(frozen.stdout).map((a: { environment: string; accepted: boolean }) => [a.environment, a.accepted])).toEqual([['development', true], ['prod', true]]);

    const before = await repo.head();
    const after = await repo.commit('development: 1.3.0', { 'development/config.yaml': configYaml('1.3.0') });
    expect((await cliStart(env, repo, before, after)).code).toBe(0);
    await waitForState(temporal.client, 'development', (s) => s.phase === DeployPhase.Frozen && s.current?.appVersion === '1.3.0', 'development 1.3.0 frozen');
    const override = await cli('approve', 'development', '--override-freeze', '--by', 'Olive Operator', '--comment', 'hotfix');
    expect(override.code).toBe(0);
    expect(override.stdout).toBe('development: freeze overridden by Olive Operator: the deployment goes ahead\n');
    await eventually(async () => (await aws.appVersion('cfn-gitops-development')) === '1.3.0', 'development deployed with 1.3.0');
    const deployed = await waitForState(temporal.client, 'development', (s) => s.lastResult?.appVersion === '1.3.0', 'development 1.3.0 recorded');
    expect(deployed.lastResult).toMatchObject({ appVersion: '1.3.0', freezeOverriddenBy: 'Olive Operator' });

    const unfrozen = await cli('unfreeze', '--all');
    expect(unfrozen.code).toBe(0);
    expect(unfrozen.stdout).toBe('development: unfrozen by ' + (env.USER ?? process.env.USER ?? 'unknown') + '\nprod: unfrozen by ' + (env.USER ?? process.env.USER ?? 'unknown') + '\n');
  });

  it('freeze: in common/gitops.yaml holds the environments it names in phase Frozen until the window ends; the others deploy at once', async () => {
    // The worker's own window (dev*) ended in the first test: only the repo's window holds here.
    const start = new Date(Date.now() - 5_000);
    const end = new Date(Date.now() + 30_000);
    const settings = readFileSync(path.join(repo.dir, 'common/gitops.yaml'), 'utf8');
    const freeze = ['', 'freeze:', '  - environments: [prod]', '    reason: change freeze', `    start: ${start.toISOString()}`, `    end: ${end.toISOString()}`, ''].join('\n');
    const before = await repo.head();
    const after = await repo.commit('freeze prod for a while; both to 1.4.0', {
      'common/gitops.yaml': settings + freeze,
      'development/config.yaml': configYaml('1.4.0'),
      'prod/config.yaml': configYaml('1.4.0'),
    });
    const started = await cliStart(env, repo, before, after);
    expect(started.code).toBe(0);

    const held = await waitForState(temporal.client, 'prod', (s) => s.phase === DeployPhase.Frozen && s.current?.appVersion === '1.4.0', 'prod 1.4.0 frozen');
    expect(held.frozenBy).toEqual({ source: 'window', reason: 'change freeze (common/gitops.yaml)', until: end.toISOString() });
    const status = await cli('status', '--json');
    expect(JSON.parse(status.stdout)).toEqual(expect.arrayContaining([expect.objectContaining({ environment: 'prod', phase: 'Frozen' })]));
    expect(await aws.appVersion('cfn-gitops-prod')).toBe('1.2.0');

    await eventually(async () => (await aws.appVersion('cfn-gitops-prod')) === '1.4.0', 'prod deployed with 1.4.0 after the window', 90_000);
    const state = await waitForState(temporal.client, 'prod', (s) => s.lastResult?.appVersion === '1.4.0', 'prod 1.4.0 recorded');
    expect(state.lastResult).toMatchObject({ result: DeploymentResult.Succeeded, appVersion: '1.4.0' });
    expect(state.frozenBy).toBeUndefined();
    const deployed = async (environment: string) => {
      const record = (await waitForState(temporal.client, environment, (s) => s.lastResult?.appVersion === '1.4.0', `${environment} 1.4.0 recorded`)).lastResult!;
      expect(record.result).toBe(DeploymentResult.Succeeded);
      return (await temporal.client.workflow.getHandle(record.workflowId!).describe()).startTime.getTime();
    };
    // Each deployment's child workflow starts where the freeze gate lets it: prod's when the window ended, development's at once.
    expect(await deployed('prod')).toBeGreaterThanOrEqual(end.getTime());
    expect(await deployed('development')).toBeLessThan(end.getTime());
    expect(await aws.appVersion('cfn-gitops-development')).toBe('1.4.0');
  });
});
