import type { EnvironmentStatus } from '../starter/status';

/*
 * The dashboard: server-rendered HTML and a small inline script, no build step. The card is
 * drawn by ONE function, `renderCard`, on the server for the first paint and in the browser on
 * every refresh: the page embeds the compiled source of the functions below (their `toString()`),
 * so each of them must stay self-contained: no imports, no module-level references except the
 * other embedded functions, plain ES2022.
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

/** "12s ago" / "in 3h" from an ISO time; "" when absent. Embedded in the page. */
export function relativeTime(iso: string | undefined, now: number): string {
  if (!iso) return '';
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return '';
  const seconds = Math.round((now - ms) / 1000);
  const abs = Math.abs(seconds);
  const text = abs < 60 ? `${abs}s` : abs < 3600 ? `${Math.floor(abs / 60)}m` : abs < 86400 ? `${Math.floor(abs / 3600)}h` : `${Math.floor(abs / 86400)}d`;
  return seconds >= 0 ? `${text} ago` : `in ${text}`;
}

/**
 * One environment's card. Pure, and embedded in the page: the browser redraws cards with it.
 * @example renderCard(row, Date.now(), true)
 */
export function renderCard(row: EnvironmentStatus, now: number, signedIn: boolean): string {
  const e = escapeHtml;
  const syncLabels: Record<string, string> = {
    Synced: 'In sync',
    OutOfSync: 'Out of sync',
    Drifted: 'Drifted',
    Missing: 'Missing',
    Orphaned: 'Orphaned',
    Progressing: 'Progressing',
    Unknown: 'Unknown',
  };
  const when = (iso: string | undefined) => (iso ? ` <time datetime="${e(iso)}" title="${e(iso)}">${e(relativeTime(iso, now))}</time>` : '');
  const desired = row.desiredError ? 'invalid config' : row.removedFromGit ? '(removed)' : row.desiredVersion ?? '-';
  const lines = [
    ['Deployed', `<span data-field="deployed">${e(row.deployedVersion ?? '-')}</span>`],
    ['Desired', `<span data-field="desired">${e(desired)}</span>${row.desiredSource === 'git' ? ' <small>(git main)</small>' : ''}`],
    ['Phase', `<span data-field="phase">${e(row.phase ?? 'no workflow')}</span>`],
    ['Last result', row.lastResult ? `<span data-field="last-result" class="result-${e(row.lastResult)}">${e(row.lastResult)}</span>${when(row.lastResultAt)}` : '<span data-field="last-result">-</span>'],
    ['Checked', row.syncCheckedAt ? when(row.syncCheckedAt) : '-'],
  ];
  if (row.running && !row.pendingApproval) {
    lines.push(['Running', `#${e(row.running.number)} ${e(row.running.action)} ${e(row.running.appVersion ?? '')}${row.running.pipelineExecutionId ? ` <small>execution ${e(row.running.pipelineExecutionId)}</small>` : ''}`]);
  }
  const details = lines.map(([term, value]) => `<dt>${term}</dt><dd>${value}</dd>`).join('');
  const notes = [
    row.desiredError ? `<p class="note error">${e(row.desiredError)}</p>` : '',
    row.lastResult && row.lastResult !== 'Succeeded' && row.lastResultMessage ? `<p class="note">${e(row.lastResultMessage)}</p>` : '',
  ].join('');
  let approval = '';
  const a = row.pendingApproval;
  if (a) {
    const change = `${e(a.currentVersion ?? 'none')} → ${e(a.newVersion ?? 'delete')}`;
    const buttons = signedIn
      ? `<div class="actions"><button type="button" class="approve" data-action="approve" data-environment="${e(row.environment)}" data-version="${e(a.newVersion ?? a.commit)}">Approve ${e(a.newVersion ?? 'delete')}</button>` +
        `<button type="button" class="reject" data-action="reject" data-environment="${e(row.environment)}" data-version="${e(a.newVersion ?? a.commit)}">Reject</button></div>`
      : '<p class="hint">Sign in with an API token to approve or reject.</p>';
    approval =
      `<section class="approval" aria-label="Pending approval"><p><strong>Waiting for approval:</strong> app ${change}, commit <code>${e(a.commit.slice(0, 7))}</code> by ${e(a.author)}; expires${when(a.expiresAt)}</p>` +
      buttons +
      '</section>';
  }
  const link = /^https?:\/\//.test(row.url) ? `<a href="${e(row.url)}" target="_blank" rel="noopener noreferrer">Temporal UI</a>` : '';
  return (
    `<article class="card sync-${e(row.syncStatus)}" data-environment="${e(row.environment)}">` +
    `<header><h2>${e(row.environment)}</h2><span class="badge" data-field="sync" title="${e(row.syncMessage ?? row.syncStatus)}">${e(syncLabels[row.syncStatus] ?? row.syncStatus)}</span></header>` +
    `<dl>${details}</dl>${notes}${approval}` +
    `<footer>${link}<span class="message" role="status"></span></footer>` +
    '</article>'
  );
}

/** All cards, or what to do when there are none. Embedded in the page. */
export function renderCards(rows: EnvironmentStatus[], now: number, signedIn: boolean): string {
  if (rows.length === 0) return '<p class="empty">No environments yet: push an environment folder to main.</p>';
  return rows.map((row) => renderCard(row, now, signedIn)).join('');
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

/** The page's script: token sign-in (localStorage), decisions, and a refresh every few seconds. */
function pageScript(refreshMs: number): string {
  return `
'use strict';
${escapeHtml.toString()}
${relativeTime.toString()}
${renderCard.toString()}
${renderCards.toString()}
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
let last = null;
async function refresh() {
  try {
    const r = await fetch('/api/environments', { headers: { accept: 'application/json' } });
    const body = await r.json();
    if (!r.ok) throw new Error(body.error || r.statusText);
    last = body;
    $('grid').innerHTML = renderCards(body.environments, Date.now(), Boolean(signedInAs));
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
  rows: EnvironmentStatus[];
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

/**
 * The whole dashboard page. Pure: every value that reaches the page is escaped.
 * @example renderDashboard({ rows, now: Date.now(), namespace: 'default', uiUrl, refreshSeconds: 3, warnings: [], nonce })
 */
export function renderDashboard(model: DashboardModel): string {
  const e = escapeHtml;
  const ui = /^https?:\/\//.test(model.uiUrl) ? `<a href="${e(model.uiUrl)}/namespaces/${e(encodeURIComponent(model.namespace))}/workflows" target="_blank" rel="noopener noreferrer">Temporal UI</a>` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cfn-gitops: environments</title>
<link rel="icon" href="data:,">
<style nonce="${e(model.nonce)}">${STYLE}</style>
</head>
<body>
<header class="top">
<h1>cfn-gitops <small>namespace ${e(model.namespace)}</small></h1>
<div id="auth">
<form id="sign-in"><label for="token">API token</label> <input id="token" type="password" autocomplete="off" placeholder="token"> <button type="submit">Sign in</button></form>
<div id="signed-in" hidden><span id="who"></span> <button type="button" id="sign-out">Sign out</button></div>
${ui}
</div>
</header>
<main>
<p id="notice" role="status"${model.warnings.length ? ' class="error"' : ''}>${e(model.warnings.join(' '))}</p>
<div id="grid">${renderCards(model.rows, model.now, false)}</div>
<p><small><time id="updated">Updated ${e(new Date(model.now).toISOString())}</time> · refreshes every ${e(model.refreshSeconds)}s</small></p>
</main>
<script nonce="${e(model.nonce)}">${pageScript(model.refreshSeconds * 1000)}</script>
</body>
</html>
`;
}
