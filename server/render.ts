import { approvalChange, desiredText, relativeTime, SYNC_LABELS, type EnvironmentStatus, type StatusFilter } from '../common/status';

/*
 * The dashboard, HTML only: rendered on the server with an escaping template, no build step.
 * The page and each of its refreshes (`GET /partials/environments`) draw the cards with the same
 * `renderCards`, from the status model's rows; the page's small script only swaps them in.
 */

/** Escapes text for HTML element content and double-quoted attributes. */
export function escapeHtml(text: unknown): string {
  return String(text ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Markup made by {@link html}: inserted as it is where any other value is escaped. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

function interpolate(value: unknown): string {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(interpolate).join('');
  if (value === undefined || value === null || value === false) return '';
  return escapeHtml(value);
}

/**
 * The escaping template: every value is escaped unless it is {@link Html} itself; arrays are
 * joined; `undefined`, `null` and `false` leave nothing.
 * @example html`<b>${name}</b>` // for name "<x>": <b>&lt;x&gt;</b>
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let text = strings[0]!;
  values.forEach((value, i) => {
    text += interpolate(value) + strings[i + 1]!;
  });
  return new Html(text);
}

/** A link that opens in a new tab, for an http(s) address only. */
function externalLink(url: string, text: string): Html | undefined {
  return /^https?:\/\//.test(url) ? html`<a href="${url}" target="_blank" rel="noopener noreferrer">${text}</a>` : undefined;
}

/** " 5m ago" (or " in 6d") with the ISO time as its tooltip; nothing when absent. */
function when(iso: string | undefined, now: number): Html | undefined {
  return iso ? html` <time datetime="${iso}" title="${iso}">${relativeTime(iso, now)}</time>` : undefined;
}

/** Approve and reject for the waiting version when signed in, else how to sign in. */
function decisionButtons(row: EnvironmentStatus, signedIn: boolean): Html {
  const a = row.pendingApproval!;
  if (!signedIn) return html`<p class="hint">Sign in with an API token to approve or reject.</p>`;
  const version = a.newVersion ?? a.commit;
  return html`<div class="actions"><button type="button" class="approve" data-action="approve" data-environment="${row.environment}" data-version="${version}">Approve ${a.newVersion ?? 'delete'}</button><button type="button" class="reject" data-action="reject" data-environment="${row.environment}" data-version="${version}">Reject</button></div>`;
}

/**
 * One environment's card. Pure: every value is escaped.
 * @example renderCard(row, Date.now(), true)
 */
export function renderCard(row: EnvironmentStatus, now: number, signedIn: boolean): Html {
  const r = row.running;
  const lines: [string, Html | undefined][] = [
    ['Deployed', html`<span data-field="deployed">${row.deployedVersion ?? '-'}</span>`],
    ['Desired', html`<span data-field="desired">${desiredText(row)}</span>${row.desiredSource === 'git' && html` <small>(git main)</small>`}`],
    ['Phase', html`<span data-field="phase">${row.phase ?? 'no workflow'}</span>`],
    ['Last result', row.lastResult ? html`<span data-field="last-result" class="result-${row.lastResult}">${row.lastResult}</span>${when(row.lastResultAt, now)}` : html`<span data-field="last-result">-</span>`],
    ['Checked', when(row.syncCheckedAt, now) ?? html`-`],
  ];
  if (r && !row.pendingApproval) lines.push(['Running', html`#${r.number} ${r.action} ${r.appVersion ?? ''}${r.pipelineExecutionId && html` <small>execution ${r.pipelineExecutionId}</small>`}`]);
  const a = row.pendingApproval;
  return html`<article class="card sync-${row.syncStatus}" data-environment="${row.environment}">\
<header><h2>${row.environment}</h2><span class="badge" data-field="sync" title="${row.syncMessage ?? row.syncStatus}">${SYNC_LABELS[row.syncStatus] ?? row.syncStatus}</span></header>\
<dl>${lines.map(([term, value]) => html`<dt>${term}</dt><dd>${value}</dd>`)}</dl>\
${row.desiredError && html`<p class="note error">${row.desiredError}</p>`}\
${row.lastResult && row.lastResult !== 'Succeeded' && row.lastResultMessage && html`<p class="note">${row.lastResultMessage}</p>`}\
${a && html`<section class="approval" aria-label="Pending approval"><p><strong>Waiting for approval:</strong> app ${approvalChange(a)}, commit <code>${a.commit.slice(0, 7)}</code> by ${a.author}; expires${when(a.expiresAt, now)}</p>${decisionButtons(row, signedIn)}</section>`}\
<footer>${externalLink(row.url, 'Temporal UI')}<span class="message" role="status"></span></footer></article>`;
}

/** All cards, or what to do when there are none. */
export function renderCards(rows: EnvironmentStatus[], now: number, signedIn: boolean, filtered = false): Html {
  if (rows.length === 0) {
    return filtered ? html`<p class="empty">No environment matches the filter.</p>` : html`<p class="empty">No environments yet: push an environment folder to main.</p>`;
  }
  return html`${rows.map((row) => renderCard(row, now, signedIn))}`;
}

const STYLE = `
:root{color-scheme:light dark;--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e;--info:#0969da;--mute:#6e7781;--line:#d0d7de}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif}
header.top{display:flex;gap:1rem;align-items:center;justify-content:space-between;padding:.75rem 1.25rem;border-bottom:1px solid var(--line)}
header.top h1{font-size:1.1rem;margin:0}#auth{display:flex;gap:.5rem;align-items:center}
main{padding:1.25rem}#grid{display:grid;gap:1rem;align-items:start;grid-template-columns:repeat(auto-fill,minmax(300px,1fr))}
.card{border:1px solid var(--line);border-left:6px solid var(--mute);border-radius:8px;padding:.75rem 1rem}
.card header{display:flex;justify-content:space-between;align-items:center}.card h2{margin:0;font-size:1.15rem}
.sync-Synced{border-left-color:var(--ok)}.sync-OutOfSync,.sync-Drifted,.sync-Orphaned{border-left-color:var(--warn)}
.sync-Missing{border-left-color:var(--bad)}.sync-Progressing{border-left-color:var(--info)}
.badge{font-size:.8rem;padding:.1rem .5rem;border-radius:1rem;border:1px solid currentColor}
.sync-Synced .badge{color:var(--ok)}.sync-OutOfSync .badge,.sync-Drifted .badge{color:var(--warn)}.sync-Missing .badge{color:var(--bad)}.sync-Progressing .badge{color:var(--info)}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .75rem;margin:.6rem 0}dt{color:var(--mute)}dd{margin:0}
.result-Failed,.result-Expired,.result-Rejected,.error{color:var(--bad)}.result-Succeeded{color:var(--ok)}
.approval{background:rgba(154,103,0,.08);border-radius:6px;padding:.5rem .75rem;margin:.5rem 0}.approval p{margin:.2rem 0}
.actions{display:flex;gap:.5rem;margin-top:.4rem}button{font:inherit;padding:.25rem .8rem;border-radius:6px;border:1px solid var(--line);cursor:pointer}
button.approve{background:var(--ok);color:#fff;border-color:var(--ok)}button.reject{color:var(--bad)}
.hint,small,time{color:var(--mute)}.note{margin:.3rem 0;font-size:.9rem}footer{display:flex;justify-content:space-between;gap:.5rem}
#notice{min-height:1.4em;margin:0 0 1rem}#notice.error{color:var(--bad)}.message{font-size:.9rem}
`;

/**
 * The page's script: token sign-in (localStorage), decisions, and a refresh every few seconds
 * that fetches the cards drawn on the server for the page's own filter (its query string).
 */
function pageScript(refreshMs: number): string {
  return `
'use strict';
const REFRESH_MS = ${Number(refreshMs)};
const KEY = 'cfn-gitops-token';
let signedInAs = null;
const $ = (id) => document.getElementById(id);
function token() { return localStorage.getItem(KEY); }
let stickyUntil = 0;
/** Shows a message; a sticky one (a decision's answer, a refused token) outlives the next refreshes for a while. */
function notice(text, isError, sticky) {
  if (!sticky && Date.now() < stickyUntil) return;
  if (sticky) stickyUntil = Date.now() + 8000;
  const n = $('notice'); n.textContent = text || ''; n.className = isError ? 'error' : '';
}
function drawAuth() {
  const name = signedInAs;
  $('signed-in').hidden = !name; $('sign-in').hidden = Boolean(name);
  $('who').textContent = name ? 'Signed in as ' + name : '';
}
async function whoAmI() {
  const t = token();
  if (!t) { signedInAs = null; return drawAuth(); }
  try {
    const r = await fetch('/api/me', { headers: { authorization: 'Bearer ' + t } });
    if (r.ok) stickyUntil = 0;
    if (r.status === 401) { localStorage.removeItem(KEY); signedInAs = null; notice('That token was not accepted.', true, true); }
    else if (r.ok) signedInAs = (await r.json()).name;
  } catch (err) { notice('Cannot reach the server: ' + err.message, true); }
  drawAuth();
}
async function refresh() {
  try {
    const headers = { accept: 'application/json' };
    if (signedInAs && token()) headers.authorization = 'Bearer ' + token();
    const r = await fetch('/partials/environments' + location.search, { headers });
    const body = await r.json();
    if (!r.ok) throw new Error(body.error || r.statusText);
    $('grid').innerHTML = body.html;
    $('updated').textContent = 'Updated ' + new Date().toLocaleTimeString();
    $('updated').dateTime = new Date().toISOString();
    notice((body.warnings || []).join(' '), false, false);
  } catch (err) { notice('Refresh failed: ' + err.message, true); }
}
async function decide(button) {
  const environment = button.dataset.environment, action = button.dataset.action;
  const card = button.closest('.card'); const message = card && card.querySelector('.message');
  const buttons = card ? card.querySelectorAll('button') : [];
  buttons.forEach((b) => (b.disabled = true));
  try {
    const r = await fetch('/api/environments/' + encodeURIComponent(environment) + '/' + action, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ' + token() },
      body: JSON.stringify({ version: button.dataset.version }),
    });
    const body = await r.json();
    if (!r.ok) throw new Error(body.error || r.statusText);
    notice(environment + ': ' + body.message, false, true);
  } catch (err) {
    notice(environment + ': ' + action + ' refused: ' + err.message, true, true);
    if (message) message.textContent = err.message;
  }
  await refresh();
}
document.addEventListener('click', (event) => {
  const button = event.target.closest && event.target.closest('button[data-action]');
  if (button) decide(button);
});
$('sign-in').addEventListener('submit', async (event) => {
  event.preventDefault();
  const value = $('token').value.trim();
  if (!value) return;
  localStorage.setItem(KEY, value); $('token').value = '';
  await whoAmI(); await refresh();
});
$('sign-out').addEventListener('click', async () => { localStorage.removeItem(KEY); signedInAs = null; drawAuth(); await refresh(); });
whoAmI().then(refresh);
setInterval(refresh, REFRESH_MS);
`;
}

/** What the dashboard page shows. */
export interface DashboardModel {
  /** The rows the filter lets through. */
  rows: EnvironmentStatus[];
  /** How many environments there are before the filter. */
  total?: number;
  /** The page's filter (from its query string); empty shows every environment. */
  filter?: StatusFilter;
  now: number;
  /** Namespace and UI address, shown in the header. */
  namespace: string;
  uiUrl: string;
  refreshSeconds: number;
  /** Shown above the cards (Temporal unreachable, repo not fetched, …). */
  warnings: string[];
  /** CSP nonce of the inline style and script. */
  nonce: string;
}

/** "sync status OutOfSync or Drifted, name contains "pro"", for the filter line. */
function describeFilter(filter: StatusFilter): string {
  return [
    filter.syncStatus && `sync status ${filter.syncStatus.join(' or ')}`,
    filter.phase && `phase ${filter.phase.join(' or ')}`,
    filter.q && `name contains "${filter.q}"`,
  ]
    .filter(Boolean)
    .join(', ');
}

/**
 * The whole dashboard page. Pure: every value that reaches the page is escaped.
 * @example renderDashboard({ rows, now: Date.now(), namespace: 'default', uiUrl, refreshSeconds: 3, warnings: [], nonce })
 */
export function renderDashboard(model: DashboardModel): string {
  const filtered = model.filter !== undefined && Object.keys(model.filter).length > 0;
  const ui = /^https?:\/\//.test(model.uiUrl) ? externalLink(`${model.uiUrl}/namespaces/${encodeURIComponent(model.namespace)}/workflows`, 'Temporal UI') : undefined;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cfn-gitops: environments</title>
<link rel="icon" href="data:,">
<style nonce="${model.nonce}">${new Html(STYLE)}</style>
</head>
<body>
<header class="top">
<h1>cfn-gitops <small>namespace ${model.namespace}</small></h1>
<div id="auth">
<form id="sign-in"><label for="token">API token</label> <input id="token" type="password" autocomplete="off" placeholder="token"> <button type="submit">Sign in</button></form>
<div id="signed-in" hidden><span id="who"></span> <button type="button" id="sign-out">Sign out</button></div>
${ui}
</div>
</header>
<main>
<p id="notice" role="status"${model.warnings.length > 0 && html` class="error"`}>${model.warnings.join(' ')}</p>
${filtered && html`<p id="filter">Showing ${model.rows.length} of ${model.total ?? model.rows.length} environments: ${describeFilter(model.filter!)}. <a href="/">Show all</a></p>`}
<div id="grid">${renderCards(model.rows, model.now, false, filtered)}</div>
<p><small><time id="updated">Updated ${new Date(model.now).toISOString()}</time> · refreshes every ${model.refreshSeconds}s</small></p>
</main>
<script nonce="${model.nonce}">${new Html(pageScript(model.refreshSeconds * 1000))}</script>
</body>
</html>
`.text;
}
