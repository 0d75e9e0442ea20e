import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CreateStackCommand, DeleteStackCommand, UpdateStackCommand } from '@aws-sdk/client-cloudformation';
import { Client, Connection } from '@temporalio/client';
import { DRIFT_SCHEDULE_ID } from '../../common/names';
import { ensureDriftSchedule } from '../../worker/schedule';
import { runCli, startWorkerProcess, type WorkerProcess } from '../support/cli';
import { eventually, startTestAws, type TestAws } from '../support/aws';
import { createTestRepo, type TestRepo } from '../support/gitops-repo';
import type { DriftJsonEntry } from '../../starter/drift';
import { workerEnv } from '../support/scenario';
import { TEST_NAMESPACES } from '../support/namespaces';
import { uniqueTaskQueue } from '../support/temporal';

/** One environment in `cfn-gitops drift --json`. */
type Entry = DriftJsonEntry;

/**
 * The drift sweep end to end: environments deployed through the real CLI and a worker process,
 * drift injected into the emulator or made with the AWS SDK behind cfn-gitops' back, and
 * `cfn-gitops drift` telling what a user would want to know; the SyncStatus search attribute,
 * the Temporal schedule and self-heal as the worker's settings ask.
 */
describe('drift: git main against AWS', () => {
  let aws: TestAws;
  let worker: WorkerProcess;
  let repo: TestRepo;
  let env: NodeJS.ProcessEnv;
  let connection: Connection;
  let client: Client;
  const taskQueue = uniqueTaskQueue('drift');
  const zeros = '0'.repeat(40);

  const drift = (...args: string[]) => runCli(['drift', ...args], { env });
  async function driftJson(environment?: string): Promise<{ environments: Entry[]; counts: Record<string, number> }> {
    const result = await drift(...(environment ? [environment] : []), '--json');
    expect(result.stderr).not.toMatch(/cfn-gitops:/);
    expect(result.code).toBe(0);
    return JSON.parse(result.stdout);
  }
  const entryOf = (report: { environments: Entry[] }, environment: string) => report.environments.find((e) => e.environment === environment);
  /** Does a visibility list query find the environment's workflow with this SyncStatus? */
  const syncStatusIs = async (environment: string, status: string) => {
    for await (const _ of client.workflow.list({ query: `WorkflowId = "cfn-gitops/${environment}" AND SyncStatus = "${status}"` })) return true;
    return false;
  };
  /** Changes the environment stack's AppVersion with UpdateStack, as someone with console access would. */
  async function setVersionBehindGitsBack(stackName: string, version: string): Promise<void> {
    const stack = await aws.stack(stackName);
    await aws.cloudFormation.send(
      new UpdateStackCommand({
        StackName: stackName,
        UsePreviousTemplate: true,
        Capabilities: ['CAPABILITY_IAM'],
        Parameters: (stack?.Parameters ?? []).map((p) =>
          p.ParameterKey === 'AppVersion' ? { ParameterKey: 'AppVersion', ParameterValue: version } : { ParameterKey: p.ParameterKey, UsePreviousValue: true },
        ),
      }),
    );
    await eventually(async () => (await aws.stack(stackName))?.StackStatus === 'UPDATE_COMPLETE', `${stackName} updated to ${version}`);
  }
  const withSettings = (extra: Record<string, string>) => ({ ...env, ...extra });

  beforeAll(async () => {
    aws = await startTestAws();
    await aws.control('PUT', '/timing', { driftDetectionMs: 200 });
    env = workerEnv(aws, TEST_NAMESPACES.drift, taskQueue, {
      CFN_GITOPS_SELF_HEAL_ENVIRONMENTS: '',
      // The schedule is under test here: keep it on.
      CFN_GITOPS_DRIFT_INTERVAL: '15m',
    });
    connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS });
    client = new Client({ connection, namespace: TEST_NAMESPACES.drift });
    [worker, repo] = await Promise.all([startWorkerProcess(env), createTestRepo()]);
    const deployed = await runCli(['start', '--repo', repo.dir, '--before', zeros, '--after', await repo.head(), '--wait', '--json'], { env });
    expect(deployed.code).toBe(0);
    expect(JSON.parse(deployed.stdout).environments.map((e: Entry) => e.status)).toEqual(['Succeeded', 'Succeeded', 'Succeeded']);
  });

  afterAll(async () => {
    await worker?.stop();
    await connection?.close();
    await aws?.close();
    repo?.remove();
  });

  it('the worker keeps a schedule that sweeps every 15 minutes on its task queue and skips overlaps; ensuring it again changes nothing', async () => {
    const schedule = await client.schedule.getHandle(DRIFT_SCHEDULE_ID).describe();
    expect(schedule.action).toMatchObject({ type: 'startWorkflow', workflowType: 'driftSweepWorkflow', taskQueue });
    expect(schedule.spec.intervals?.map((i) => i.every)).toEqual([15 * 60_000]);
    expect(schedule.policies.overlap).toBe('SKIP');
    expect(schedule.state.paused).toBe(false);
    expect(await ensureDriftSchedule(client, { taskQueue, intervalMs: 15 * 60_000 })).toBe('unchanged');
  });

  it('finds every environment Synced right after a deploy, with the versions and when it was checked, even while AWS throttles', async () => {
    await aws.control('POST', '/faults', { service: 'cloudformation', throttleRate: 0.3, seed: 7 });
    const before = Date.now();
    let report: { environments: Entry[]; counts: Record<string, number> };
    try {
      report = await driftJson();
    } finally {
      await aws.control('DELETE', '/faults');
    }
    expect(report.environments.map((e) => [e.environment, e.status, e.desiredVersion, e.deployedVersion, e.drifted])).toEqual([
      ['development', 'Synced', '1.4.2', '1.4.2', []],
      ['featureX', 'Synced', '1.5.0-beta.1', '1.5.0-beta.1', []],
      ['prod', 'Synced', '1.4.1', '1.4.1', []],
    ]);
    for (const entry of report.environments) expect(Date.parse(entry.checkedAt)).toBeGreaterThanOrEqual(before - 1_000);
    expect(report.counts).toEqual({ Synced: 3 });
    const { calls } = await aws.control<{ calls: { errorCode?: string }[] }>('GET', `/calls?service=cloudformation&since=${new Date(before).toISOString()}`);
    expect(calls.filter((c) => c.errorCode === 'Throttling').length).toBeGreaterThan(0);
    await eventually(() => syncStatusIs('prod', 'Synced'), 'SyncStatus of prod is Synced');
  });

  it('reports a changed property and a deleted resource as Drifted, naming each, in the JSON and in the SyncStatus search attribute', async () => {
    await aws.control('POST', '/drift', { stackName: 'cfn-gitops-development', logicalResourceId: 'Environment', property: 'Description', value: 'edited in the console' });
    await aws.control('POST', '/drift', { stackName: 'cfn-gitops-development-pipeline', logicalResourceId: 'CloudFormationRole', deleted: true });

    const entry = entryOf(await driftJson('development'), 'development');
    expect(entry).toMatchObject({ status: 'Drifted', desiredVersion: '1.4.2', deployedVersion: '1.4.2', workflowId: 'cfn-gitops/development' });
    expect(entry!.drifted).toEqual([
      'Environment (AWS::ElasticBeanstalk::Environment) in cfn-gitops-development: Description changed from "cfn-gitops environment development, app 1.4.2" to "edited in the console"',
      'CloudFormationRole (AWS::IAM::Role) in cfn-gitops-development-pipeline: deleted',
    ]);
    expect(entry!.message).toBe('2 resources changed outside CloudFormation');
    await eventually(() => syncStatusIs('development', 'Drifted'), 'SyncStatus of development is Drifted');
  });

  it('reports a version changed behind git\'s back as OutOfSync, with both versions', async () => {
    await setVersionBehindGitsBack('cfn-gitops-featureX', '9.9.9');
    const entry = entryOf(await driftJson('featureX'), 'featureX');
    expect(entry).toMatchObject({
      status: 'OutOfSync',
      desiredVersion: '1.5.0-beta.1',
      deployedVersion: '9.9.9',
      drifted: [],
      message: 'git main says app 1.5.0-beta.1, cfn-gitops-featureX runs 9.9.9',
    });
    await eventually(() => syncStatusIs('featureX', 'OutOfSync'), 'SyncStatus of featureX is OutOfSync');
  });

  it('reports stacks under the prefix with no folder in git as Orphaned, but not another installation\'s; prints a table and exits 0 although not all is Synced', async () => {
    const handle = 'Resources:\n  Handle:\n    Type: AWS::CloudFormation::WaitConditionHandle\n';
    await aws.cloudFormation.send(new CreateStackCommand({ StackName: 'cfn-gitops-ghost', TemplateBody: handle }));
    // Another cfn-gitops installation (another namespace or task queue) in the same account and region.
    const elsewhere = [
      { Key: 'cfn-gitops:environment', Value: 'elsewhere' },
      { Key: 'cfn-gitops:installation', Value: 'other-namespace/other-queue' },
    ];
    await aws.cloudFormation.send(new CreateStackCommand({ StackName: 'cfn-gitops-elsewhere-pipeline', TemplateBody: handle, Tags: elsewhere }));
    await eventually(async () => (await aws.stack('cfn-gitops-ghost'))?.StackStatus === 'CREATE_COMPLETE', 'cfn-gitops-ghost created');
    await eventually(async () => (await aws.stack('cfn-gitops-elsewhere-pipeline'))?.StackStatus === 'CREATE_COMPLETE', 'cfn-gitops-elsewhere-pipeline created');

    const result = await drift();
    expect(result.stderr).not.toMatch(/cfn-gitops:/);
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(/^ENVIRONMENT\s+STATUS\s+DESIRED\s+DEPLOYED\s+CHECKED\s+MESSAGE$/);
    const row = (environment: string) => lines.find((l) => l.startsWith(`${environment} `))?.split(/\s{2,}/);
    expect(row('development')?.slice(0, 4)).toEqual(['development', 'Drifted', '1.4.2', '1.4.2']);
    expect(row('featureX')?.slice(0, 4)).toEqual(['featureX', 'OutOfSync', '1.5.0-beta.1', '9.9.9']);
    expect(row('ghost')?.slice(0, 4)).toEqual(['ghost', 'Orphaned', '-', '-']);
    expect(row('ghost')?.[5]).toBe('cfn-gitops-ghost exists in AWS but git main has no folder ghost');
    expect(row('prod')?.slice(0, 4)).toEqual(['prod', 'Synced', '1.4.1', '1.4.1']);
    expect(row('elsewhere')).toBeUndefined();
    expect(result.stdout).toContain('  - CloudFormationRole (AWS::IAM::Role) in cfn-gitops-development-pipeline: deleted');
    expect(result.stdout).toContain('4 environment(s): 1 Drifted, 1 OutOfSync, 1 Orphaned, 1 Synced');
  });

  it('a worker started again with other settings updates the one schedule and keeps it paused', async () => {
    const schedule = client.schedule.getHandle(DRIFT_SCHEDULE_ID);
    await schedule.pause('paused during the test');
    await worker.stop();
    worker = await startWorkerProcess(
      withSettings({ CFN_GITOPS_PROTECTED_ENVIRONMENTS: 'prod', CFN_GITOPS_SELF_HEAL_ENVIRONMENTS: 'featureX,prod', CFN_GITOPS_DRIFT_INTERVAL: '10m' }),
    );
    const described = await schedule.describe();
    expect(described.spec.intervals?.map((i) => i.every)).toEqual([10 * 60_000]);
    expect(described.state).toMatchObject({ paused: true, note: 'paused during the test' });
    const ids: string[] = [];
    await eventually(async () => {
      ids.length = 0;
      for await (const s of client.schedule.list()) ids.push(s.scheduleId);
      return ids.length > 0;
    }, 'the schedule listed');
    expect(ids).toEqual([DRIFT_SCHEDULE_ID]);
  });

  it('self-heal re-deploys an unprotected environment to git\'s version, and only asks for approval in a protected one', async () => {
    await setVersionBehindGitsBack('cfn-gitops-prod', '0.9.0');
    const featureExecutions = (await aws.executions('cfn-gitops-featureX')).length;
    const prodExecutions = await aws.executions('cfn-gitops-prod');

    const report = await driftJson();
    expect(entryOf(report, 'featureX')).toMatchObject({ status: 'OutOfSync', healRequested: true });
    expect(entryOf(report, 'prod')).toMatchObject({ status: 'OutOfSync', deployedVersion: '0.9.0', healRequested: true });
    expect(entryOf(report, 'development')).toMatchObject({ status: 'Drifted' });
    expect(entryOf(report, 'development')!.healRequested).toBeUndefined();

    // featureX: a new pipeline execution runs git's version, and the environment is Synced again.
    let executions: Awaited<ReturnType<TestAws['executions']>> = [];
    await eventually(async () => {
      executions = await aws.executions('cfn-gitops-featureX');
      return executions.length > featureExecutions && executions.at(-1)!.status !== 'InProgress';
    }, 'the self-heal execution of featureX ends');
    expect(executions).toHaveLength(featureExecutions + 1);
    expect(executions.at(-1)).toMatchObject({ status: 'Succeeded', appVersion: '1.5.0-beta.1' });
    expect(await aws.appVersion('cfn-gitops-featureX')).toBe('1.5.0-beta.1');
    await eventually(() => syncStatusIs('featureX', 'Synced'), 'SyncStatus of featureX is Synced after the heal');
    expect(entryOf(await driftJson('featureX'), 'featureX')).toMatchObject({ status: 'Synced', desiredVersion: '1.5.0-beta.1', deployedVersion: '1.5.0-beta.1' });

    // prod: waits for a person; AWS untouched.
    let pending: { environment: string; newVersion?: string; currentVersion?: string }[] = [];
    await eventually(async () => {
      const result = await runCli(['pending', '--json'], { env });
      pending = JSON.parse(result.stdout);
      return pending.some((p) => p.environment === 'prod');
    }, 'prod waits for approval');
    expect(pending.find((p) => p.environment === 'prod')).toMatchObject({ newVersion: '1.4.1' });
    expect(await aws.executions('cfn-gitops-prod')).toEqual(prodExecutions);
    expect(await aws.appVersion('cfn-gitops-prod')).toBe('0.9.0');
  });

  it('a re-deploy clears the drift of what it updates; a resource deleted out of band stays reported; a deleted stack is Missing', async () => {
    const before = await repo.head();
    const config = readFileSync(path.join(repo.dir, 'development', 'config.yaml'), 'utf8').replace(/appVersion:.*/, 'appVersion: "1.5.0"');
    const after = await repo.commit('development: app 1.5.0', { 'development/config.yaml': config });
    const pushed = await runCli(['start', '--repo', repo.dir, '--before', before, '--after', after, '--wait', '--json'], { env });
    expect(JSON.parse(pushed.stdout).environments).toEqual([expect.objectContaining({ environment: 'development', status: 'Succeeded' })]);

    const entry = entryOf(await driftJson('development'), 'development');
    expect(entry).toMatchObject({ status: 'Drifted', desiredVersion: '1.5.0', deployedVersion: '1.5.0' });
    expect(entry!.drifted).toEqual(['CloudFormationRole (AWS::IAM::Role) in cfn-gitops-development-pipeline: deleted']);

    await aws.cloudFormation.send(new DeleteStackCommand({ StackName: 'cfn-gitops-development' }));
    await eventually(async () => (await aws.stack('cfn-gitops-development')) === undefined, 'cfn-gitops-development deleted');
    expect(entryOf(await driftJson('development'), 'development')).toMatchObject({
      status: 'Missing',
      desiredVersion: '1.5.0',
      message: 'git main has development (app 1.5.0) but cfn-gitops-development does not exist in AWS',
    });
    await eventually(() => syncStatusIs('development', 'Missing'), 'SyncStatus of development is Missing');
  });
});
