import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { APP_VERSION, DEPLOY_PHASE, ENVIRONMENT, GIT_COMMIT, SYNC_STATUS } from '../../common/search-attributes';
import { startTestAws, type TestAws } from '../support/aws';
import { runCli, startWorkerProcess, type WorkerProcess } from '../support/cli';
import { createTestRepo, type TestRepo } from '../support/gitops-repo';
import { workerEnv } from '../support/scenario';
import { TEST_NAMESPACES } from '../support/namespaces';
import { uniqueTaskQueue } from '../support/temporal';
import { listIds, listInfos, until } from '../server/harness';

/**
 * What a person sees in the Temporal UI and in `cfn-gitops status`: list queries over the
 * search attributes find the right workflows, each deployment has its summary and details, and
 * the status command compares git main with what runs.
 */
describe('search attributes, summaries and status', () => {
  const namespace = TEST_NAMESPACES.visibility;
  let aws: TestAws;
  let worker: WorkerProcess;
  let repo: TestRepo;
  let connection: Connection;
  let client: Client;
  let env: NodeJS.ProcessEnv;
  let first: string;
  const zeros = '0'.repeat(40);
  const envWorkflows = 'WorkflowType = "environmentWorkflow"';
  const deployments = 'WorkflowType = "deploymentWorkflow"';

  beforeAll(async () => {
    aws = await startTestAws();
    env = workerEnv(aws, namespace, uniqueTaskQueue('visibility'), {
      TEMPORAL_UI_URL: 'http://ui.test',
      CFN_GITOPS_PROTECTED_ENVIRONMENTS: 'prod',
    });
    [worker, repo, connection] = await Promise.all([startWorkerProcess(env), createTestRepo(), Connection.connect({ address: process.env.TEMPORAL_ADDRESS })]);
    client = new Client({ connection, namespace });
    first = await repo.head();
    const started = await runCli(['start', '--repo', repo.dir, '--before', zeros, '--after', first, '--json'], { env });
    expect(started.code).toBe(0);
    // development and featureX deploy; prod waits for approval.
    await until(
      () => listIds(client, `${envWorkflows} AND ((DeployPhase = "Idle" AND SyncStatus = "Synced") OR DeployPhase = "WaitingForApproval")`),
      (ids) => ids.length === 3,
      'every environment settled',
    );
  });

  afterAll(async () => {
    await worker?.stop();
    await connection?.close();
    await aws?.close();
    repo?.remove();
  });

  it('finds workflows by Environment and DeployPhase', async () => {
    expect(await listIds(client, 'Environment = "prod"')).toEqual(['cfn-gitops/prod']);
    expect(await listIds(client, `${envWorkflows} AND DeployPhase = "WaitingForApproval"`)).toEqual(['cfn-gitops/prod']);
    expect(await listIds(client, `${envWorkflows} AND SyncStatus = "Synced"`)).toEqual(['cfn-gitops/development', 'cfn-gitops/featureX']);
    const sha12 = first.slice(0, 12);
    expect(await listIds(client, `${deployments} AND DeployPhase = "Succeeded"`)).toEqual([`cfn-gitops/development/1-sync-${sha12}`, `cfn-gitops/featureX/1-sync-${sha12}`]);
    expect(await listIds(client, `${deployments} AND Environment = "development" AND ExecutionStatus = "Completed"`)).toEqual([`cfn-gitops/development/1-sync-${sha12}`]);
  });

  it('keeps the versions and the commit on the workflows', async () => {
    const [development] = await listInfos(client, `${envWorkflows} AND Environment = "development"`);
    expect(development!.typedSearchAttributes.get(APP_VERSION)).toBe('1.4.2');
    expect(development!.typedSearchAttributes.get(GIT_COMMIT)).toBe(first);
    expect(development!.typedSearchAttributes.get(DEPLOY_PHASE)).toBe('Idle');
    expect(development!.typedSearchAttributes.get(SYNC_STATUS)).toBe('Synced');
    const [child] = await listInfos(client, `${deployments} AND AppVersion = "1.4.2" AND GitCommit = "${first}"`);
    expect(child!.workflowId).toBe(`cfn-gitops/development/1-sync-${first.slice(0, 12)}`);
    expect(child!.typedSearchAttributes.get(ENVIRONMENT)).toBe('development');
  });

  it('gives every deployment a summary and details, and every environment workflow its own', async () => {
    const short = first.slice(0, 7);
    const child = await client.workflow.getHandle(`cfn-gitops/featureX/1-sync-${first.slice(0, 12)}`).describe();
    expect(await child.staticSummary()).toBe(`featureX ← app 1.5.0-beta.1 (${short})`);
    expect(await child.staticDetails()).toBe(`**first push** in commit \`${short}\` by Dana Developer\n\nInitial commit: the example GitOps repo`);
    const environment = await client.workflow.getHandle('cfn-gitops/prod').describe();
    expect(await environment.staticSummary()).toBe('environment prod');
  });

  it('follows an approval through the search attributes, and the status command shows git against AWS', async () => {
    const approved = await runCli(['approve', 'prod', '--by', 'Alice Approver', '--version', '1.4.1', '--comment', 'go'], { env });
    expect(approved.stdout).toBe('prod: approved by Alice Approver\n');
    await until(() => listIds(client, `${envWorkflows} AND Environment = "prod" AND DeployPhase = "Idle" AND AppVersion = "1.4.1"`), (ids) => ids.length === 1, 'prod deployed');
    const prodChild = `cfn-gitops/prod/1-sync-${first.slice(0, 12)}`;
    expect(await listIds(client, `${deployments} AND Environment = "prod" AND DeployPhase = "Succeeded"`)).toEqual([prodChild]);
    expect(await (await client.workflow.getHandle(prodChild).describe()).staticDetails()).toMatch(/\n\napproved by Alice Approver: go$/);

    // A commit on main that is not deployed yet: with --repo, development is out of sync.
    const config = readFileSync(path.join(repo.dir, 'development', 'config.yaml'), 'utf8').replace(/appVersion:.*/, 'appVersion: "1.5.0"');
    await repo.commit('development: app 1.5.0', { 'development/config.yaml': config });
    const fromGit = await runCli(['status', '--repo', repo.dir, '--json'], { env });
    expect(fromGit.stderr).toBe('');
    const rows = JSON.parse(fromGit.stdout) as { environment: string; desiredVersion?: string; deployedVersion?: string; phase?: string; syncStatus: string; lastResult?: string; workflowId: string; url: string }[];
    expect(rows.map((r) => [r.environment, r.desiredVersion, r.deployedVersion, r.phase, r.syncStatus, r.lastResult, r.workflowId])).toEqual([
      ['development', '1.5.0', '1.4.2', 'Idle', 'OutOfSync', 'Succeeded', 'cfn-gitops/development'],
      ['featureX', '1.5.0-beta.1', '1.5.0-beta.1', 'Idle', 'Synced', 'Succeeded', 'cfn-gitops/featureX'],
      ['prod', '1.4.1', '1.4.1', 'Idle', 'Synced', 'Succeeded', 'cfn-gitops/prod'],
    ]);
    expect(rows[2]!.url).toBe(`http://ui.test/namespaces/${namespace}/workflows/cfn-gitops%2Fprod`);

    // Without --repo, desired is what the workflow last received.
    const table = await runCli(['status'], { env });
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ENVIRONMENT\s+DESIRED\s+DEPLOYED\s+PHASE\s+SYNC\s+CHECKED\s+LAST RESULT\s+PENDING APPROVAL\s+TEMPORAL UI$/);
    expect(lines[1]).toMatch(/^development\s+1\.4\.2\s+1\.4\.2\s+Idle\s+Synced\s+\d+[sm] ago\s+Succeeded \d+[sm] ago\s+-\s+http:\/\/ui\.test\/namespaces\/it-visibility\/workflows\/cfn-gitops%2Fdevelopment$/);

    const detail = await runCli(['status', 'prod'], { env });
    expect(detail.code).toBe(0);
    expect(detail.stdout).toMatch(/^1\s+sync\s+1\.4\.1\s+[0-9a-f]{7}\s+Succeeded\s+\d+[sm] ago\s+Alice Approver\s+prod: app 1\.4\.1 deployed by execution \S+$/m);

    const unknown = await runCli(['status', 'staging'], { env });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('cfn-gitops: no environment staging: no workflow cfn-gitops/staging runs\n');
  });
});
