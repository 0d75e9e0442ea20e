import { durationText, rolloutText } from '../common/render';
import {
  approvalChange,
  countRows,
  DEFAULT_ORDER,
  desiredText,
  filterRows,
  relativeTime,
  sortRows,
  SortKey,
  SYNC_LABELS,
  SYNC_ORDER,
  PHASE_ORDER,
  type ApprovalSummary,
  type EnvironmentStatus,
  type ListOrder,
  type StatusCounts,
  type StatusFilter,
} from '../common/status';

/*
 * The dashboard, HTML only: rendered on the server with an escaping template, no build step.
 * The page and each of its refreshes (`GET /partials/environments`) draw the same view (counts,
 * cards or list, pager) with `renderView`, from the status model's rows; the page's small script
 * only swaps it in. The environment page is server/render-environment.ts, on the same shell.
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
export function externalLink(url: string | undefined, text: string): Html | undefined {
  return url && /^https?:\/\//.test(url) ? html`<a href="${url}" target="_blank" rel="noopener noreferrer">${text}</a>` : undefined;
}

/** " 5m ago" (or " in 6d") with the ISO time as its tooltip; nothing when absent. */
export function when(iso: string | undefined, now: number): Html | undefined {
  return iso ? html` <time datetime="${iso}" title="${iso}">${relativeTime(iso, now)}</time>` : undefined;
}

/** A number with thousands separated, as the counts show it: `2,000`. */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** The address of an environment's page. */
export function environmentHref(environment: string): string {
  return `/environments/${encodeURIComponent(environment)}`;
}

/** Approve and reject for the waiting version when signed in, else how to sign in. */
function decisionButtons(environment: string, a: ApprovalSummary, signedIn: boolean): Html {
  if (!signedIn) return html`<p class="hint">Sign in with an API token to approve or reject.</p>`;
  const version = a.newVersion ?? a.commit;
  return html`<div class="actions"><button type="button" class="approve" data-action="approve" data-environment="${environment}" data-version="${version}">Approve ${a.newVersion ?? 'delete'}</button><button type="button" class="reject" data-action="reject" data-environment="${environment}" data-version="${version}">Reject</button></div>`;
}

/** The pipeline stack's change set as the approver sees it: one item per resource, or that nothing changes. */
export function changeSetList(changes: string[] | undefined): Html | undefined {
  if (changes === undefined) return undefined;
  if (changes.length === 0) return html`<p class="changes none" data-field="change-set">No change to the pipeline stack.</p>`;
  return html`<ul class="changes" data-field="change-set">${changes.map((c) => html`<li>${c}</li>`)}</ul>`;
}

/**
 * What waits for a person: the change and its commit, the change set preview, who approved so
 * far and who may not, then approve and reject (signed in) or how to sign in.
 * @example renderApproval('prod', row.pendingApproval!, Date.now(), true)
 */
