import { renderMetrics } from '../../server/metrics';
import { relativeTime, statusRow, type EnvironmentDetail, type EnvironmentStatus } from '../../common/status';
import { escapeHtml, html, renderCard, renderCards, renderDashboard } from '../../server/render';
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

  it('links to the Temporal UI only over http(s)', () => {
    expect(renderCard(waiting, NOW, false).text).toContain(`<a href="${url('prod')}" target="_blank" rel="noopener noreferrer">Temporal UI</a>`);
    expect(renderCard({ ...waiting, url: 'javascript:alert(1)' }, NOW, false).text).not.toContain('javascript:');
  });

  it('draws the first cards on the server and fetches the next ones drawn there, under a CSP nonce', () => {
    const page = renderDashboard({ rows: [waiting], now: NOW, namespace: 'ns<1>', uiUrl: 'http://ui.test', refreshSeconds: 3, warnings: ['repo <unreachable>'], nonce: 'n0nce' });
    expect(page).toContain('<script nonce="n0nce">');
    expect(page).toContain("fetch('/partials/environments' + location.search");
    expect(page).toContain('const REFRESH_MS = 3000;');
    expect(page).toContain('namespace ns&lt;1&gt;');
    expect(page).toContain('repo &lt;unreachable&gt;');
    expect(page).toContain(`<div id="grid">${renderCard(waiting, NOW, false).text}</div>`);
    expect(page).not.toContain('id="filter"');
  });

  it('says what a filter shows and how to see every environment', () => {
    const page = renderDashboard({ rows: [], total: 3, filter: { syncStatus: ['Drifted', 'Missing'], q: '<b>' }, now: NOW, namespace: 'default', uiUrl: 'http://ui.test', refreshSeconds: 3, warnings: [], nonce: 'n' });
    expect(page).toContain('<p id="filter">Showing 0 of 3 environments: sync status Drifted or Missing, name contains &quot;&lt;b&gt;&quot;. <a href="/">Show all</a></p>');
    expect(page).toContain('<p class="empty">No environment matches the filter.</p>');
    expect(renderCards([], NOW, false).text).toBe('<p class="empty">No environments yet: push an environment folder to main.</p>');
  });

  it('tells relative times both ways', () => {
    expect(relativeTime('2024-05-01T12:14:30.000Z', NOW)).toBe('30s ago');
    expect(relativeTime('2024-05-01T14:15:00.000Z', NOW)).toBe('in 2h');
    expect(relativeTime(undefined, NOW)).toBe('');
  });
});
