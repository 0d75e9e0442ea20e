import { renderMetrics } from '../../server/metrics';
import { countRows, relativeTime, statusRow, type EnvironmentDetail, type EnvironmentStatus } from '../../common/status';
import type { TimelineEntry } from '../../common/timeline';
import {
  dashboardHref,
  dashboardPage,
  DEFAULT_QUERY,
  escapeHtml,
  html,
  renderApproval,
  renderCard,
  renderCards,
  renderCounts,
  renderDashboard,
  renderList,
  type DashboardQuery,
} from '../../server/render';
import { renderEnvironmentView, renderTimelineEntry } from '../../server/render-environment';
import { readServerSettings } from '../../server/settings';
import { DeliveryLog, signBody, verifySignature } from '../../server/webhook';
import { idleState, record, waitingState } from './fakes';

const NOW = Date.parse('2024-05-01T12:15:00.000Z');
const url = (environment: string) => `http://ui.test/namespaces/default/workflows/cfn-gitops%2F${environment}`;
const listed = (state: ReturnType<typeof idleState>) => ({ workflowId: `cfn-gitops/${state.environment}`, state, attributes: {} });

describe('webhook signatures', () => {
  const body = Buffer.from('{"ref":"refs/heads/main"}');

  it("accepts GitHub's sha256 HMAC of the raw body (the example in GitHub's docs)", () => {
    const signature = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
    expect(signBody("It's a Secret to Everybody", 'Hello, World!')).toBe(signature);
    expect(verifySignature("It's a Secret to Everybody", Buffer.from('Hello, World!'), signature)).toBe(true);
    expect(verifySignature('s3cret', body, signBody('s3cret', body))).toBe(true);
  });

  it('refuses another secret, another body, a missing or malformed header', () => {
    expect(verifySignature('other', body, signBody('s3cret', body))).toBe(false);
    expect(verifySignature('s3cret', Buffer.from(`${body} `), signBody('s3cret', body))).toBe(false);
    expect(verifySignature('s3cret', body, undefined)).toBe(false);
    expect(verifySignature('s3cret', body, 'sha1=abc')).toBe(false);
    expect(verifySignature('s3cret', body, `${signBody('s3cret', body)}00`)).toBe(false);
  });
});

describe('DeliveryLog', () => {
  it('claims a delivery once, forgets a released one and the oldest past its capacity', () => {
    const log = new DeliveryLog(2);
    expect(log.claim('a')).toBe(true);
    expect(log.claim('a')).toBe(false);
    log.release('a');
    expect(log.claim('a')).toBe(true);
    log.done('a');
    expect(log.claim('b')).toBe(true);
    expect(log.claim('c')).toBe(true);
    expect(log.size).toBe(2);
    expect(log.claim('a')).toBe(true);
    expect(log.claim('c')).toBe(false);
  });
});

describe('readServerSettings', () => {
  it('maps tokens to names and reads the repo, branch and secret', () => {
    const settings = readServerSettings({
      CFN_GITOPS_API_TOKENS: 'alice-token-0123456789=Alice Approver, bob-token-0123456789=Bob',
      GITHUB_WEBHOOK_SECRET: 'hook',
      CFN_GITOPS_REPO: '/srv/gitops',
    });
    expect([...settings.apiTokens]).toEqual([
      ['alice-token-0123456789', 'Alice Approver'],
      ['bob-token-0123456789', 'Bob'],
    ]);
    expect(settings).toMatchObject({ webhookSecret: 'hook', repo: '/srv/gitops', branch: 'main', refreshSeconds: 3 });
    expect(settings.temporal.namespace).toBe('default');
  });

  it('names the variable and the entry that is wrong, never the token', () => {
    expect(() => readServerSettings({ CFN_GITOPS_API_TOKENS: 'alice-token-0123456789=Alice,justatoken' })).toThrow('invalid settings: CFN_GITOPS_API_TOKENS: entry 2 is not token=Person Name');
    expect(() => readServerSettings({ CFN_GITOPS_API_TOKENS: 'short=Bob' })).toThrow('CFN_GITOPS_API_TOKENS: entry 1 (Bob): a token has at least 16 characters');
    expect(() => readServerSettings({ CFN_GITOPS_DASHBOARD_REFRESH: 'soon' })).toThrow(/CFN_GITOPS_DASHBOARD_REFRESH/);
  });

  it('treats empty variables as unset', () => {
    expect(readServerSettings({ CFN_GITOPS_API_TOKENS: '', GITHUB_WEBHOOK_SECRET: '' })).toMatchObject({ webhookSecret: undefined, apiTokens: new Map() });
  });
});