export function renderApproval(environment: string, a: ApprovalSummary, now: number, signedIn: boolean): Html {
  const people = [`${a.author} (author)`, ...(a.committer ? [`${a.committer} (committer)`] : [])].join(', ');
  const approvals = a.approvals.length
    ? html`${a.approvals.map((p, i) => html`${i > 0 && ', '}<span class="person">${p.by}</span>${p.comment && html` <q>${p.comment}</q>`}`)}`
    : html`nobody yet`;
  return html`<section class="approval" aria-label="Pending approval" data-field="approval">\
<p><strong>Waiting for approval:</strong> app ${approvalChange(a)}, commit <code>${a.commit.slice(0, 7)}</code>${a.message && html` <q>${a.message}</q>`} by ${a.author}; expires${when(a.expiresAt, now)}</p>\
${a.pipelineChanges !== undefined && html`<div class="preview"><p>Change set preview (pipeline stack):</p>${changeSetList(a.pipelineChanges)}</div>`}\
<p data-field="approved-so-far">Approved so far${a.requiredApprovals && html` (${a.approvals.length} of ${a.requiredApprovals} needed, from distinct people)`}: ${approvals}. <small>Not by ${people}.</small></p>\
${decisionButtons(environment, a, signedIn)}</section>`;
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
  if (row.rollout) lines.push(['Rollout', html`<span data-field="rollout">${rolloutText(row.rollout)}</span>`]);
  if (row.expiry) lines.push(['Expires', html`<span data-field="expires"${row.expiryWarning && html` class="warn"`} title="${row.expiry.rule}">${row.expiry.at}</span>${when(row.expiry.at, now)}`]);
  if (r && !row.pendingApproval) lines.push(['Running', html`#${r.number} ${r.action} ${r.appVersion ?? ''}${r.pipelineExecutionId && html` <small>execution ${r.pipelineExecutionId}</small>`}`]);
  const a = row.pendingApproval;
  return html`<article class="card sync-${row.syncStatus}" data-environment="${row.environment}">\
<header><h2><a href="${environmentHref(row.environment)}">${row.environment}</a></h2><span class="badge" data-field="sync" title="${row.syncMessage ?? row.syncStatus}">${SYNC_LABELS[row.syncStatus] ?? row.syncStatus}</span></header>\
<dl>${lines.map(([term, value]) => html`<dt>${term}</dt><dd>${value}</dd>`)}</dl>\
${row.desiredError && html`<p class="note error">${row.desiredError}</p>`}\
${row.expiryWarning && html`<p class="note warn" data-field="expiry-warning">${row.expiryWarning}</p>`}\
${row.expired && html`<p class="note" data-field="expired">Expired at ${row.expired.at} (${row.expired.rule}): its stacks were deleted; a push that changes its config with a later date brings it back.</p>`}\
${row.lastResult && row.lastResult !== 'Succeeded' && row.lastResultMessage && html`<p class="note">${row.lastResultMessage}</p>`}\
${a && renderApproval(row.environment, a, now, signedIn)}\
<footer>${externalLink(row.url, 'Temporal UI')}<span class="message" role="status"></span></footer></article>`;
}

/** All cards, or what to do when there are none. */
export function renderCards(rows: EnvironmentStatus[], now: number, signedIn: boolean, filtered = false): Html {
  if (rows.length === 0) return emptyText(filtered);
  return html`${rows.map((row) => renderCard(row, now, signedIn))}`;
}

function emptyText(filtered: boolean): Html {
  return filtered ? html`<p class="empty">No environment matches the filter.</p>` : html`<p class="empty">No environments yet: push an environment folder to main.</p>`;
}

// ---------------------------------------------------------------------------------------------
// The dashboard's query: filter, order, view and page, all in the address so that it can be shared

/** How the dashboard shows the environments. */
export const DashboardView = { Cards: 'cards', List: 'list' } as const;
export type DashboardView = (typeof DashboardView)[keyof typeof DashboardView];

/** Environments per page, in either view. */
export const PAGE_SIZE = 100;

/** What the dashboard's address asks for. */
export interface DashboardQuery {
  filter: StatusFilter;
  order: ListOrder;
  view: DashboardView;
  /** Counting from 1. */
  page: number;
}

/** Every environment, in cards, by name: the dashboard at `/`. */
export const DEFAULT_QUERY: DashboardQuery = { filter: {}, order: DEFAULT_ORDER, view: DashboardView.Cards, page: 1 };

/**
 * The address of the dashboard with `change` applied to `query`; defaults are left out, and any
 * change but the page itself goes back to the first page.
 * @example dashboardHref(DEFAULT_QUERY, { filter: { syncStatus: ['Drifted'] } }) // '/?syncStatus=Drifted'
 */
export function dashboardHref(query: DashboardQuery, change: Partial<DashboardQuery>): string {
  const next = { ...query, ...change, page: change.page ?? 1 };
  const params = new URLSearchParams();
  if (next.filter.syncStatus?.length) params.set('syncStatus', next.filter.syncStatus.join(','));
  if (next.filter.phase?.length) params.set('phase', next.filter.phase.join(','));
  if (next.filter.q) params.set('q', next.filter.q);
  if (next.order.sort !== DEFAULT_ORDER.sort || next.order.order !== DEFAULT_ORDER.order) {
    params.set('sort', next.order.sort);
    params.set('order', next.order.order);
  }
  if (next.view !== DashboardView.Cards) params.set('view', next.view);
  if (next.page > 1) params.set('page', String(next.page));
  const search = params.toString();
  return search ? `/?${search}` : '/';
}

