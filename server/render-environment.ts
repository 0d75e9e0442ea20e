import { shortSha } from '../common/names';
import { desiredText, SYNC_LABELS, type EnvironmentStatus } from '../common/status';
import type { TimelineEntry, TimelinePage } from '../common/timeline';
import { changeSetList, elapsed, environmentHref, externalLink, html, renderApproval, renderPage, when, type Html, type PageShell } from './render';

/*
 * An environment's page, HTML only: its row (as the dashboard's card has it), what waits for
 * approval, and its timeline, each deployment with its commit, desired version, change set
 * preview, approver, pipeline execution, result and durations. Pure: every value is escaped.
 */

/** "queued 2s · approval 3m 10s · deploy 1m 05s · total 4m 17s": the steps that happened. */
function durationsText(entry: TimelineEntry): string {
  const d = entry.durations;
  return [
    d.queuedMs !== undefined && `queued ${elapsed(d.queuedMs)}`,
    d.approvalMs !== undefined && `approval ${elapsed(d.approvalMs)}`,
    d.deployMs !== undefined && `deploy ${elapsed(d.deployMs)}`,
    d.totalMs !== undefined && `total ${elapsed(d.totalMs)}`,
  ]
    .filter(Boolean)
    .join(' · ');
}

/** The commit line: `abc1234 "message" by Author (committed by X), pushed by Y`. */
function commitLine(entry: TimelineEntry): Html {
  const c = entry.commit;
  const subject = c.message?.split('\n')[0];
  return html`<code title="${c.sha}">${shortSha(c.sha)}</code>${subject && html` <q>${subject}</q>`}${c.author && html` by <span data-field="author">${c.author}</span>`}${c.committer && html` (committed by ${c.committer})`}${entry.pushedBy && html`, pushed by <span data-field="pusher">${entry.pushedBy}</span>`}`;
}

/**
 * One deployment of the timeline.
 * @example renderTimelineEntry(entry, Date.now())
 */
export function renderTimelineEntry(entry: TimelineEntry, now: number): Html {
  const what = entry.action === 'delete' ? 'delete' : `sync app ${entry.desiredVersion ?? '?'}`;
  const lines: [string, Html | string | undefined][] = [
    ['Commit', commitLine(entry)],
    ['Reason', entry.reason],
    ['Desired version', entry.action === 'delete' ? 'delete' : html`<span data-field="desired">${entry.desiredVersion ?? '-'}</span>${entry.deployedVersion && entry.deployedVersion !== entry.desiredVersion && html` (deployed ${entry.deployedVersion})`}`],
    ['Change set', entry.changeSetPreview && changeSetList(entry.changeSetPreview)],
    [
      'Approved',
      entry.approvedBy &&
        html`by <span data-field="approver">${entry.approvedBy}</span>${entry.approvalComment && html`: <q data-field="approval-comment">${entry.approvalComment}</q>`}${when(entry.approvedAt, now)}`,
    ],
    ['Pipeline execution', entry.pipelineExecutionId && html`<code data-field="execution">${entry.pipelineExecutionId}</code>`],
    ['Result', html`<span data-field="result" class="result-${entry.status}">${entry.status}</span>${entry.message && html`: ${entry.message}`}`],
    ['Durations', html`<span data-field="durations">${durationsText(entry) || '-'}</span>`],
    ['Requested', html`${when(entry.requestedAt, now)}${entry.endedAt && html` · ended${when(entry.endedAt, now)}`}`],
  ];
  return html`<li class="entry result-${entry.status}" data-number="${entry.number}" data-commit="${entry.commit.sha}">\
<header><h3>${entry.number > 0 ? `#${entry.number} ` : ''}${what}</h3><span class="badge result-${entry.status}">${entry.status}</span>${externalLink(entry.url, 'Temporal UI')}</header>\
<dl>${lines.filter(([, value]) => value !== undefined && value !== '').map(([term, value]) => html`<dt>${term}</dt><dd>${value}</dd>`)}</dl></li>`;
}

/** What the environment page shows. */
export interface EnvironmentPageModel {
  environment: string;
  /** Its row; undefined when neither a workflow nor git main knows it. */
  row?: EnvironmentStatus;
  timeline: TimelinePage;
  /** The page's own cursor (`before`), when it shows older deployments. */
  before?: string;
  now: number;
  signedIn: boolean;
}

/**
 * The environment page's view, drawn for the page and each of its refreshes: the summary, what
 * waits for approval, and the timeline with a link to older deployments.
 * @example renderEnvironmentView({ environment: 'prod', row, timeline, now: Date.now(), signedIn: false })
 */
export function renderEnvironmentView(model: EnvironmentPageModel): Html {
  const { row, timeline, now } = model;
  const summary = row
    ? html`<section class="summary card sync-${row.syncStatus}" data-environment="${row.environment}">\
<header><h2>${row.environment}</h2><span class="badge" data-field="sync" title="${row.syncMessage ?? row.syncStatus}">${SYNC_LABELS[row.syncStatus] ?? row.syncStatus}</span></header>\
<dl><dt>Deployed</dt><dd data-field="deployed">${row.deployedVersion ?? '-'}</dd><dt>Desired</dt><dd data-field="desired">${desiredText(row)}</dd>\
<dt>Phase</dt><dd data-field="phase">${row.phase ?? 'no workflow'}</dd>\
<dt>Sync</dt><dd>${row.syncMessage ?? row.syncStatus}${when(row.syncCheckedAt, now)}</dd>\
<dt>Deployments</dt><dd>${row.deploymentCount ?? 0}</dd></dl>\
${row.desiredError && html`<p class="note error">${row.desiredError}</p>`}\
${row.pendingApproval && renderApproval(row.environment, row.pendingApproval, now, model.signedIn)}\
<footer>${externalLink(row.url, 'Temporal UI')}<span class="message" role="status"></span></footer></section>`
    : html`<p class="empty">No environment ${model.environment}: no workflow runs for it and main has no such folder.</p>`;
  const entries = timeline.deployments;
  const older = timeline.next ? html`<p class="pager"><a href="${environmentHref(model.environment)}?before=${encodeURIComponent(timeline.next)}" rel="next">Older deployments ›</a></p>` : undefined;
  const newer = model.before ? html`<p class="pager"><a href="${environmentHref(model.environment)}">‹ Latest deployments</a></p>` : undefined;
  return html`${summary}<h2 id="timeline-title">Deployments</h2>${newer}${
    entries.length ? html`<ol class="timeline" aria-labelledby="timeline-title">${entries.map((e) => renderTimelineEntry(e, now))}</ol>` : html`<p class="empty">No deployment yet.</p>`
  }${older}`;
}

/**
 * The whole environment page.
 * @example renderEnvironmentPage({ ...shell, environment: 'prod', row, timeline, signedIn: false })
 */
export function renderEnvironmentPage(model: EnvironmentPageModel & Omit<PageShell, 'title'>): string {
  const back = html`<p><a href="/">‹ All environments</a></p>`;
  return renderPage(
    { ...model, title: `cfn-gitops: ${model.environment}` },
    { partial: `/partials${environmentHref(model.environment)}`, before: back, view: renderEnvironmentView(model) },
  );
}