describe('metrics', () => {
  it('writes the Prometheus text format: sync statuses, approvals, deployments by result and durations', async () => {
    const dev = statusRow({ environment: 'dev', url: url('dev'), workflow: listed(idleState('dev', '1.4.2')) });
    const prod = statusRow({ environment: 'prod', url: url('prod'), workflow: listed(waitingState('prod', '1.4.1', '1.4.2')) });
    const details: EnvironmentDetail[] = [
      { ...dev, deployments: [record(3, 'Failed', '1.4.3', 0.25), record(2, 'Succeeded', '1.4.2', 4), record(1, 'Succeeded', '1.4.1', 1)] },
      { ...prod, environment: 'prod "main"', deployments: [] },
    ];
    const text = await renderMetrics(details);
    expect(text).toContain('# TYPE cfn_gitops_environments gauge\n');
    expect(text).toContain('cfn_gitops_environments{sync_status="Synced"} 1\ncfn_gitops_environments{sync_status="OutOfSync"} 1\n');
    expect(text).toContain('cfn_gitops_environments{sync_status="Progressing"} 0\n');
    expect(text).toContain('cfn_gitops_pending_approvals 1\n');
    expect(text).toContain('cfn_gitops_deployments{environment="dev",result="Succeeded"} 2\ncfn_gitops_deployments{environment="dev",result="Failed"} 1\n');
    expect(text).toContain(
      [
        'cfn_gitops_deployment_duration_seconds_bucket{le="10",environment="dev"} 0',
        'cfn_gitops_deployment_duration_seconds_bucket{le="30",environment="dev"} 1',
        'cfn_gitops_deployment_duration_seconds_bucket{le="60",environment="dev"} 2',
        'cfn_gitops_deployment_duration_seconds_bucket{le="120",environment="dev"} 2',
        'cfn_gitops_deployment_duration_seconds_bucket{le="300",environment="dev"} 3',
      ].join('\n'),
    );
    expect(text).toContain('cfn_gitops_deployment_duration_seconds_bucket{le="+Inf",environment="dev"} 3\ncfn_gitops_deployment_duration_seconds_sum{environment="dev"} 315\ncfn_gitops_deployment_duration_seconds_count{environment="dev"} 3\n');
    expect(text).toContain('cfn_gitops_environment_info{environment="prod \\"main\\"",phase="WaitingForApproval",sync_status="OutOfSync",deployed_version="1.4.1",desired_version="1.4.2"} 1\n');
    // Every line is a comment, `name{labels} value`, or the blank line between two families.
    for (const line of text.trimEnd().split('\n').filter(Boolean)) expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+(\{.*\})? -?\d+(\.\d+)?)$/);
  });
});

