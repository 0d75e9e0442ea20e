import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { signBody } from '../../server/webhook';
import { startTestAws, type TestAws } from '../support/aws';
import { runCli, startWorkerProcess, type WorkerProcess } from '../support/cli';
import { createTestRepo, type TestRepo } from '../support/gitops-repo';
import { workerEnv } from '../support/scenario';
import { TEST_NAMESPACES } from '../support/namespaces';
import { uniqueTaskQueue } from '../support/temporal';
import { startServerProcess, until, type ServerProcess } from '../server/harness';

/** A JSON answer as a client reads it. */
interface Answer {
  status: number;
  body: any;
}

interface Row {
  environment: string;
  desiredVersion?: string;
  deployedVersion?: string;
  phase?: string;
  syncStatus: string;
  lastResult?: string;
  pendingApproval?: { newVersion?: string; author: string };
}

/**
 * The API server as it ships (`cfn-gitops server`), against the shared Temporal dev server, a
 * worker process, the AWS emulator and a real git repo as CFN_GITOPS_REPO: GitHub's webhook
 * starts the deployments, the status API reports them, a token holder approves prod.
 */
describe('API server: webhook, status and approvals', () => {
  const ALICE = 'alice-token-0123456789abcdef';
  const DANA = 'dana-token-0123456789abcdef';
  const PAT = 'pat-token-0123456789abcdef';
  const SECRET = 'it-webhook-secret';
  const zeros = '0'.repeat(40);
  let aws: TestAws;
  let worker: WorkerProcess;
  let server: ServerProcess;
  let repo: TestRepo;
  let cache: string;
  let first: string;
  let env: NodeJS.ProcessEnv;

  const call = async (method: string, route: string, options: { body?: unknown; token?: string; headers?: Record<string, string> } = {}): Promise<Answer> => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${server.url}${route}`, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
    const text = await response.text();
    return { status: response.status, body: response.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : text };
  };
  const push = (delivery: string, payload: object, sign: (body: string) => string | undefined = (body) => signBody(SECRET, body)) => {
    const body = JSON.stringify(payload);
    const signature = sign(body);
    return fetch(`${server.url}/webhooks/github`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': delivery, ...(signature ? { 'x-hub-signature-256': signature } : {}) },
      body,
    }).then(async (r) => ({ status: r.status, body: await r.json() }) as Answer);
  };
  const rows = async () => (await call('GET', '/api/environments')).body.environments as Row[];
  const row = (all: Row[], environment: string) => all.find((r) => r.environment === environment);

  beforeAll(async () => {
    [aws, repo] = await Promise.all([startTestAws(), createTestRepo()]);
    cache = mkdtempSync(path.join(tmpdir(), 'cfn-gitops-cache-'));
    env = workerEnv(aws, TEST_NAMESPACES.api, uniqueTaskQueue('api'), {
      CFN_GITOPS_PROTECTED_ENVIRONMENTS: 'prod',
      CFN_GITOPS_API_TOKENS: `${ALICE}=Alice Approver,${DANA}=Dana Developer,${PAT}=Pat Pusher`,
      GITHUB_WEBHOOK_SECRET: SECRET,
      CFN_GITOPS_REPO: repo.dir,
      CFN_GITOPS_REPO_CACHE: path.join(cache, 'clone'),
    });
    [worker, server] = await Promise.all([startWorkerProcess(env), startServerProcess(env)]);
    first = await repo.head();
  });

  afterAll(async () => {
    await Promise.all([worker?.stop(), server?.stop()]);
    await aws?.close();
    repo?.remove();
    if (cache) rmSync(cache, { recursive: true, force: true });
  });

  it('is healthy once connected to Temporal', async () => {
    expect(await call('GET', '/healthz')).toEqual({ status: 200, body: { status: 'ok', temporal: { address: process.env.TEMPORAL_ADDRESS, namespace: TEST_NAMESPACES.api } } });
  });

  it('refuses webhooks without a valid signature, ignores other branches, starts a push once', async () => {
    const payload = { ref: 'refs/heads/main', before: zeros, after: first, repository: { full_name: 'acme/gitops' }, pusher: { name: 'Pat Pusher' } };
    expect(await push('delivery-1', payload, () => undefined)).toEqual({ status: 401, body: { error: 'missing X-Hub-Signature-256' } });
    expect(await push('delivery-1', payload, (body) => signBody('not the secret', body))).toEqual({ status: 401, body: { error: 'X-Hub-Signature-256 does not match the body' } });
    expect(await push('delivery-1', payload, (body) => signBody(SECRET, `${body} `))).toEqual({ status: 401, body: { error: 'X-Hub-Signature-256 does not match the body' } });
    expect(await push('delivery-2', { ...payload, ref: 'refs/heads/feature-x' })).toEqual({
      status: 202,
      body: { status: 'ignored', delivery: 'delivery-2', reason: 'push to refs/heads/feature-x, not to refs/heads/main' },
    });
    // Nothing started so far: main's folders have no workflow yet.
    expect((await rows()).map((r) => [r.environment, r.phase, r.syncStatus])).toEqual([
      ['development', undefined, 'Missing'],
      ['featureX', undefined, 'Missing'],
      ['prod', undefined, 'Missing'],
    ]);

    const started = await push('delivery-1', payload);
    expect(started.status).toBe(202);
    expect(started.body.status).toBe('started');
    expect(started.body.report.environments.map((e: { environment: string; action: string; status: string }) => [e.environment, e.action, e.status])).toEqual([
      ['development', 'sync', 'accepted'],
      ['featureX', 'sync', 'accepted'],
      ['prod', 'sync', 'accepted'],
    ]);

    expect(await push('delivery-1', payload)).toEqual({ status: 200, body: { status: 'duplicate delivery', delivery: 'delivery-1' } });

    const settled = await until(rows, (all) => row(all, 'development')?.syncStatus === 'Synced' && row(all, 'featureX')?.syncStatus === 'Synced' && row(all, 'prod')?.phase === 'WaitingForApproval', 'development and featureX deployed, prod waiting');
    expect(settled.map((r) => [r.environment, r.desiredVersion, r.deployedVersion, r.phase, r.syncStatus, r.lastResult])).toEqual([
      ['development', '1.4.2', '1.4.2', 'Idle', 'Synced', 'Succeeded'],
      ['featureX', '1.5.0-beta.1', '1.5.0-beta.1', 'Idle', 'Synced', 'Succeeded'],
      ['prod', '1.4.1', undefined, 'WaitingForApproval', 'OutOfSync', undefined],
    ]);
    expect(row(settled, 'prod')!.pendingApproval).toMatchObject({ newVersion: '1.4.1', author: 'Dana Developer' });
    // One execution per pipeline: the replayed delivery started nothing.
    expect(await aws.executions('cfn-gitops-development')).toHaveLength(1);
    expect(await aws.stack('cfn-gitops-prod-pipeline')).toBeUndefined();
  });

  it('answers one environment with its deployments, and 404 for an unknown one', async () => {
    const prod = await call('GET', '/api/environments/prod');
    expect(prod.status).toBe(200);
    expect(prod.body).toMatchObject({ environment: 'prod', workflowId: 'cfn-gitops/prod', phase: 'WaitingForApproval', desiredVersion: '1.4.1' });
    expect(prod.body.deployments).toEqual([expect.objectContaining({ number: 1, action: 'sync', appVersion: '1.4.1', commit: first })]);
    expect(await call('GET', '/api/environments/staging')).toEqual({ status: 404, body: { error: 'no environment staging: no workflow runs for it and main has no such folder' } });
  });

  it('approves prod only with a valid token of someone else than the author, and deploys it', async () => {
    expect(await call('POST', '/api/environments/prod/approve', { body: { version: '1.4.1' } })).toEqual({ status: 401, body: { error: 'missing Authorization: Bearer <token>' } });
    expect(await call('POST', '/api/environments/prod/approve', { body: { version: '1.4.1' }, token: 'not-a-valid-token-at-all' })).toEqual({ status: 401, body: { error: 'the token is not accepted' } });
    expect(await call('POST', '/api/environments/prod/approve', { body: { version: '1.4.1', by: 'Alice Approver' }, token: DANA })).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^invalid body: .*"by"/) } });
    expect(await call('POST', '/api/environments/prod/approve', { body: { version: '1.4.1' }, token: DANA })).toEqual({
      status: 409,
      body: { environment: 'prod', accepted: false, error: `Dana Developer wrote commit ${first.slice(0, 7)} and may not approve it; ask someone else` },
    });
    // The push event's pusher may not approve what they pushed either.
    expect(await call('POST', '/api/environments/prod/approve', { body: { version: '1.4.1' }, token: PAT })).toEqual({
      status: 409,
      body: { environment: 'prod', accepted: false, error: `Pat Pusher pushed commit ${first.slice(0, 7)} and may not approve it; ask someone else` },
    });
    expect(await call('POST', '/api/environments/prod/approve', { body: { version: '9.9.9' }, token: ALICE })).toEqual({
      status: 409,
      body: { environment: 'prod', accepted: false, error: `prod waits for approval of app 1.4.1 (${first.slice(0, 7)}), not 9.9.9` },
    });
    expect((await rows()).find((r) => r.environment === 'prod')!.phase).toBe('WaitingForApproval');

    expect(await call('POST', '/api/environments/prod/approve', { body: { version: '1.4.1', comment: 'release window' }, token: ALICE })).toEqual({
      status: 200,
      body: { environment: 'prod', accepted: true, message: 'approved by Alice Approver', by: 'Alice Approver' },
    });
    const after = await until(rows, (all) => row(all, 'prod')?.syncStatus === 'Synced', 'prod deployed');
    expect(row(after, 'prod')).toMatchObject({ deployedVersion: '1.4.1', phase: 'Idle', lastResult: 'Succeeded' });
    expect(row(after, 'prod')!.pendingApproval).toBeUndefined();
    expect(await aws.appVersion('cfn-gitops-prod')).toBe('1.4.1');
    const detail = await call('GET', '/api/environments/prod');
    expect(detail.body.deployments[0]).toMatchObject({ number: 1, result: 'Succeeded', approvedBy: 'Alice Approver', approvalComment: 'release window' });
    expect(await call('POST', '/api/environments/prod/reject', { token: ALICE })).toEqual({ status: 409, body: { environment: 'prod', accepted: false, error: 'nothing waits for approval in prod' } });
  });

  it('deploys the next push from its webhook and counts deployments in /metrics', async () => {
    const config = readFileSync(path.join(repo.dir, 'development', 'config.yaml'), 'utf8').replace(/appVersion:.*/, 'appVersion: "1.5.0"');
    const second = await repo.commit('development: app 1.5.0', { 'development/config.yaml': config });
    const started = await push('delivery-3', { ref: 'refs/heads/main', before: first, after: second });
    expect(started.status).toBe(202);
    expect(started.body.report.environments).toEqual([expect.objectContaining({ environment: 'development', action: 'sync', status: 'accepted', appVersion: '1.5.0', reason: 'config changed' })]);
    const after = await until(rows, (all) => row(all, 'development')?.deployedVersion === '1.5.0' && row(all, 'development')?.phase === 'Idle', 'development deployed 1.5.0');
    expect(row(after, 'development')).toMatchObject({ desiredVersion: '1.5.0', syncStatus: 'Synced', lastResult: 'Succeeded' });
    expect(await aws.appVersion('cfn-gitops-development')).toBe('1.5.0');

    const metrics = await call('GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('cfn_gitops_deployments{environment="development",result="Succeeded"} 2\n');
    expect(metrics.body).toContain('cfn_gitops_deployments{environment="prod",result="Succeeded"} 1\n');
    expect(metrics.body).toContain('cfn_gitops_pending_approvals 0\n');
    expect(metrics.body).toContain('cfn_gitops_environments{sync_status="Synced"} 3\n');
    expect(metrics.body).toMatch(/^cfn_gitops_deployment_duration_seconds_count\{environment="development"\} 2$/m);
  });

  it('cfn-gitops status and GET /api/environments give the same rows, and filter them the same way', async () => {
    // A push that leaves prod waiting for approval of 1.4.2 and adds a folder whose config is invalid.
    const before = await repo.head();
    const prodConfig = readFileSync(path.join(repo.dir, 'prod', 'config.yaml'), 'utf8').replace(/appVersion:.*/, 'appVersion: "1.4.2"');
    const after = await repo.commit('prod: app 1.4.2; qa', { 'prod/config.yaml': prodConfig, 'qa/config.yaml': 'parameters: {}\n' });
    expect((await push('delivery-4', { ref: 'refs/heads/main', before, after })).status).toBe(202);
    await until(rows, (all) => row(all, 'prod')?.phase === 'WaitingForApproval' && row(all, 'qa') !== undefined, 'prod waiting for 1.4.2, qa listed');

    const cli = async (...flags: string[]) => {
      const result = await runCli(['status', '--repo', repo.dir, '--json', ...flags], { env });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      return JSON.parse(result.stdout) as Row[];
    };
    const api = async (query: string) => {
      const answer = await call('GET', `/api/environments${query}`);
      expect(answer.status).toBe(200);
      return answer.body.environments as Row[];
    };
    const everything = await cli();
    expect(everything.map((r) => [r.environment, r.desiredVersion, r.deployedVersion, r.phase, r.syncStatus])).toEqual([
      ['development', '1.5.0', '1.5.0', 'Idle', 'Synced'],
      ['featureX', '1.5.0-beta.1', '1.5.0-beta.1', 'Idle', 'Synced'],
      ['prod', '1.4.2', '1.4.1', 'WaitingForApproval', 'OutOfSync'],
      ['qa', undefined, undefined, undefined, 'Missing'],
    ]);
    // Every field of every row, from the CLI and from the API: one model, one answer.
    expect(await api('')).toEqual(everything);
    const filters: [string[], string, string[]][] = [
      [['--sync-status', 'OutOfSync,Missing'], '?syncStatus=OutOfSync,Missing', ['prod', 'qa']],
      [['--phase', 'Idle'], '?phase=Idle', ['development', 'featureX']],
      [['--search', 'E', '--sync-status', 'synced'], '?q=E&syncStatus=synced', ['development', 'featureX']],
      [['--search', 'nothing'], '?q=nothing', []],
    ];
    for (const [flags, query, expected] of filters) {
      const fromCli = await cli(...flags);
      expect(fromCli.map((r) => r.environment)).toEqual(expected);
      expect(await api(query)).toEqual(fromCli);
    }

    // The terminal table says the same; a value the filter does not take is refused alike.
    const table = await runCli(['status', '--repo', repo.dir, '--sync-status', 'OutOfSync'], { env });
    expect(table.stdout.trimEnd().split('\n').map((line) => line.split(/\s{2,}/).slice(0, 5))).toEqual([
      ['ENVIRONMENT', 'DESIRED', 'DEPLOYED', 'PHASE', 'SYNC'],
      ['prod', '1.4.2', '1.4.1', 'WaitingForApproval', 'OutOfSync'],
    ]);
    const refused = await runCli(['status', '--sync-status', 'Healthy'], { env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe('cfn-gitops: --sync-status: "Healthy" is not a sync status: one of Synced, OutOfSync, Drifted, Missing, Orphaned, Progressing, Unknown, Expired\n');
    expect(await call('GET', '/api/environments?syncStatus=Healthy')).toEqual({ status: 400, body: { error: 'invalid filter: syncStatus: "Healthy" is not a sync status: one of Synced, OutOfSync, Drifted, Missing, Orphaned, Progressing, Unknown, Expired' } });
  });
});
