import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startTestAws, eventually, type TestAws } from '../support/aws';
import { runCli, startWorkerProcess, type WorkerProcess } from '../support/cli';
import { createTestRepo, type TestRepo } from '../support/gitops-repo';
import { workerEnv } from '../support/scenario';
import { TEST_NAMESPACES } from '../support/namespaces';
import { uniqueTaskQueue } from '../support/temporal';

/** Prod promotions through the real CLI: approval gate, approve, promote, rollback. */
describe('prod promotions', () => {
  let aws: TestAws;
  let worker: WorkerProcess;
  let repo: TestRepo;
  let env: NodeJS.ProcessEnv;
  const zeros = '0'.repeat(40);
  const cli = (...args: string[]) => runCli(args, { env });
  const pending = async () => JSON.parse((await cli('pending', '--json')).stdout) as { environment: string; newVersion?: string; pipelineChanges?: string[] }[];
  const prodConfig = () => readFileSync(path.join(repo.dir, 'prod', 'config.yaml'), 'utf8');

  beforeAll(async () => {
    aws = await startTestAws();
    env = workerEnv(aws, TEST_NAMESPACES.approvals, uniqueTaskQueue('approvals'), {
      CFN_GITOPS_PROTECTED_ENVIRONMENTS: 'prod',
    });
    worker = await startWorkerProcess(env);
    repo = await createTestRepo();
  });

  afterAll(async () => {
    await worker?.stop();
    await aws?.close();
    repo?.remove();
  });

  it('holds prod for approval, refuses the wrong version and the author, deploys once approved', async () => {
    const first = await repo.head();
    const started = await cli('start', '--repo', repo.dir, '--before', zeros, '--after', first, '--json');
    expect(started.code).toBe(0);
    await eventually(async () => (await pending()).some((p) => p.environment === 'prod'), 'prod waits for approval');
    expect((await pending())[0]).toMatchObject({ environment: 'prod', newVersion: '1.4.1', commit: expect.objectContaining({ author: { name: 'Dana Developer', email: 'dana@example.com' } }) });
    expect(await aws.stack('cfn-gitops-prod-pipeline')).toBeUndefined();
    expect((await pending())[0]!.pipelineChanges).toEqual([expect.stringMatching(/^Add cfn-gitops-prod-pipeline: a new pipeline stack/)]);

    const wrong = await cli('approve', 'prod', '--version', '9.9.9', '--by', 'Avery Approver');
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toMatch(/waits for approval of app 1\.4\.1 .* not 9\.9\.9/);
    const self = await cli('approve', 'prod', '--version', '1.4.1', '--by', 'Dana Developer');
    expect(self.code).toBe(1);
    expect(self.stdout).toMatch(/Dana Developer wrote commit .* may not approve it/);

    const approved = await cli('approve', 'prod', '--version', '1.4.1', '--by', 'Avery Approver', '--comment', 'looks good');
    expect(approved.stdout).toMatch(/approved by Avery Approver/);
    expect(approved.code).toBe(0);
    await eventually(async () => (await aws.appVersion('cfn-gitops-prod')) === '1.4.1', 'prod deployed with 1.4.1');
    expect(await pending()).toEqual([]);
  });

  it('promotes development to prod by a commit, and deploys it after approval', async () => {
    await eventually(async () => (await aws.appVersion('cfn-gitops-development')) === '1.4.2', 'development deployed');
    const before = await repo.head();
    const promoted = await cli('promote', 'development', 'prod', '--repo', repo.dir, '--json');
    expect(promoted.stderr).toBe('');
    expect(promoted.code).toBe(0);
    expect(JSON.parse(promoted.stdout)).toMatchObject({ environment: 'prod', from: 'development', appVersion: '1.4.2', previousVersion: '1.4.1' });
    expect(prodConfig()).toMatch(/appVersion: "?1\.4\.2"?/);
    expect(prodConfig()).toMatch(/InstanceType: /);
    expect((await repo.git.log({ maxCount: 1 })).latest?.message).toBe('promote development → prod: app 1.4.2 (was 1.4.1)');

    const after = await repo.head();
    const planned = await cli('plan', '--repo', repo.dir, '--before', before, '--after', after, '--json');
    expect(JSON.parse(planned.stdout).environments.map((e: { environment: string }) => e.environment)).toEqual(['prod']);
    expect((await cli('start', '--repo', repo.dir, '--before', before, '--after', after)).code).toBe(0);
    await eventually(async () => (await pending()).some((p) => p.newVersion === '1.4.2'), 'prod waits for 1.4.2');
    // Only the version changes, and it travels as the execution's variable: the change set is empty.
    expect((await pending())[0]!.pipelineChanges).toEqual([]);
    expect((await cli('approve', 'prod', '--version', '1.4.2', '--by', 'Avery Approver')).code).toBe(0);
    await eventually(async () => (await aws.appVersion('cfn-gitops-prod')) === '1.4.2', 'prod deployed with 1.4.2');
  });

  it('refuses to promote a version development never deployed', async () => {
    const devConfig = readFileSync(path.join(repo.dir, 'development', 'config.yaml'), 'utf8').replace(/appVersion:.*/, 'appVersion: "9.0.0"');
    await repo.commit('development: 9.0.0, not deployed', { 'development/config.yaml': devConfig });
    const refused = await cli('promote', 'development', 'prod', '--repo', repo.dir);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/app 9\.0\.0 has not been deployed successfully in development/);
    expect(prodConfig()).toMatch(/appVersion: "?1\.4\.2"?/);
  });

  it('rolls prod back to its previous version through git', async () => {
    const before = await repo.head();
    const rolled = await cli('rollback', 'prod', '--repo', repo.dir, '--json');
    expect(rolled.code).toBe(0);
    expect(JSON.parse(rolled.stdout)).toMatchObject({ environment: 'prod', appVersion: '1.4.1', previousVersion: '1.4.2' });
    expect(prodConfig()).toMatch(/appVersion: "?1\.4\.1"?/);
    const after = await repo.head();
    expect((await cli('start', '--repo', repo.dir, '--before', before, '--after', after)).code).toBe(0);
    await eventually(async () => (await pending()).some((p) => p.newVersion === '1.4.1'), 'prod waits for the rollback');
    expect((await cli('approve', 'prod', '--by', 'Avery Approver')).code).toBe(0);
    await eventually(async () => (await aws.appVersion('cfn-gitops-prod')) === '1.4.1', 'prod back on 1.4.1');
  });
});