describe('dashboard HTML', () => {
  const waiting: EnvironmentStatus = statusRow({ environment: 'prod', url: url('prod'), workflow: listed(waitingState('prod', '1.4.1', '1.4.2')) });

  it('escapes every value that reaches the page', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    const hostile: EnvironmentStatus = { ...waiting, deployedVersion: '<img src=x onerror=alert(1)>', lastResultMessage: '<script>alert(2)</script>', lastResult: 'Failed' };
    const card = renderCard(hostile, NOW, true).text;
    expect(card).not.toContain('<img');
    expect(card).not.toContain('<script>');
    expect(card).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(card).toContain('by Dana &lt;Developer&gt;');
    expect(card).toContain('<p class="note">&lt;script&gt;alert(2)&lt;/script&gt;</p>');
  });

  it('escapes what its template is given, keeps the markup it made itself, and leaves nothing for absent values', () => {
    const name = '"><b>x</b>';
    expect(html`<p title="${name}">${name}</p>`.text).toBe('<p title="&quot;&gt;&lt;b&gt;x&lt;/b&gt;">&quot;&gt;&lt;b&gt;x&lt;/b&gt;</p>');
    expect(html`<ul>${['a<', 'b'].map((i) => html`<li>${i}</li>`)}</ul>`.text).toBe('<ul><li>a&lt;</li><li>b</li></ul>');
    expect(html`[${undefined}${null}${false}${0}]`.text).toBe('[0]');
  });

  it('shows approve and reject for the waiting version only when signed in', () => {
    expect(renderCard(waiting, NOW, true).text).toContain('<button type="button" class="approve" data-action="approve" data-environment="prod" data-version="1.4.2">Approve 1.4.2</button>');
    expect(renderCard(waiting, NOW, false).text).not.toContain('<button');
    expect(renderCard(waiting, NOW, false).text).toContain('Sign in with an API token to approve or reject.');
  });

  it("shows a card's rollout wave (or why a rollout halted it), its expiry with a warning three days ahead, and that it expired", () => {
    const rollout = { wave: 3, running: 1, waves: 3, commit: 'a'.repeat(40), workflowId: `cfn-gitops-rollout/${'a'.repeat(40)}` };
    expect(renderCard({ ...waiting, rollout }, NOW, false).text).toContain(`<span data-field="rollout">wave 3 of 3, waits for wave 1 (rollout of aaaaaaa, cfn-gitops-rollout/${'a'.repeat(40)})</span>`);
    expect(renderCard({ ...waiting, rollout: { ...rollout, halted: "wave 1: dev's sync ended Failed" } }, NOW, false).text).toContain("wave 3 of 3, Halted: wave 1: dev&#39;s sync ended Failed");
    const expiry = { at: '2024-05-02T12:15:00.000Z', rule: 'ttl 7d from the first deploy at 2024-04-25T12:15:00.000Z' };
    const soon = renderCard({ ...waiting, expiry, expiryWarning: `expires in 1d 0h (${expiry.rule})` }, NOW, false).text;
    expect(soon).toContain('<span data-field="expires" class="warn" title="ttl 7d from the first deploy at 2024-04-25T12:15:00.000Z">2024-05-02T12:15:00.000Z</span>');
    expect(soon).toContain('<p class="note warn" data-field="expiry-warning">expires in 1d 0h (ttl 7d');
    expect(renderCard({ ...waiting, expiry }, NOW, false).text).not.toContain('expiry-warning');
    expect(renderCard({ ...waiting, expired: { at: '2024-05-01T12:00:00.000Z', rule: 'expires 2024-05-01T12:00:00.000Z' } }, NOW, false).text).toContain('<p class="note" data-field="expired">Expired at 2024-05-01T12:00:00.000Z');
  });

  it('links to the Temporal UI only over http(s)', () => {
    expect(renderCard(waiting, NOW, false).text).toContain(`<a href="${url('prod')}" target="_blank" rel="noopener noreferrer">Temporal UI</a>`);
    expect(renderCard({ ...waiting, url: 'javascript:alert(1)' }, NOW, false).text).not.toContain('javascript:');
  });

  const shell = { now: NOW, namespace: 'default', uiUrl: 'http://ui.test', refreshSeconds: 3, warnings: [], nonce: 'n' };

  it('draws the first view on the server and fetches the next ones drawn there, under a CSP nonce', () => {
    const page = renderDashboard({ ...shell, page: dashboardPage([waiting], DEFAULT_QUERY), query: DEFAULT_QUERY, namespace: 'ns<1>', warnings: ['repo <unreachable>'], nonce: 'n0nce' });
    expect(page).toContain('<script nonce="n0nce">');
    expect(page).toContain('<main data-partial="/partials/environments">');
    expect(page).toContain('fetch(PARTIAL + location.search');
    expect(page).toContain('const REFRESH_MS = 3000;');
    expect(page).toContain('namespace ns&lt;1&gt;');
    expect(page).toContain('repo &lt;unreachable&gt;');
    expect(page).toContain(`<div id="grid">${renderCard(waiting, NOW, false).text}</div>`);
    expect(page).toContain('<p id="filter" class="all">1 environment</p>');
    expect(page).toContain('<input id="q" name="q" type="search" value=""');
  });

  it('says what a filter shows and how to see every environment', () => {
    const query: DashboardQuery = { ...DEFAULT_QUERY, filter: { syncStatus: ['Drifted', 'Missing'], q: '<b>' } };
    const page = renderDashboard({ ...shell, page: { rows: [], matched: 0, total: 3, counts: countRows([]), page: 1, pages: 1 }, query });
    expect(page).toContain('<p id="filter">Showing 0 of 3 environments: sync status Drifted or Missing, name contains &quot;&lt;b&gt;&quot;. <a href="/">Show all</a></p>');
    expect(page).toContain('<p class="empty">No environment matches the filter.</p>');
    // The search form keeps the other parameters, so that searching without the script filters alike.
    expect(page).toContain('value="&lt;b&gt;" placeholder="Search environments by name"');
    expect(page).toContain('<input type="hidden" name="syncStatus" value="Drifted,Missing">');
    expect(renderCards([], NOW, false).text).toBe('<p class="empty">No environments yet: push an environment folder to main.</p>');
  });

  it('tells relative times both ways', () => {
    expect(relativeTime('2024-05-01T12:14:30.000Z', NOW)).toBe('30s ago');
    expect(relativeTime('2024-05-01T14:15:00.000Z', NOW)).toBe('in 2h');
    expect(relativeTime(undefined, NOW)).toBe('');
  });
});

