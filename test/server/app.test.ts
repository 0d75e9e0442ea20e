import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../server/app';
import type { GitFetcher } from '../../server/git-fetcher';
import type { ServerSettings } from '../../server/settings';
import { signBody } from '../../server/webhook';
import { createGitReader } from '../../starter/git';
import { createTestRepo, type TestRepo } from '../support/gitops-repo';
import { fakeClient, idleState, TEMPORAL, waitingState } from './fakes';

/**
 * The HTTP surface against a fake Temporal client: authentication, validation, the webhook's
 * signature, branch and replay rules. The integration tests run the same routes against a real
 * dev server and worker.
 */
const ALICE = 'alice-token-0123456789';
const SECRET = 'webhook-secret';

const settings: ServerSettings = {
  temporal: TEMPORAL,
  apiTokens: new Map([[ALICE, 'Alice Approver']]),
  webhookSecret: SECRET,
  branch: 'main',
  refreshSeconds: 3,
  webhookMaxBytes: 5 * 1024 * 1024,
};

/** A response body as JSON; the tests read the fields a client would. */
const json = (response: Response): Promise<any> => response.json();

async function serve(app: ReturnType<typeof createApp>): Promise<{ url: string; server: Server }> {
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('API server routes', () => {
  let repo: TestRepo;
  let fetches = 0;
  const git: GitFetcher = {
    fetch: async () => {
      fetches++;
      return createGitReader(repo.dir);
    },
    current: async () => createGitReader(repo.dir),
  };
  const fake = fakeClient([idleState('development', '1.4.2'), waitingState('prod', '1.4.0', '1.4.1')]);
  let url: string;
  let server: Server;

  beforeAll(async () => {
    repo = await createTestRepo();
    ({ url, server } = await serve(createApp({ client: fake.client, settings, git, statusCacheMs: 0 })));
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    repo?.remove();
  });

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const hook = (body: string, headers: Record<string, string>) => fetch(`${url}/webhooks/github`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  it('lists every environment, desired from git main against deployed', async () => {
    const response = await fetch(`${url}/api/environments`);
    expect(response.status).toBe(200);
    const body = await json(response);
    expect(body.environments.map((e: { environment: string; desiredVersion: string; deployedVersion?: string; syncStatus: string; phase?: string }) => [e.environment, e.desiredVersion, e.deployedVersion, e.phase, e.syncStatus])).toEqual([
      ['development', '1.4.2', '1.4.2', 'Idle', 'Synced'],
      ['featureX', '1.5.0-beta.1', undefined, undefined, 'Missing'],
      ['prod', '1.4.1', '1.4.0', 'WaitingForApproval', 'OutOfSync'],
    ]);
    expect(body.environments[2]).toMatchObject({ workflowId: 'cfn-gitops/prod', url: 'http://ui.test/namespaces/default/workflows/cfn-gitops%2Fprod', pendingApproval: { newVersion: '1.4.1' } });
  });

  describe('GET /api/environments?syncStatus=&phase=&q=', () => {
    const names = async (query: string) => {
      const response = await fetch(`${url}/api/environments${query}`);
      expect(response.status).toBe(200);
      const body = await json(response);
      return { names: body.environments.map((e: { environment: string }) => e.environment), total: body.total, counts: body.counts };
    };

    it('filters by sync status, phase and part of the name, each a list or repeated, all given must match', async () => {
      expect((await names('?syncStatus=OutOfSync')).names).toEqual(['prod']);
      expect((await names('?syncStatus=synced,MISSING')).names).toEqual(['development', 'featureX']);
      expect((await names('?syncStatus=Synced&syncStatus=OutOfSync')).names).toEqual(['development', 'prod']);
      expect((await names('?phase=WaitingForApproval,Idle')).names).toEqual(['development', 'prod']);
      expect((await names('?q=PRO')).names).toEqual(['prod']);
      expect((await names('?q=e&syncStatus=Missing')).names).toEqual(['featureX']);
      expect((await names('?q=e&phase=Idle&syncStatus=Synced')).names).toEqual(['development']);
      expect((await names('?q=&syncStatus=')).names).toEqual(['development', 'featureX', 'prod']);
    });

    it('counts every environment by sync status and phase, whatever the filter keeps', async () => {
      expect(await names('?q=nothing-is-called-so')).toEqual({
        names: [],
        total: 3,
        counts: {
          syncStatus: { Synced: 1, OutOfSync: 1, Drifted: 0, Missing: 1, Orphaned: 0, Progressing: 0, Unknown: 0, Expired: 0 },
          phase: { Idle: 1, none: 1, WaitingForApproval: 1 },
        },
      });
    });

    it('refuses a value it does not know with 400, naming the parameter and the values it takes', async () => {
      const status = await fetch(`${url}/api/environments?syncStatus=Healthy`);
      expect(status.status).toBe(400);
      expect(await json(status)).toEqual({ error: 'invalid filter: syncStatus: "Healthy" is not a sync status: one of Synced, OutOfSync, Drifted, Missing, Orphaned, Progressing, Unknown, Expired' });
      const phase = await fetch(`${url}/api/environments?phase=Idle,Sleeping`);
      expect(phase.status).toBe(400);
      expect((await json(phase)).error).toMatch(/^invalid filter: phase: "Sleeping" is not a phase: one of Idle, Queued, WaitingForApproval, /);
      const long = await fetch(`${url}/api/environments?q=${'x'.repeat(65)}`);
      expect(await json(long)).toEqual({ error: 'invalid filter: q: at most 64 characters' });
    });

    it('filters the dashboard and its refreshes the same way, with approve and reject only for a valid token', async () => {
      const page = await (await fetch(`${url}/?syncStatus=OutOfSync,Missing&q=X`)).text();
      expect(page).toContain('<p id="filter">Showing 1 of 3 environments: sync status OutOfSync or Missing, name contains &quot;X&quot;. <a href="/">Show all</a></p>');
      expect(page.match(/<article [^>]*>/g)).toEqual(['<article class="card sync-Missing" data-environment="featureX">']);
      const refused = await (await fetch(`${url}/?syncStatus=Healthy`)).text();
      expect(refused).toContain('syncStatus: &quot;Healthy&quot; is not a sync status');
      expect(refused.match(/<article /g)).toHaveLength(3);

      const partial = async (query: string, token?: string) => {
        const response = await fetch(`${url}/partials/environments${query}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
        return { status: response.status, body: await json(response) };
      };
      const anonymous = await partial('?phase=WaitingForApproval');
      expect(anonymous.status).toBe(200);
      expect(anonymous.body.html.match(/<article [^>]*>/g)).toEqual(['<article class="card sync-OutOfSync" data-environment="prod">']);
      expect(anonymous.body.html).not.toContain('<button');
      expect((await partial('?phase=WaitingForApproval', ALICE)).body.html).toContain('data-action="approve" data-environment="prod" data-version="1.4.1">Approve 1.4.1</button>');
      expect((await partial('?phase=WaitingForApproval', 'not-a-token-at-all')).body.html).not.toContain('<button');
      const none = (await partial('?q=zzz')).body.html;
      expect(none).toContain('<p id="filter">Showing 0 of 3 environments: name contains &quot;zzz&quot;. <a href="/">Show all</a></p>');
      expect(none).toContain('<p class="empty">No environment matches the filter.</p>');
      // The counts stay those of every environment, each a link that keeps the search.
      expect(none).toContain('<a class="chip sync-Missing" href="/?syncStatus=Missing&amp;q=zzz" data-sync-status="Missing">Missing <b>1</b></a>');
      expect((await partial('?view=list&sort=syncStatus&order=desc')).body.html.match(/<tr class="[^"]+" data-environment="(\w+)"/g)).toEqual([
        '<tr class="sync-Missing" data-environment="featureX"',
        '<tr class="sync-OutOfSync" data-environment="prod"',
        '<tr class="sync-Synced" data-environment="development"',
      ]);
      expect(await partial('?sort=age')).toMatchObject({ status: 400, body: { error: 'invalid order: sort: one of name, syncStatus, phase, lastDeployment' } });
      expect(await partial('?phase=Sleeping')).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^invalid filter: phase: /) } });
    });
  });

  it('answers one environment with its deployments, 404 for an unknown one and 400 for a bad name', async () => {
    const prod = await fetch(`${url}/api/environments/prod`);
    expect(prod.status).toBe(200);
    expect((await json(prod)).deployments.map((d: { number: number }) => d.number)).toEqual([2, 1]);
    const unknown = await fetch(`${url}/api/environments/staging`);
    expect(unknown.status).toBe(404);
    expect(await json(unknown)).toEqual({ error: 'no environment staging: no workflow runs for it and main has no such folder' });
    const bad = await fetch(`${url}/api/environments/${encodeURIComponent('x"y')}`);
    expect(bad.status).toBe(400);
    expect((await json(bad)).error).toMatch(/is not an environment name/);
  });

  it('refuses decisions without a token or with a bad one, and says so', async () => {
    const none = await post('/api/environments/prod/approve', {});
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="cfn-gitops"');
    expect(await json(none)).toEqual({ error: 'missing Authorization: Bearer <token>' });
    const wrong = await post('/api/environments/prod/approve', {}, { authorization: 'Bearer not-a-token-at-all' });
    expect(wrong.status).toBe(401);
    expect(await json(wrong)).toEqual({ error: 'the token is not accepted' });
    expect(fake.calls.updates).toEqual([]);
  });

  it('validates the body and the decision', async () => {
    const auth = { authorization: `Bearer ${ALICE}` };
    const extra = await post('/api/environments/prod/approve', { version: '1.4.1', by: 'mallory' }, auth);
    expect(extra.status).toBe(400);
    expect((await json(extra)).error).toMatch(/^invalid body: .*by/);
    const typed = await post('/api/environments/prod/approve', { version: 141 }, auth);
    expect(typed.status).toBe(400);
    expect((await json(typed)).error).toMatch(/^invalid body: version: /);
    const broken = await post('/api/environments/prod/approve', '{"version":', auth);
    expect(broken.status).toBe(400);
    expect(await json(broken)).toEqual({ error: 'the body is not valid JSON' });
    const unknown = await post('/api/environments/prod/merge', {}, auth);
    expect(unknown.status).toBe(404);
    expect(fake.calls.updates).toEqual([]);
  });

  it("approves as the token's person and passes version and comment on", async () => {
    const response = await post('/api/environments/prod/approve', { version: '1.4.1', comment: 'ship it' }, { authorization: `Bearer ${ALICE}` });
    expect(response.status).toBe(200);
    expect(await json(response)).toEqual({ environment: 'prod', accepted: true, message: 'approved by Alice Approver', by: 'Alice Approver' });
    expect(fake.calls.updates).toEqual([{ workflowId: 'cfn-gitops/prod', name: 'approve', args: [{ by: 'Alice Approver', version: '1.4.1', comment: 'ship it' }] }]);
  });

  it("answers 409 with the workflow's reason when it refuses", async () => {
    const refusing = fakeClient([waitingState('prod', '1.4.0', '1.4.1')], { refuse: 'version 1.9.9 is not what waits: 1.4.1 waits in prod' });
    const { url: other, server: otherServer } = await serve(createApp({ client: refusing.client, settings }));
    try {
      const response = await fetch(`${other}/api/environments/prod/approve`, { method: 'POST', headers: { authorization: `Bearer ${ALICE}`, 'content-type': 'application/json' }, body: '{"version":"1.9.9"}' });
      expect(response.status).toBe(409);
      expect(await json(response)).toEqual({ environment: 'prod', accepted: false, error: 'version 1.9.9 is not what waits: 1.4.1 waits in prod' });
      const missing = await fetch(`${other}/api/environments/qa/cancel`, { method: 'POST', headers: { authorization: `Bearer ${ALICE}` } });
      expect(missing.status).toBe(404);
      expect(await json(missing)).toEqual({ environment: 'qa', accepted: false, error: 'no workflow for environment qa' });
    } finally {
      await new Promise((resolve) => otherServer.close(resolve));
    }
  });

  describe('POST /webhooks/github', () => {
    const push = async () => JSON.stringify({ ref: 'refs/heads/main', before: '0'.repeat(40), after: await repo.head(), repository: { full_name: 'acme/gitops' } });

    it('refuses a missing or bad signature with 401 and starts nothing', async () => {
      const body = await push();
      const missing = await hook(body, { 'x-github-event': 'push', 'x-github-delivery': 'd-1' });
      expect(missing.status).toBe(401);
      expect(await json(missing)).toEqual({ error: 'missing X-Hub-Signature-256' });
      const bad = await hook(body, { 'x-github-event': 'push', 'x-github-delivery': 'd-1', 'x-hub-signature-256': signBody('another secret', body) });
      expect(bad.status).toBe(401);
      expect(await json(bad)).toEqual({ error: 'X-Hub-Signature-256 does not match the body' });
      expect(fake.calls.submitted).toEqual([]);
      expect(fetches).toBe(0);
    });

    it('ignores pushes to other branches with 202 and the reason', async () => {
      const body = JSON.stringify({ ref: 'refs/heads/feature', before: 'a'.repeat(40), after: 'b'.repeat(40) });
      const response = await hook(body, { 'x-github-event': 'push', 'x-github-delivery': 'd-2', 'x-hub-signature-256': signBody(SECRET, body) });
      expect(response.status).toBe(202);
      expect(await json(response)).toEqual({ status: 'ignored', delivery: 'd-2', reason: 'push to refs/heads/feature, not to refs/heads/main' });
      expect(fetches).toBe(0);
    });

    it('fetches, starts the push once, and answers a replayed delivery as a duplicate', async () => {
      const body = await push();
      const headers = { 'x-github-event': 'push', 'x-github-delivery': 'd-3', 'x-hub-signature-256': signBody(SECRET, body) };
      const first = await hook(body, headers);
      expect(first.status).toBe(202);
      const answer = await json(first);
      expect(answer.status).toBe('started');
      expect(answer.report.environments.map((e: { environment: string; status: string }) => `${e.environment}:${e.status}`)).toEqual(['development:accepted', 'featureX:accepted', 'prod:accepted']);
      expect(fake.calls.submitted.map((d) => d.environment)).toEqual(['development', 'featureX', 'prod']);
      expect(fetches).toBe(1);

      const replay = await hook(body, headers);
      expect(replay.status).toBe(200);
      expect(await json(replay)).toEqual({ status: 'duplicate delivery', delivery: 'd-3' });
      expect(fake.calls.submitted).toHaveLength(3);
      expect(fetches).toBe(1);
    });

    it('answers ping, refuses a payload that is not a push', async () => {
      const ping = '{"zen":"Keep it logically awesome."}';
      const pong = await hook(ping, { 'x-github-event': 'ping', 'x-github-delivery': 'd-4', 'x-hub-signature-256': signBody(SECRET, ping) });
      expect(pong.status).toBe(200);
      const notPush = '{"ref":"refs/heads/main"}';
      const refused = await hook(notPush, { 'x-github-event': 'push', 'x-github-delivery': 'd-5', 'x-hub-signature-256': signBody(SECRET, notPush) });
      expect(refused.status).toBe(400);
      expect((await json(refused)).error).toMatch(/^not a push event: before: /);
    });
  });

  it('serves metrics, health and the dashboard', async () => {
    const metrics = await fetch(`${url}/metrics`);
    expect(metrics.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(await metrics.text()).toContain('cfn_gitops_pending_approvals 1\n');
    const health = await fetch(`${url}/healthz`);
    expect(await json(health)).toEqual({ status: 'ok', temporal: { address: '127.0.0.1:7233', namespace: 'default' } });
    const page = await fetch(`${url}/`);
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'nonce-/);
    const html = await page.text();
    expect(html).toContain('<article class="card sync-OutOfSync" data-environment="prod">');
    expect(html).toContain('<span data-field="desired">1.5.0-beta.1</span>');
  });

  it('shows what the search attributes say, with a warning, when no worker answers the state query', async () => {
    const silent = fakeClient([idleState('development', '1.4.2')], { queryFails: true });
    const { url: other, server: otherServer } = await serve(createApp({ client: silent.client, settings }));
    try {
      const body = await json(await fetch(`${other}/api/environments`));
      expect(body.environments).toEqual([expect.objectContaining({ environment: 'development', phase: 'Idle', source: 'search-attributes' })]);
      expect(body.warnings).toEqual(['development: the workflow did not answer its state query (is a worker polling?); shown from its search attributes']);
    } finally {
      await new Promise((resolve) => otherServer.close(resolve));
    }
  });

  it('answers 503 on /healthz when Temporal is unreachable, and still serves the page with the reason', async () => {
    const down = fakeClient([], { unreachable: true });
    const { url: other, server: otherServer } = await serve(createApp({ client: down.client, settings }));
    try {
      const health = await fetch(`${other}/healthz`);
      expect(health.status).toBe(503);
      expect((await json(health)).error).toMatch(/UNAVAILABLE/);
      const page = await fetch(`${other}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('Cannot read the environments from Temporal: 14 UNAVAILABLE');
      const api = await fetch(`${other}/api/environments`);
      expect(api.status).toBe(500);
      expect((await json(api)).error).toMatch(/UNAVAILABLE/);
    } finally {
      await new Promise((resolve) => otherServer.close(resolve));
    }
  });
});
