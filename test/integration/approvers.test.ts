import { readFileSync } from 'node:fs';
import path from 'node:path';
import { eventually, startTestAws, type TestAws } from '../support/aws';
import { runCli, startWorkerProcess, type WorkerProcess } from '../support/cli';
import { createTestRepo, type TestRepo } from '../support/gitops-repo';
import { TEST_NAMESPACES } from '../support/namespaces';
import { workerEnv } from '../support/scenario';
import { uniqueTaskQueue } from '../support/temporal';
import type { PendingApproval } from '../../common/types';

/**
 * Several approvers through the CLI: the orchestrator asks two approvals for prod
 * (CFN_GITOPS_REQUIRED_APPROVALS=prod=2); a repo may raise an environment's count in its config.
 */
describe('several approvers', () => {
  let aws: TestAws;
  let worker: WorkerProcess;
  let repo: TestRepo;
  let env: NodeJS.ProcessEnv;
  const zeros = '0'.repeat(40);
  const cli = (...args: string[]) => runCli(args, { env });
  const pending = async () => JSON.parse((await cli('pending', '--json')).stdout) as PendingApproval[];
  const waiting = async (environment: string) => (await pending()).find((p) => p.environment === environment);

  beforeAll(async () => {
    aws = await startTestAws();
    env = workerEnv(aws, TEST_NAMESPACES.approvers, uniqueTaskQueue('approvers'), { CFN_GITOPS_PROTECTED_ENVIRONMENTS: '', CFN_GITOPS_REQUIRED_APPROVALS: 'prod=2' });
    worker = await startWorkerProcess(env);
    repo = await createTestRepo();
  });
  afterAll(async () => {
    await worker?.stop();
    await aws?.close();
    repo?.remove();
  });

  it('prod waits after one approval, refuses the same person twice and the author, and deploys with the second', async () => {
    expect((await cli('start', '--repo', repo.dir, '--before', zeros, '--after', await repo.head(), '--json')).code).toBe(0);
    await eventually(async () => (await waiting('prod')) !== undefined, 'prod waits for approval');
    expect(await waiting('prod')).toMatchObject({ requiredApprovals: 2, approvals: [] });

    const first = await cli('approve', 'prod', '--version', '1.4.1', '--by', 'Avery Approver', '--comment', 'checked the change set');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('approved by Avery Approver (1 of 2); 1 more needed from someone else');
    expect(await waiting('prod')).toMatchObject({ approvals: [{ by: 'Avery Approver', comment: 'checked the change set' }] });

    for (const again of ['Avery Approver', 'avery approver <avery@example.com>']) {
      const twice = await cli('approve', 'prod', '--version', '1.4.1', '--by', again);
      expect(twice.code).toBe(1);
      expect(twice.stdout).toContain('Avery Approver has approved');
      expect(twice.stdout).toContain('it needs 1 more approval from someone else');
    }
    const author = await cli('approve', 'prod', '--version', '1.4.1', '--by', 'Dana Developer');
    expect(author.code).toBe(1);
    expect(author.stdout).toMatch(/Dana Developer wrote commit .* may not approve it/);
    const table = await cli('pending');
    expect(table.stdout).toMatch(/prod .* 1 of 2: Avery Approver /);
    // Still nothing in AWS for prod while one approval is missing (the other environments deployed).
    await eventually(async () => (await aws.appVersion('cfn-gitops-development')) === '1.4.2', 'development deployed');
    expect(await aws.stack('cfn-gitops-prod-pipeline')).toBeUndefined();

    const second = await cli('approve', 'prod', '--version', '1.4.1', '--by', 'Blake Reviewer');
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('approved by Blake Reviewer');
    await eventually(async () => (await aws.appVersion('cfn-gitops-prod')) === '1.4.1', 'prod deployed with 1.4.1');
    expect(await pending()).toEqual([]);
    const status = JSON.parse((await cli('status', 'prod', '--json')).stdout);
    expect(JSON.stringify(status)).toContain('Avery Approver, Blake Reviewer');
  });

  it('a config raises an environment to two approvals, which makes it protected', async () => {
    const before = await repo.head();
    const config = readFileSync(path.join(repo.dir, 'development', 'config.yaml'), 'utf8').replace('appVersion: "1.4.2"', 'appVersion: "1.4.3"\nrequiredApprovals: 2');
    const after = await repo.commit('development: 1.4.3, two approvals from now on', { 'development/config.yaml': config });
    expect((await cli('start', '--repo', repo.dir, '--before', before, '--after', after, '--json')).code).toBe(0);
    await eventually(async () => (await waiting('development')) !== undefined, 'development waits for approval');
    expect(await waiting('development')).toMatchObject({ newVersion: '1.4.3', requiredApprovals: 2, approvals: [] });
  });
});