describe('dashboard at scale: counts, list, order and pages', () => {
  const rows: EnvironmentStatus[] = Array.from({ length: 250 }, (_, i) => ({
    environment: `env-${String(i).padStart(3, '0')}`,
    desiredSource: 'none' as const,
    syncStatus: i % 5 === 0 ? ('Drifted' as const) : ('Synced' as const),
    phase: i % 2 ? ('Idle' as const) : ('RunningPipeline' as const),
    lastResult: 'Succeeded',
    lastResultAt: new Date(NOW - i * 60_000).toISOString(),
    workflowId: `cfn-gitops/env-${i}`,
    url: '',
    source: 'query' as const,
  }));

  it('pages what the filter keeps, sorted, and counts every environment', () => {
    const first = dashboardPage(rows, DEFAULT_QUERY);
    expect([first.rows.length, first.matched, first.total, first.page, first.pages]).toEqual([100, 250, 250, 1, 3]);
    expect(first.counts.syncStatus).toMatchObject({ Drifted: 50, Synced: 200 });
    expect(first.counts.phase).toEqual({ Idle: 125, RunningPipeline: 125 });
    const last = dashboardPage(rows, { ...DEFAULT_QUERY, page: 9 });
    expect([last.page, last.rows.length, last.rows[0]!.environment]).toEqual([3, 50, 'env-200']);
    const drifted = dashboardPage(rows, { ...DEFAULT_QUERY, filter: { syncStatus: ['Drifted'] }, order: { sort: 'lastDeployment', order: 'asc' } });
    expect([drifted.matched, drifted.pages, drifted.rows[0]!.environment, drifted.counts.syncStatus.Synced]).toEqual([50, 1, 'env-245', 200]);
  });

  it('writes addresses without the defaults, and goes back to the first page on any change but the page', () => {
    expect(dashboardHref(DEFAULT_QUERY, {})).toBe('/');
    const query: DashboardQuery = { filter: { syncStatus: ['Drifted'], q: 'env 1' }, order: { sort: 'phase', order: 'desc' }, view: 'list', page: 3 };
    expect(dashboardHref(query, { page: 4 })).toBe('/?syncStatus=Drifted&q=env+1&sort=phase&order=desc&view=list&page=4');
    expect(dashboardHref(query, { view: 'cards' })).toBe('/?syncStatus=Drifted&q=env+1&sort=phase&order=desc');
  });

  it('counts link to their filter, and the chosen one links back to all', () => {
    const counts = renderCounts(countRows(rows), DEFAULT_QUERY).text;
    expect(counts).toContain('<a class="chip sync-Drifted" href="/?syncStatus=Drifted" data-sync-status="Drifted">Drifted <b>50</b></a>');
    expect(counts).toContain('<a class="chip sync-Missing zero" href="/?syncStatus=Missing" data-sync-status="Missing">Missing <b>0</b></a>');
    expect(counts).toContain('<a class="chip" href="/?phase=RunningPipeline" data-phase="RunningPipeline">RunningPipeline <b>125</b></a>');
    expect(counts).not.toContain('data-phase="Failed"');
    const chosen = renderCounts(countRows(rows), { ...DEFAULT_QUERY, filter: { syncStatus: ['Drifted'], q: 'env' } }).text;
    expect(chosen).toContain('<a class="chip sync-Drifted active" href="/?q=env" data-sync-status="Drifted" aria-current="true">Drifted <b>50</b></a>');
    expect(chosen).toContain('href="/?syncStatus=Synced&amp;q=env"');
  });

  it('lists rows under headers that sort, the current one the other way', () => {
    const query: DashboardQuery = { ...DEFAULT_QUERY, view: 'list', order: { sort: 'lastDeployment', order: 'desc' } };
    const list = renderList(rows.slice(0, 2), NOW, query).text;
    expect(list).toContain('<th scope="col" aria-sort="descending"><a href="/?sort=lastDeployment&amp;order=asc&amp;view=list" data-sort="lastDeployment">Last deployment ▼</a></th>');
    // By name ascending is the default order: its link leaves it out.
    expect(list).toContain('<a href="/?view=list" data-sort="name">Environment</a>');
    expect(list).toContain('<tr class="sync-Drifted" data-environment="env-000"><th scope="row"><a href="/environments/env-000">env-000</a></th>');
    expect(list.match(/<tr class=/g)).toHaveLength(2);
  });
});