/** One page of the dashboard: what the query lets through, sorted, with the counts of every environment. */
export interface DashboardPage {
  /** This page's rows. */
  rows: EnvironmentStatus[];
  /** Rows the filter lets through. */
  matched: number;
  /** Every environment. */
  total: number;
  counts: StatusCounts;
  /** The page shown (within 1…pages) and how many there are. */
  page: number;
  pages: number;
}

/**
 * Filters, sorts and pages every environment's row as the query asks; the counts are of every
 * environment, so that a view filtered to one status still shows the others'.
 * @example dashboardPage(rows, { ...DEFAULT_QUERY, filter: { q: 'prod' } })
 */
export function dashboardPage(all: EnvironmentStatus[], query: DashboardQuery, pageSize = PAGE_SIZE): DashboardPage {
  const matched = sortRows(filterRows(all, query.filter), query.order);
  const pages = Math.max(1, Math.ceil(matched.length / pageSize));
  const page = Math.min(Math.max(1, query.page), pages);
  return { rows: matched.slice((page - 1) * pageSize, page * pageSize), matched: matched.length, total: all.length, counts: countRows(all), page, pages };
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

/** The counts at the top: one link per sync status and per phase present; a click filters to it (again: shows all). */
export function renderCounts(counts: StatusCounts, query: DashboardQuery): Html {
  const chosen = (list: readonly string[] | undefined, value: string) => list?.length === 1 && list[0] === value;
  const sync = SYNC_ORDER.map((status) => {
    const active = chosen(query.filter.syncStatus, status);
    const href = dashboardHref(query, { filter: { ...query.filter, syncStatus: active ? undefined : [status] } });
    return html`<a class="chip sync-${status}${active && ' active'}${counts.syncStatus[status] === 0 && ' zero'}" href="${href}" data-sync-status="${status}"${active && html` aria-current="true"`}>${SYNC_LABELS[status]} <b>${count(counts.syncStatus[status])}</b></a>`;
  });
  const present = PHASE_ORDER.filter((phase) => (counts.phase[phase] ?? 0) > 0 || query.filter.phase?.includes(phase));
  const phases = present.map((phase) => {
    const active = chosen(query.filter.phase, phase);
    const href = dashboardHref(query, { filter: { ...query.filter, phase: active ? undefined : [phase] } });
    return html`<a class="chip${active && ' active'}" href="${href}" data-phase="${phase}"${active && html` aria-current="true"`}>${phase} <b>${count(counts.phase[phase] ?? 0)}</b></a>`;
  });
  const none = counts.phase.none ? html`<span class="chip static" data-phase="none">no workflow <b>${count(counts.phase.none)}</b></span>` : undefined;
  return html`<nav class="counts" aria-label="Environments by sync status" id="sync-counts">${sync}</nav><nav class="counts" aria-label="Environments by phase" id="phase-counts">${phases}${none}</nav>`;
}

/** Column headers of the list: a click sorts by the column, a second click the other way. */
const COLUMNS: { key?: SortKey; label: string }[] = [
  { key: SortKey.Name, label: 'Environment' },
  { key: SortKey.SyncStatus, label: 'Sync status' },
  { key: SortKey.Phase, label: 'Phase' },
  { label: 'Deployed' },
  { label: 'Desired' },
  { key: SortKey.LastDeployment, label: 'Last deployment' },
];

/**
 * The list view: one row per environment, sortable by its headers.
 * @example renderList(rows, Date.now(), DEFAULT_QUERY)
 */
export function renderList(rows: EnvironmentStatus[], now: number, query: DashboardQuery): Html {
  const head = COLUMNS.map(({ key, label }) => {
    if (!key) return html`<th scope="col">${label}</th>`;
    const current = query.order.sort === key;
    const order = current && query.order.order === 'asc' ? 'desc' : current ? 'asc' : key === SortKey.LastDeployment ? 'desc' : 'asc';
    const sorted = current ? (query.order.order === 'asc' ? 'ascending' : 'descending') : undefined;
    return html`<th scope="col"${sorted && html` aria-sort="${sorted}"`}><a href="${dashboardHref(query, { order: { sort: key, order } })}" data-sort="${key}">${label}${current && (query.order.order === 'asc' ? ' ▲' : ' ▼')}</a></th>`;
  });
  const body = rows.map(
    (row) => html`<tr class="sync-${row.syncStatus}" data-environment="${row.environment}">\
<th scope="row"><a href="${environmentHref(row.environment)}">${row.environment}</a></th>\
<td><span class="badge" data-field="sync" title="${row.syncMessage ?? row.syncStatus}">${SYNC_LABELS[row.syncStatus] ?? row.syncStatus}</span></td>\
<td data-field="phase">${row.phase ?? 'no workflow'}${row.rollout && html` <small>(${row.rollout.halted !== undefined ? 'Halted, ' : ''}wave ${row.rollout.wave} of ${row.rollout.waves})</small>`}${row.expiryWarning && html` <small class="warn" title="${row.expiryWarning}">expires soon</small>`}</td>\
<td data-field="deployed">${row.deployedVersion ?? '-'}</td>\
<td data-field="desired">${desiredText(row)}</td>\
<td data-field="last-deployment">${row.lastResult ? html`<span class="result-${row.lastResult}">${row.lastResult}</span>${when(row.lastResultAt, now)}` : '-'}${row.pendingApproval && html` <small class="waiting">waiting for approval</small>`}</td></tr>`,
  );
  return html`<table id="list"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

/** Previous and next pages, and where this one stands. */
function renderPager(page: DashboardPage, query: DashboardQuery, pageSize: number): Html | undefined {
  if (page.pages <= 1) return undefined;
  const from = (page.page - 1) * pageSize + 1;
  const to = from + page.rows.length - 1;
  return html`<nav class="pager" aria-label="Pages">\
${page.page > 1 ? html`<a href="${dashboardHref(query, { page: page.page - 1 })}" rel="prev">‹ Previous</a>` : html`<span>‹ Previous</span>`}\
<span>${count(from)}–${count(to)} of ${count(page.matched)} · page ${page.page} of ${page.pages}</span>\
${page.page < page.pages ? html`<a href="${dashboardHref(query, { page: page.page + 1 })}" rel="next">Next ›</a>` : html`<span>Next ›</span>`}</nav>`;
}

/** What the view shows besides the query: the time, and whether approve and reject show. */
export interface ViewContext {
  now: number;
  signedIn: boolean;
  pageSize?: number;
}

/**
 * The dashboard's view, drawn for the page and for each of its refreshes: the counts, what the
 * filter shows, cards or list, and the pager.
 * @example renderView(dashboardPage(rows, query), query, { now: Date.now(), signedIn: false })
 */
export function renderView(page: DashboardPage, query: DashboardQuery, context: ViewContext): Html {
  const filtered = Object.keys(query.filter).length > 0;
  const pageSize = context.pageSize ?? PAGE_SIZE;
  const switcher = html`<nav class="views" aria-label="View">${[DashboardView.Cards, DashboardView.List].map((view) =>
    view === query.view ? html`<span aria-current="page" data-view="${view}">${view === 'cards' ? 'Cards' : 'List'}</span>` : html`<a href="${dashboardHref(query, { view })}" data-view="${view}">${view === 'cards' ? 'Cards' : 'List'}</a>`,
  )}</nav>`;
  const showing = filtered
    ? html`<p id="filter">Showing ${count(page.matched)} of ${count(page.total)} environments: ${describeFilter(query.filter)}. <a href="${dashboardHref(DEFAULT_QUERY, { view: query.view, order: query.order })}">Show all</a></p>`
    : html`<p id="filter" class="all">${count(page.total)} environment${page.total === 1 ? '' : 's'}</p>`;
  const body =
    page.rows.length === 0 ? emptyText(filtered) : query.view === DashboardView.List ? renderList(page.rows, context.now, query) : html`<div id="grid">${renderCards(page.rows, context.now, context.signedIn, filtered)}</div>`;
  return html`${renderCounts(page.counts, query)}<div class="bar">${showing}${switcher}</div>${body}${renderPager(page, query, pageSize)}`;
}

// ---------------------------------------------------------------------------------------------
// The page shell: header, sign-in, the view and the script that refreshes it

const STYLE = `
:root{color-scheme:light dark;--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e;--info:#0969da;--mute:#6e7781;--line:#d0d7de}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif}
header.top{display:flex;gap:1rem;align-items:center;justify-content:space-between;padding:.75rem 1.25rem;border-bottom:1px solid var(--line)}
header.top h1{font-size:1.1rem;margin:0}header.top h1 a{color:inherit;text-decoration:none}#auth{display:flex;gap:.5rem;align-items:center}
main{padding:1.25rem}#grid{display:grid;gap:1rem;align-items:start;grid-template-columns:repeat(auto-fill,minmax(300px,1fr))}
.card{border:1px solid var(--line);border-left:6px solid var(--mute);border-radius:8px;padding:.75rem 1rem;content-visibility:auto;contain-intrinsic-size:auto 220px}
.card header{display:flex;justify-content:space-between;align-items:center}.card h2{margin:0;font-size:1.15rem}.card h2 a{color:inherit}
.sync-Synced{border-left-color:var(--ok)}.sync-OutOfSync,.sync-Drifted,.sync-Orphaned{border-left-color:var(--warn)}
.sync-Missing{border-left-color:var(--bad)}.sync-Progressing{border-left-color:var(--info)}
.badge{font-size:.8rem;padding:.1rem .5rem;border-radius:1rem;border:1px solid currentColor;white-space:nowrap}
.sync-Synced .badge{color:var(--ok)}.sync-OutOfSync .badge,.sync-Drifted .badge{color:var(--warn)}.sync-Missing .badge{color:var(--bad)}.sync-Progressing .badge{color:var(--info)}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .75rem;margin:.6rem 0}dt{color:var(--mute)}dd{margin:0}
.result-Failed,.result-Expired,.result-Rejected,.error{color:var(--bad)}.result-Succeeded{color:var(--ok)}
.approval{background:rgba(154,103,0,.08);border-radius:6px;padding:.5rem .75rem;margin:.5rem 0}.approval p{margin:.2rem 0}
.changes{margin:.2rem 0 .4rem;padding-left:1.2rem;font-family:ui-monospace,monospace;font-size:.85rem}.changes.none{padding:0;font-family:inherit}
.actions{display:flex;gap:.5rem;margin-top:.4rem}button{font:inherit;padding:.25rem .8rem;border-radius:6px;border:1px solid var(--line);cursor:pointer}
button.approve{background:var(--ok);color:#fff;border-color:var(--ok)}button.reject{color:var(--bad)}
.hint,small,time{color:var(--mute)}.note{margin:.3rem 0;font-size:.9rem}.warn,small.warn{color:var(--warn)}.sync-Expired{border-left-color:var(--mute)}footer{display:flex;justify-content:space-between;gap:.5rem}
#notice{min-height:1.4em;margin:0 0 1rem}#notice:empty{min-height:0;margin:0}#notice.error{color:var(--bad)}.message{font-size:.9rem}
#search{margin:0 0 .75rem}#search input{font:inherit;padding:.3rem .6rem;width:min(28rem,100%);border:1px solid var(--line);border-radius:6px}
.counts{display:flex;flex-wrap:wrap;gap:.4rem;margin:0 0 .5rem}.chip{display:inline-flex;gap:.35rem;padding:.15rem .6rem;border:1px solid var(--line);border-radius:1rem;text-decoration:none;color:inherit}
.chip.active{border-color:currentColor;font-weight:600;background:rgba(9,105,218,.08)}.chip.zero{opacity:.55}.chip.static{color:var(--mute)}
.chip.sync-Synced b{color:var(--ok)}.chip.sync-OutOfSync b,.chip.sync-Drifted b,.chip.sync-Orphaned b{color:var(--warn)}.chip.sync-Missing b{color:var(--bad)}.chip.sync-Progressing b{color:var(--info)}
.bar{display:flex;justify-content:space-between;align-items:baseline;gap:1rem;margin:.5rem 0 1rem}.bar p{margin:0}.views{display:flex;gap:.75rem}.views [aria-current]{font-weight:600}
#list{border-collapse:collapse;width:100%}#list th,#list td{text-align:left;padding:.3rem .6rem;border-bottom:1px solid var(--line);white-space:nowrap}#list thead th a{color:inherit}
#list tbody tr{border-left:4px solid var(--mute)}#list tbody th{font-weight:600}
.pager{display:flex;gap:1rem;justify-content:center;margin:1rem 0;color:var(--mute)}
.timeline{list-style:none;padding:0;margin:0;display:grid;gap:.75rem}.entry{border:1px solid var(--line);border-left:6px solid var(--mute);border-radius:8px;padding:.6rem 1rem}
.entry.result-Succeeded{border-left-color:var(--ok);color:inherit}.entry.result-Failed,.entry.result-Rejected,.entry.result-Expired{border-left-color:var(--bad);color:inherit}
.entry header{display:flex;gap:.75rem;align-items:baseline;flex-wrap:wrap}.entry h3{margin:0;font-size:1rem}.entry dl{margin:.4rem 0 0}
.summary{max-width:60rem}
`;

/**
 * The page's script: token sign-in (localStorage), decisions, a refresh every few seconds of the
 * view drawn on the server for the page's own address, and the search that filters as one types.
 */
function pageScript(refreshMs: number, stale: boolean): string {
  return `
'use strict';
const REFRESH_MS = ${Number(refreshMs)};
/** Drawn from a status read a while ago (a new one runs behind it): refresh soon, not in REFRESH_MS. */
const STALE = ${stale ? 'true' : 'false'};
const KEY = 'cfn-gitops-token';
let signedInAs = null;
const $ = (id) => document.getElementById(id);
const PARTIAL = document.querySelector('main').dataset.partial;
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
let drawn = null;
let asked = 0;
async function refresh() {
  const mine = ++asked;
  try {
    const headers = { accept: 'application/json' };
    if (signedInAs && token()) headers.authorization = 'Bearer ' + token();
    const r = await fetch(PARTIAL + location.search, { headers });
    const body = await r.json();
    if (!r.ok) throw new Error(body.error || r.statusText);
    // An answer to an older address (the search moved on) is not drawn.
    if (mine !== asked) return;
    if (body.html !== drawn) { $('view').innerHTML = body.html; drawn = body.html; }
    const at = body.updatedAt ? new Date(body.updatedAt) : new Date();
    $('updated').textContent = 'Updated ' + at.toLocaleTimeString();
    $('updated').dateTime = at.toISOString();
    notice((body.warnings || []).join(' '), false, false);
  } catch (err) { notice('Refresh failed: ' + err.message, true); }
}
async function decide(button) {
  const environment = button.dataset.environment, action = button.dataset.action;
  const box = button.closest('.card, .approval'); const message = box && box.querySelector('.message');
  const buttons = box ? box.querySelectorAll('button') : [];
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
const search = $('q');
if (search) {
  let typing;
  // Filters as one types: the address keeps the search (so a reload or a shared link shows the same), the page goes back to 1.
  search.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      const params = new URLSearchParams(location.search);
      const q = search.value.trim();
      if (q) params.set('q', q); else params.delete('q');
      params.delete('page');
      const query = params.toString();
      history.replaceState(null, '', query ? '?' + query : location.pathname);
      refresh();
    }, 200);
  });
}
whoAmI().then(() => { if (signedInAs) refresh(); else if (STALE) setTimeout(refresh, 1000); });
setInterval(refresh, REFRESH_MS);
`;
}

/** What every page of the server shares. */
export interface PageShell {
  title: string;
  now: number;
  /** When the status shown was read (default: now). */
  updatedAt?: number;
  /** The status shown was read a while ago: the page refreshes soon. */
  stale?: boolean;
  /** Namespace and UI address, shown in the header. */
  namespace: string;
  uiUrl: string;
  refreshSeconds: number;
  /** Shown above the view (Temporal unreachable, repo not fetched, …). */
  warnings: string[];
  /** CSP nonce of the inline style and script. */
  nonce: string;
}

/**
 * A whole page: the header with sign-in, the notice, `before` (above the view, not refreshed),
 * the view in `#view` (refreshed from `partial` with the page's query string) and the script.
 * Pure: every value that reaches the page is escaped.
 */
