import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createApp } from '../../server/app';
import type { ServerSettings } from '../../server/settings';
import type { EnvironmentState } from '../../common/types';
import { HISTORIES_DIR } from '../support/scenario';
import { fakeClient, idleState, TEMPORAL, waitingState } from './fakes';

/**
 * An environment's page and its timeline API against a fake Temporal client holding a recorded
 * history (prod's first deployment: approved by Avery Approver after a change set preview, pushed
 * by Pat Pusher) and the state its workflow answers; the integration test reads real ones.
 */
const ALICE = 'alice-token-0123456789';
const settings: ServerSettings = { temporal: TEMPORAL, apiTokens: new Map([[ALICE, 'Alice Approver']]), branch: 'main', refreshSeconds: 3, webhookMaxBytes: 1 << 20 };
const SHA = '4c4994ba0676a5fd2842f50d03b5b763876bd166';

describe('environment page and GET /api/environments/:env/deployments', () => {
  let url: string;
  let server: Server;
  const prod: EnvironmentState = idleState('prod', '2.0.0', [
    {
      number: 1,
      action: 'sync',
      commit: SHA,
      appVersion: '2.0.0',
      requestedAt: '2026-12-01T23:08:34.281Z',
      startedAt: '2026-12-01T23:08:34.283Z',
      endedAt: '2026-12-01T23:08:38.350Z',
      result: 'Succeeded',
      message: 'prod: app 2.0.0 deployed by execution 0d6acabd-31dc-44e3-80fd-438805d721d5',
      approvedBy: 'Avery Approver',
      approvalComment: 'release window',
      pipelineExecutionId: '0d6acabd-31dc-44e3-80fd-438805d721d5',
      workflowId: 'cfn-gitops/prod/1-sync-4c4994ba0676',
    },
  ]);
  const history = JSON.parse(readFileSync(path.join(HISTORIES_DIR, 'trust', 'cfn-gitops__prod.json'), 'utf8')) as object;
  const fake = fakeClient([prod, waitingState('staging', '1.4.0', '1.4.1')], {
    runs: { 'cfn-gitops/prod': [{ runId: 'run-1', open: true, startTime: new Date('2026-12-01T23:08:33.989Z'), history }] },
  });

  beforeAll(async () => {
    server = createServer(createApp({ client: fake.client, settings, statusCacheMs: 0 }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('answers the timeline: commit, pusher, desired version, preview, approver and comment, execution, result and durations', async () => {
    const response = await fetch(`${url}/api/environments/prod/deployments`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      environment: 'prod',
      warnings: [],
      deployments: [
        {
          number: 1,
          action: 'sync',
          status: 'Succeeded',
          result: 'Succeeded',
          commit: { sha: SHA, message: 'prod: 2.0.0', author: 'Someone Else', authorEmail: 'else@example.com', committer: 'Wes Writer', date: '2026-12-01T23:08:33+00:00' },
          pushedBy: 'Pat Pusher',
          reason: 'first push',
          desiredVersion: '2.0.0',
          deployedVersion: '2.0.0',
          changeSetPreview: ['Add cfn-gitops-prod-pipeline: a new pipeline stack, whose pipeline then runs once by itself'],
          approvedBy: 'Avery Approver',
          approvalComment: 'release window',
          approvedAt: '2026-12-01T23:08:36.921Z',
          pipelineExecutionId: '0d6acabd-31dc-44e3-80fd-438805d721d5',
          message: 'prod: app 2.0.0 deployed by execution 0d6acabd-31dc-44e3-80fd-438805d721d5',
          workflowId: 'cfn-gitops/prod/1-sync-4c4994ba0676',
          url: 'http://ui.test/namespaces/default/workflows/cfn-gitops%2Fprod%2F1-sync-4c4994ba0676',
          requestedAt: '2026-12-01T23:08:34.281Z',
          startedAt: '2026-12-01T23:08:34.283Z',
          deployStartedAt: '2026-12-01T23:08:36.937Z',
          endedAt: '2026-12-01T23:08:38.350Z',
          durations: { queuedMs: 2, approvalMs: 2638, deployMs: 1413, totalMs: 4069 },
        },
      ],
    });
  });

  it('draws the same on the environment page, under a CSP nonce', async () => {
    const response = await fetch(`${url}/environments/prod`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toMatch(/script-src 'nonce-[^']+'; .*form-action 'self'/);
    const page = await response.text();
    expect(page).toContain('<title>cfn-gitops: prod</title>');
    expect(page).toContain('<main data-partial="/partials/environments/prod">');
    expect(page).toContain('<li class="entry result-Succeeded" data-number="1" data-commit="4c4994ba0676a5fd2842f50d03b5b763876bd166">');
    expect(page).toContain('by <span data-field="author">Someone Else</span> (committed by Wes Writer), pushed by <span data-field="pusher">Pat Pusher</span>');
    expect(page).toContain('<li>Add cfn-gitops-prod-pipeline: a new pipeline stack, whose pipeline then runs once by itself</li>');
    expect(page).toContain('by <span data-field="approver">Avery Approver</span>: <q data-field="approval-comment">release window</q>');
    expect(page).toContain('<code data-field="execution">0d6acabd-31dc-44e3-80fd-438805d721d5</code>');
    expect(page).toContain('<span data-field="durations">queued 2ms · approval 3s · deploy 1s · total 4s</span>');
  });

  it('shows a waiting approval with its buttons to a signed-in person only, in the page view', async () => {
    const anonymous = (await (await fetch(`${url}/partials/environments/staging`)).json()) as { html: string };
    expect(anonymous.html).toContain('<p data-field="approved-so-far">Approved so far: nobody yet.');
    expect(anonymous.html).not.toContain('<button');
    // No history is listed for staging: its timeline is what its state keeps.
    expect(anonymous.html).toContain('<h3>#2 sync app 1.4.1</h3><span class="badge result-WaitingForApproval">WaitingForApproval</span>');
    const signedIn = (await (await fetch(`${url}/partials/environments/staging`, { headers: { authorization: `Bearer ${ALICE}` } })).json()) as { html: string };
    expect(signedIn.html).toContain('data-action="approve" data-environment="staging" data-version="1.4.1">Approve 1.4.1</button>');
  });

  it('reads earlier runs (continued as new) only as far back as the page reaches, and each closed one once', async () => {
    const gated = JSON.parse(readFileSync(path.join(HISTORIES_DIR, 'races', 'cfn-gitops__gated.json'), 'utf8')) as object;
    // A request queued now, the deployment of the newest run, and the earlier run's deployment.
    const queued: EnvironmentState = { ...prod, pending: { number: 0, action: 'sync', commit: 'e'.repeat(40), appVersion: '2.1.0', requestedAt: '2026-12-02T00:00:00.000Z' } };
    const twoRuns = fakeClient([queued], {
      runs: {
        'cfn-gitops/prod': [
          { runId: 'run-2', open: true, startTime: new Date('2026-12-01T23:08:33.989Z'), history },
          { runId: 'run-1', open: false, startTime: new Date('2026-11-27T08:36:58.000Z'), history: gated },
        ],
      },
    });
    const other = createServer(createApp({ client: twoRuns.client, settings, statusCacheMs: 0 }));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const at = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    type Page = { deployments: { status: string; workflowId?: string }[]; next?: string };
    const page = async (query: string) => (await (await fetch(`${at}/api/environments/prod/deployments${query}`)).json()) as Page;
    try {
      const first = await page('?limit=1');
      expect(first.deployments.map((d) => d.status)).toEqual(['Queued']);
      expect(twoRuns.calls.histories).toEqual(['cfn-gitops/prod@latest']);
      // The second page holds the newest run's last deployment; whether a third exists, the earlier run says.
      const second = await page(`?limit=1&before=${encodeURIComponent(first.next!)}`);
      expect(second.deployments.map((d) => d.workflowId)).toEqual(['cfn-gitops/prod/1-sync-4c4994ba0676']);
      expect(twoRuns.calls.histories).toEqual(['cfn-gitops/prod@latest', 'cfn-gitops/prod@latest', 'cfn-gitops/prod@run-1']);
      const third = await page(`?limit=1&before=${encodeURIComponent(second.next!)}`);
      expect(third.deployments.map((d) => d.workflowId)).toEqual(['cfn-gitops/gated/2-sync-ca1c71293c4a']);
      expect(third.next).toBeUndefined();
      // A closed run never changes: it was fetched once.
      expect(twoRuns.calls.histories.filter((h) => h.endsWith('@run-1'))).toHaveLength(1);
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
  });

  it('answers 404 for an environment nobody knows, 400 for a bad name or page', async () => {
    const unknown = await fetch(`${url}/api/environments/nowhere/deployments`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: 'no environment nowhere: no workflow runs for it and its history holds no deployment' });
    expect((await fetch(`${url}/environments/nowhere`)).status).toBe(404);
    const badPage = await fetch(`${url}/api/environments/prod/deployments?before=yesterday`);
    expect(badPage.status).toBe(400);
    expect(await badPage.json()).toEqual({ error: 'invalid query: before: an ISO-8601 time, the `next` of a newer page' });
    expect(await (await fetch(`${url}/api/environments/prod/deployments?limit=0`)).json()).toEqual({ error: 'invalid query: limit: from 1 to 100' });
    expect((await fetch(`${url}/api/environments/${encodeURIComponent('x"y')}/deployments`)).status).toBe(400);
  });
});
