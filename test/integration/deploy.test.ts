import { readFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../../worker/dev-server';
import { runCli, startWorkerProcess, type WorkerProcess } from '../support/cli';
import { startTestAws, type TestAws } from '../support/aws';
import { createTestRepo, type TestRepo } from '../support/gitops-repo';
import { workerEnv } from '../support/scenario';
import { TEST_NAMESPACES } from '../support/namespaces';
import { uniqueTaskQueue } from '../support/temporal';

/**
 * The deploy path end to end, driven as GitHub Actions drives it: the real CLI, a real git
 * repo, a real Temporal dev server and worker process, and the real AWS SDK against the emulator.
 */
describe('push → plan → workflows → stacks and pipelines', () => {
  let aws: TestAws;
  let worker: WorkerProcess;
  let repo: TestRepo;
  let env: NodeJS.ProcessEnv;
  const zeros = '0'.repeat(40);

  const start = (before: string, after: string, ...extra: string[]) =>
    runCli(['start', '--repo', repo.dir, '--before', before, '--after', after, '--wait', '--json', ...extra], { env });
  const setVersion = (environment: string, version: string) =>
    readFileSync(path.join(repo.dir, environment, 'config.yaml'), 'utf8').replace(/appVersion:.*/, `appVersion: "${version}"`);

  beforeAll(async () => {
    aws = await startTestAws();
    env = workerEnv(aws, TEST_NAMESPACES.deploy, uniqueTaskQueue('deploy'));
    worker = await startWorkerProcess(env);
    repo = await createTestRepo();
  });

  afterAll(async () => {
    await worker?.stop();
    await aws?.close();
    repo?.remove();
  });

  it('creates every environment, deploys a new version, deletes a removed folder, and ignores a re-run', async () => {
    const first = await repo.head();
    const created = await start(zeros, first);
    expect(created.stderr).not.toMatch(/cfn-gitops:/);
    expect(created.code).toBe(0);
    const report = JSON.parse(created.stdout);
    expect(report.environments.map((e: { environment: string; action: string; status: string }) => [e.environment, e.action, e.status])).toEqual([
      ['development', 'sync', 'Succeeded'],
      ['featureX', 'sync', 'Succeeded'],
      ['prod', 'sync', 'Succeeded'],
    ]);
    for (const environment of ['development', 'featureX', 'prod']) {
      expect((await aws.stack(`cfn-gitops-${environment}-pipeline`))?.StackStatus).toBe('CREATE_COMPLETE');
      // The new pipeline ran once by itself, with the config's version as the variable's default.
      const executions = await aws.executions(`cfn-gitops-${environment}`);
      expect(executions).toHaveLength(1);
      expect(executions[0]!.status).toBe('Succeeded');
    }
    expect(await aws.appVersion('cfn-gitops-development')).toBe('1.4.2');
    expect(await aws.appVersion('cfn-gitops-prod')).toBe('1.4.1');

    const second = await repo.commit('development: app 1.5.0', { 'development/config.yaml': setVersion('development', '1.5.0') });
    const changed = await start(first, second);
    expect(changed.code).toBe(0);
    expect(JSON.parse(changed.stdout).environments).toEqual([expect.objectContaining({ environment: 'development', action: 'sync', status: 'Succeeded', appVersion: '1.5.0', workflowId: 'cfn-gitops/development' })]);
    const devExecutions = await aws.executions('cfn-gitops-development');
    expect(devExecutions.map((e) => [e.status, e.appVersion])).toEqual([
      ['Succeeded', '1.4.2'],
      ['Succeeded', '1.5.0'],
    ]);
    expect(await aws.appVersion('cfn-gitops-development')).toBe('1.5.0');
    expect(await aws.executions('cfn-gitops-prod')).toHaveLength(1);

    const third = await repo.commit('Remove featureX', { featureX: null });
    const removed = await start(second, third);
    expect(removed.code).toBe(0);
    expect(JSON.parse(removed.stdout).environments).toEqual([expect.objectContaining({ environment: 'featureX', action: 'delete', status: 'Succeeded' })]);
    expect(await aws.stack('cfn-gitops-featureX')).toBeUndefined();
    expect(await aws.stack('cfn-gitops-featureX-pipeline')).toBeUndefined();
    expect(await aws.stack('cfn-gitops-prod')).toBeDefined();

    // Running the same push again starts no second deployment.
    const rerun = await start(first, second);
    expect(JSON.parse(rerun.stdout).environments).toEqual([expect.objectContaining({ environment: 'development', status: 'duplicate' })]);
    expect(await aws.executions('cfn-gitops-development')).toHaveLength(2);
  });

  it('fails an invalid config alone, with file and line, and deploys the others', async () => {
    const before = await repo.head();
    const after = await repo.commit('break prod, bump development', {
      'prod/config.yaml': 'appVersion: "1.4.1"\nparameters:\n  InstanceType: [t3.micro]\n',
      'development/config.yaml': setVersion('development', '1.6.0'),
    });
    const result = await start(before, after);
    expect(result.code).toBe(2);
    const entries = JSON.parse(result.stdout).environments;
    expect(entries).toEqual([
      expect.objectContaining({ environment: 'development', status: 'Succeeded', appVersion: '1.6.0' }),
      expect.objectContaining({ environment: 'prod', status: 'invalid', file: 'prod/config.yaml', line: 3 }),
    ]);
    expect(entries[1].error).toMatch(/parameters\.InstanceType/);
    expect(await aws.appVersion('cfn-gitops-development')).toBe('1.6.0');
    expect(await aws.appVersion('cfn-gitops-prod')).toBe('1.4.1');

    // Fixing the file deploys prod again; the next tests start from a valid tree.
    const fixed = await repo.commit('fix prod', { 'prod/config.yaml': 'appVersion: "1.4.1"\nparameters:\n  InstanceType: t3.micro\n' });
    const again = await start(after, fixed);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).environments).toEqual([expect.objectContaining({ environment: 'prod', status: 'Succeeded' })]);
  });

  it('syncs every environment when common/ changes, updating each pipeline stack', async () => {
    const before = await repo.head();
    const template = readFileSync(path.join(repo.dir, 'common', 'pipeline.yaml'), 'utf8');
    const after = await repo.commit('pipeline: export the pipeline name', {
      'common/pipeline.yaml': template.replace(/Outputs:\n  PipelineName:\n    Description: Name of the environment's pipeline\.\n    Value: !Ref Pipeline/, (found) => `${found}\n    Export:\n      Name: !Sub '\${AWS::StackName}-pipeline-name'`),
    });
    expect(readFileSync(path.join(repo.dir, 'common', 'pipeline.yaml'), 'utf8')).toContain('-pipeline-name');
    const result = await start(before, after);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.notes).toContain('common/ changed: every environment is synced');
    expect(report.environments.map((e: { environment: string; reason: string; status: string }) => [e.environment, e.reason, e.status])).toEqual([
      ['development', 'common/ changed', 'Succeeded'],
      ['prod', 'common/ changed', 'Succeeded'],
    ]);
    for (const environment of ['development', 'prod']) {
      expect((await aws.stack(`cfn-gitops-${environment}-pipeline`))?.StackStatus).toBe('UPDATE_COMPLETE');
    }
  });

  it('plans from the after tree when before is not in the history (force push)', async () => {
    const head = await repo.head();
    const result = await start('1234567890abcdef1234567890abcdef12345678', head);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.notes).toEqual([expect.stringMatching(/before 1234567 is not in the history/)]);
    // Every environment of the tree is planned; what already runs this commit answers duplicate.
    expect(report.environments.map((e: { environment: string; status: string }) => [e.environment, e.status])).toEqual([
      ['development', 'duplicate'],
      ['prod', 'duplicate'],
    ]);
  });

  it('serves health and metrics, and shuts a worker down gracefully on SIGTERM and on SIGINT', async () => {
    const healthPort = await freePort();
    const spare = await startWorkerProcess({ ...env, CFN_GITOPS_HEALTH_PORT: String(healthPort) });
    const health = await fetch(`http://127.0.0.1:${healthPort}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', runState: 'RUNNING' });
    expect(await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text()).toMatch(/^cfn_gitops_worker_running 1$/m);
    expect(await spare.stop('SIGINT')).toBe(0);
    expect(spare.output()).toMatch(/state: 'STOPPED'|STOPPED/);
    const another = await startWorkerProcess(env);
    expect(await another.stop('SIGTERM')).toBe(0);
  });

  it('plans a rename as delete of the old name and sync of the new one', async () => {
    const before = await repo.head();
    const after = await repo.commit('rename development to dev', {
      'development/config.yaml': null,
      'dev/config.yaml': readFileSync(path.join(repo.dir, 'development', 'config.yaml'), 'utf8'),
    });
    const planned = await runCli(['plan', '--repo', repo.dir, '--before', before, '--after', after, '--json'], { env });
    expect(planned.code).toBe(0);
    expect(JSON.parse(planned.stdout).environments.map((e: { environment: string; action: string; reason: string }) => [e.environment, e.action, e.reason])).toEqual([
      ['dev', 'sync', 'renamed from development'],
      ['development', 'delete', 'renamed to dev'],
    ]);
    const result = await start(before, after);
    expect(result.code).toBe(0);
    expect(await aws.stack('cfn-gitops-development')).toBeUndefined();
    expect(await aws.appVersion('cfn-gitops-dev')).toBe('1.6.0');
  });
});