export function renderPage(shell: PageShell, parts: { partial: string; before?: Html; view: Html }): string {
  const ui = /^https?:\/\//.test(shell.uiUrl) ? externalLink(`${shell.uiUrl}/namespaces/${encodeURIComponent(shell.namespace)}/workflows`, 'Temporal UI') : undefined;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${shell.title}</title>
<link rel="icon" href="data:,">
<style nonce="${shell.nonce}">${new Html(STYLE)}</style>
</head>
<body>
<header class="top">
<h1><a href="/">cfn-gitops</a> <small>namespace ${shell.namespace}</small></h1>
<div id="auth">
<form id="sign-in"><label for="token">API token</label> <input id="token" type="password" autocomplete="off" placeholder="token"> <button type="submit">Sign in</button></form>
<div id="signed-in" hidden><span id="who"></span> <button type="button" id="sign-out">Sign out</button></div>
${ui}
</div>
</header>
<main data-partial="${parts.partial}">
<p id="notice" role="status"${shell.warnings.length > 0 && html` class="error"`}>${shell.warnings.join(' ')}</p>
${parts.before}
<div id="view">${parts.view}</div>
<p><small><time id="updated" datetime="${new Date(shell.updatedAt ?? shell.now).toISOString()}">Updated ${new Date(shell.updatedAt ?? shell.now).toISOString()}</time> · refreshes every ${shell.refreshSeconds}s</small></p>
</main>
<script nonce="${shell.nonce}">${new Html(pageScript(shell.refreshSeconds * 1000, shell.stale ?? false))}</script>
</body>
</html>
`.text;
}

/** What the dashboard page shows. */
export interface DashboardModel extends Omit<PageShell, 'title'> {
  page: DashboardPage;
  query: DashboardQuery;
}

/**
 * The whole dashboard page: search by name, then the view. Pure: every value that reaches the page is escaped.
 * @example renderDashboard({ page: dashboardPage(rows, DEFAULT_QUERY), query: DEFAULT_QUERY, now: Date.now(), namespace: 'default', uiUrl, refreshSeconds: 3, warnings: [], nonce })
 */
export function renderDashboard(model: DashboardModel): string {
  const { query } = model;
  // Without the script, the form still searches: the other parameters ride along, the page goes back to 1.
  const keep = new URLSearchParams(dashboardHref(query, { filter: { ...query.filter, q: undefined } }).replace(/^\/\??/, ''));
  const search = html`<form id="search" action="/" method="get" role="search"><input id="q" name="q" type="search" value="${query.filter.q ?? ''}" placeholder="Search environments by name" aria-label="Search environments by name" autocomplete="off" maxlength="64">${[...keep].map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`)}</form>`;
  return renderPage(
    { ...model, title: 'cfn-gitops: environments' },
    { partial: '/partials/environments', before: search, view: renderView(model.page, query, { now: model.now, signedIn: false }) },
  );
}

/** A duration in milliseconds as people read it: `850ms`, `45s`, `12m 05s`, `3h 07m`. */
export function elapsed(ms: number | undefined): string {
  if (ms === undefined) return '-';
  return ms < 1000 ? `${Math.round(ms)}ms` : durationText(ms / 1000);
}