describe('approval card and timeline HTML', () => {
  const waiting: EnvironmentStatus = statusRow({ environment: 'prod', url: url('prod'), workflow: listed(waitingState('prod', '1.4.1', '1.4.2')) });

  it('shows the approver the change set, who approved so far and who may not', () => {
    const a = { ...waiting.pendingApproval!, message: 'prod: <1.4.2>', committer: 'Wes', pipelineChanges: ['Modify Pipeline (AWS::CodePipeline::Pipeline): Properties'] };
    const card = renderApproval('prod', a, NOW, false).text;
    expect(card).toContain(' <q>prod: &lt;1.4.2&gt;</q> by Dana &lt;Developer&gt;;');
    expect(card).toContain('<p>Change set preview (pipeline stack):</p><ul class="changes" data-field="change-set"><li>Modify Pipeline (AWS::CodePipeline::Pipeline): Properties</li></ul>');
    expect(card).toContain('<p data-field="approved-so-far">Approved so far: nobody yet. <small>Not by Dana &lt;Developer&gt; (author), Wes (committer).</small></p>');
    expect(renderApproval('prod', { ...a, pipelineChanges: [], approvals: [{ by: 'Avery', comment: 'ok' }] }, NOW, false).text).toContain(
      'No change to the pipeline stack.</p></div><p data-field="approved-so-far">Approved so far: <span class="person">Avery</span> <q>ok</q>.',
    );
    expect(renderApproval('prod', { ...a, pipelineChanges: undefined }, NOW, false).text).not.toContain('Change set preview');
  });

  it('where several approvals are needed, the row and the card say how many and who gave them', () => {
    const state = waitingState('prod', '1.4.1', '1.4.2');
    state.approval = { ...state.approval!, requiredApprovals: 2, approvals: [{ by: 'Avery', comment: 'ok', at: '2024-05-01T12:20:00.000Z' }] };
    const row = statusRow({ environment: 'prod', url: url('prod'), workflow: listed(state) });
    expect(row.pendingApproval).toMatchObject({ requiredApprovals: 2, approvals: [{ by: 'Avery', comment: 'ok' }] });
    expect(renderApproval('prod', row.pendingApproval!, NOW, false).text).toContain(
      '<p data-field="approved-so-far">Approved so far (1 of 2 needed, from distinct people): <span class="person">Avery</span> <q>ok</q>.',
    );
  });

  const entry: TimelineEntry = {
    number: 2,
    action: 'sync',
    status: 'Succeeded',
    result: 'Succeeded',
    commit: { sha: 'abcdef1234567890abcdef1234567890abcdef12', message: 'prod: 1.4.2\n\nbody', author: 'Dana', committer: 'Wes' },
    pushedBy: 'Pat',
    reason: 'config changed',
    desiredVersion: '1.4.2',
    deployedVersion: '1.4.2',
    changeSetPreview: ['Add Thing (AWS::X::Y)'],
    approvedBy: 'Avery',
    approvalComment: '<ship it>',
    approvedAt: '2024-05-01T12:10:00.000Z',
    pipelineExecutionId: 'exec-1',
    message: 'prod: app 1.4.2 deployed by execution exec-1',
    workflowId: 'cfn-gitops/prod/2-sync-abcdef123456',
    url: 'http://ui.test/x',
    requestedAt: '2024-05-01T12:00:00.000Z',
    startedAt: '2024-05-01T12:00:02.000Z',
    deployStartedAt: '2024-05-01T12:10:00.500Z',
    endedAt: '2024-05-01T12:13:05.500Z',
    durations: { queuedMs: 2000, approvalMs: 598_000, deployMs: 185_000, totalMs: 785_500 },
  };

  it('draws each deployment with its commit, version, change set, approver, execution, result and durations', () => {
    const text = renderTimelineEntry(entry, NOW).text.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim();
    expect(text).toBe(
      '#2 sync app 1.4.2 Succeeded Temporal UI Commit abcdef1 prod: 1.4.2 by Dana (committed by Wes), pushed by Pat Reason config changed Desired version 1.4.2 ' +
        'Change set Add Thing (AWS::X::Y) Approved by Avery : &lt;ship it&gt; 5m ago Pipeline execution exec-1 Result Succeeded : prod: app 1.4.2 deployed by execution exec-1 ' +
        'Durations queued 2s · approval 9m 58s · deploy 3m 05s · total 13m 06s Requested 15m ago · ended 1m ago',
    );
    const failed = renderTimelineEntry({ ...entry, status: 'Failed', result: 'Failed', changeSetPreview: undefined, approvedBy: undefined, pipelineExecutionId: undefined, durations: { deployMs: 400 } }, NOW).text;
    expect(failed).toContain('<li class="entry result-Failed" data-number="2"');
    expect(failed).not.toContain('Change set');
    expect(failed).not.toContain('Approved');
    expect(failed).toContain('deploy 400ms');
  });

  it('shows the environment, what waits for approval, and a link to older deployments', () => {
    const view = renderEnvironmentView({ environment: 'prod', row: waiting, timeline: { environment: 'prod', deployments: [entry], next: '2024-05-01T12:00:00.000Z' }, now: NOW, signedIn: true }).text;
    expect(view).toContain('data-field="approval"');
    expect(view).toContain('data-action="approve" data-environment="prod" data-version="1.4.2"');
    expect(view).toContain('<ol class="timeline" aria-labelledby="timeline-title"><li class="entry result-Succeeded" data-number="2"');
    expect(view).toContain('<a href="/environments/prod?before=2024-05-01T12%3A00%3A00.000Z" rel="next">Older deployments ›</a>');
    const unknown = renderEnvironmentView({ environment: 'nowhere', timeline: { environment: 'nowhere', deployments: [] }, now: NOW, signedIn: false }).text;
    expect(unknown).toContain('No environment nowhere: no workflow runs for it and main has no such folder.');
  });
});
