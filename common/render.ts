import type { DoraFigures, DoraReport } from './dora';
import type { DriftSweepResult } from './drift';
import { printableName, shortSha } from './names';
import type { Plan } from './plan';
import { approvalText, desiredText, relativeTime, unansweredNote, type EnvironmentDetail, type EnvironmentStatus } from './status';
import type { PendingApproval } from './types';

/*
 * Text for people, pure: terminal tables (plan, start, status, drift, pending approvals) and
 * Markdown (the GitHub Actions step summary). HTML is server/render.ts; JSON is the rows themselves.
 */

/** The fields of a start entry the renderers read (the starter's StartEntry has these). */
export interface RenderedEntry {
  environment: string;
  action: string;
  status: string;
  reason: string;
  appVersion?: string;
  workflowId: string;
  message?: string;
  error?: string;
  file?: string;
  line?: number;
}

/** Pads columns to the widest cell: a plain text table for terminals. */
export function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (c ?? '').padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/**
 * A plan as people read it in a terminal.
 * @example renderPlan(plan) // "ENVIRONMENT  ACTION  VERSION  REASON\nprod  sync  1.4.2  config changed"
 */
export function renderPlan(plan: Plan): string {
  const head = `plan ${plan.before ? `${shortSha(plan.before)}..` : ''}${shortSha(plan.after)}: ${plan.environments.length} environment(s)`;
  const rows = plan.environments.map((e) => [printableName(e.environment), e.error ? 'invalid' : e.action, e.desired?.config?.appVersion ?? '-', e.error ? e.error.message : e.reason]);
  return [head, ...plan.notes.map((n) => `note: ${n}`), rows.length ? textTable(['ENVIRONMENT', 'ACTION', 'VERSION', 'REASON'], rows) : 'nothing to do'].join('\n');
}

/** What `start` did, for a terminal, with a Temporal UI link per environment. */
export function renderStartReport(entries: RenderedEntry[], link: (workflowId: string) => string): string {
  if (entries.length === 0) return 'nothing to do';
  const oneLine = (text: string) => text.replace(/\s*\n\s*/g, ' ');
  const rows = entries.map((e) => [printableName(e.environment), e.action, e.appVersion ?? '-', e.status, oneLine(e.error ?? e.message ?? e.reason), link(e.workflowId)]);
  return textTable(['ENVIRONMENT', 'ACTION', 'VERSION', 'STATUS', 'DETAIL', 'TEMPORAL UI'], rows);
}

/** The GitHub Actions step summary: a Markdown table with links into the Temporal UI. */
export function renderStepSummary(title: string, entries: RenderedEntry[], link: (workflowId: string) => string): string {
  const lines = [`### ${title}`, ''];
  if (entries.length === 0) return [...lines, 'No environment changed.', ''].join('\n');
  lines.push('| Environment | Action | Version | Status | Details | Workflow |', '| --- | --- | --- | --- | --- | --- |');
  for (const e of entries) {
    const detail = e.error ?? e.message ?? e.reason;
    lines.push(`| ${escapeCell(e.environment)} | ${e.action} | ${escapeCell(e.appVersion ?? '-')} | ${e.status} | ${escapeCell(detail)} | [${escapeCell(e.workflowId)}](${link(e.workflowId)}) |`);
  }
  return [...lines, ''].join('\n');
}

/** `::error file=…,line=…::` workflow commands for invalid configs, one per line. */
export function renderAnnotations(entries: RenderedEntry[]): string {
  const escape = (text: string) => text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  // Property values also escape the separators of the command's property list.
  const escapeProperty = (text: string) => escape(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
  return entries
    .filter((e) => e.status === 'invalid' || e.status === 'error' || e.status === 'Failed')
    .map((e) => {
      const props = [e.file ? `file=${escapeProperty(e.file)}` : '', e.line ? `line=${e.line}` : '', `title=${escapeProperty(`cfn-gitops ${e.environment}`)}`].filter(Boolean).join(',');
      return `::error ${props}::${escape(e.error ?? e.message ?? e.status)}`;
    })
    .join('\n');
}

/** A relative time for a table cell: "5m ago", or "-" when absent. */
function ago(iso: string | undefined, now: number): string {
  return relativeTime(iso, now) || '-';
}

/**
 * The status table for a terminal, with a note above it naming the workflows that did not answer.
 * @example renderStatusTable(rows, Date.now())
 */
export function renderStatusTable(rows: EnvironmentStatus[], now: number): string {
  if (rows.length === 0) return 'no environments: no environment workflow runs and no folder on main';
  const note = unansweredNote(rows);
  const table = textTable(
    ['ENVIRONMENT', 'DESIRED', 'DEPLOYED', 'PHASE', 'SYNC', 'CHECKED', 'LAST RESULT', 'PENDING APPROVAL', 'TEMPORAL UI'],
    rows.map((r) => [
      r.environment,
      desiredText(r),
      r.deployedVersion ?? '-',
      r.rollout ? `${r.phase ?? '-'} (${r.rollout.halted !== undefined ? 'Halted, ' : ''}wave ${r.rollout.wave} of ${r.rollout.waves})` : (r.phase ?? '-'),
      r.syncStatus,
      ago(r.syncCheckedAt, now),
      r.lastResult ? `${r.lastResult} ${ago(r.lastResultAt, now)}` : '-',
      approvalText(r),
      r.url,
    ]),
  );
  const warnings = rows.filter((r) => r.expiryWarning).map((r) => `warning: ${r.environment} ${r.expiryWarning}`);
  return [...(note ? [`note: ${note}`] : []), ...warnings, table].join('\n');
}

/** Where an environment stands in a running rollout: `wave 3 of 3, waits for wave 2 (rollout of abc1234, cfn-gitops-rollout/<sha>)`. */
export function rolloutText(rollout: NonNullable<EnvironmentStatus['rollout']>): string {
  const where = rollout.halted !== undefined
    ? `Halted: ${rollout.halted}`
    : rollout.wave === rollout.running ? 'running' : rollout.wave < rollout.running ? 'done' : `waits for wave ${rollout.running}`;
  return `wave ${rollout.wave} of ${rollout.waves}, ${where} (rollout of ${rollout.commit.slice(0, 7)}, ${rollout.workflowId})`;
}

/** One environment in detail for a terminal: its row, its notes and its recent deployments. */
export function renderStatusDetail(detail: EnvironmentDetail, now: number): string {
  const lines = [renderStatusTable([detail], now)];
  if (detail.rollout) lines.push('', `rollout: ${rolloutText(detail.rollout)}`);
  if (detail.expiry && !detail.expiryWarning) lines.push('', `expires: ${detail.expiry.at} (${detail.expiry.rule})`);
  if (detail.expired) lines.push('', `expired: at ${detail.expired.at} (${detail.expired.rule}); its stacks were deleted; a push that changes its config with a later date brings it back`);
  if (detail.desiredError) lines.push('', `config error: ${detail.desiredError}`);
  if (detail.syncMessage) lines.push('', `sync: ${detail.syncStatus} (${detail.syncMessage})`);
  if (detail.lastResultMessage) lines.push('', `last result: ${detail.lastResult}: ${detail.lastResultMessage}`);
  if (detail.deployments.length > 0) {
    lines.push(
      '',
      textTable(
        ['#', 'ACTION', 'VERSION', 'COMMIT', 'RESULT', 'ENDED', 'APPROVED BY', 'MESSAGE'],
        detail.deployments.map((d) => [
          String(d.number),
          d.action,
          d.appVersion ?? '-',
          shortSha(d.commit),
          d.result ?? (d.startedAt ? 'running' : 'pending'),
          ago(d.endedAt, now),
          d.approvedBy ?? '-',
          (d.message ?? '').replace(/\s+/g, ' '),
        ]),
      ),
    );
  }
  return lines.join('\n');
}

/**
 * A drift sweep's result for a terminal: a table, the drifted resources of each environment, what
 * self-heal asked for and a one-line count.
 * @example renderDriftReport(result) // "ENVIRONMENT  STATUS   DESIRED  DEPLOYED  CHECKED  MESSAGE\nprod  Synced  1.4.2 …"
 */
export function renderDriftReport(result: DriftSweepResult): string {
  if (result.entries.length === 0) return 'no environments: no environment workflows and no stacks under a known prefix';
  const table = textTable(
    ['ENVIRONMENT', 'STATUS', 'DESIRED', 'DEPLOYED', 'CHECKED', 'MESSAGE'],
    result.entries.map((e) => [e.environment, e.status, e.desiredVersion ?? '-', e.deployedVersion ?? '-', e.checkedAt, (e.message ?? '').replace(/\n/g, ' ')]),
  );
  const details = result.entries.flatMap((e) => [
    ...(e.drifted.length > 0 ? [`${e.environment}: drifted resources`, ...e.drifted.map((line) => `  - ${line}`)] : []),
    ...(e.healRequested ? [`${e.environment}: self-heal asked the environment to deploy git's version again`] : []),
    ...(e.healSkipped ? [`${e.environment}: no self-heal: ${e.healSkipped}`] : []),
  ]);
  const counts = Object.entries(result.counts).map(([status, n]) => `${n} ${status}`).join(', ');
  return [table, ...(details.length > 0 ? ['', ...details] : []), '', `${result.entries.length} environment(s): ${counts}`].join('\n');
}

/** What waits for approval, for a terminal: one row per environment with the pipeline stack's change set. */
export function renderPendingApprovals(pending: PendingApproval[]): string {
  if (pending.length === 0) return 'nothing waits for approval';
  return textTable(
    ['ENVIRONMENT', 'CURRENT', 'NEW', 'COMMIT', 'AUTHOR', 'APPROVED', 'WAITING SINCE', 'EXPIRES', 'PIPELINE STACK'],
    pending.map((p) => [
      p.environment,
      p.currentVersion ?? '-',
      p.newVersion ?? 'delete',
      shortSha(p.commit.sha),
      p.commit.author.name,
      p.approvals ? `${p.approvals.length} of ${p.requiredApprovals}${p.approvals.length ? `: ${p.approvals.map((given) => given.by).join(', ')}` : ''}` : '-',
      p.requestedAt,
      p.expiresAt,
      p.pipelineChanges === undefined ? '-' : p.pipelineChanges.length ? p.pipelineChanges.join('; ') : 'no change',
    ]),
  );
}

/**
 * Seconds as people read a span of time: `45s`, `12m 05s`, `3h 07m`, `2d 4h`; `-` for none.
 * @example durationText(3723) // '1h 02m'
 */
export function durationText(seconds: number | null): string {
  if (seconds === null) return '-';
  const sign = seconds < 0 ? '-' : '';
  const s = Math.round(Math.abs(seconds));
  const two = (n: number) => String(n).padStart(2, '0');
  if (s < 60) return `${sign}${s}s`;
  if (s < 3600) return `${sign}${Math.floor(s / 60)}m ${two(s % 60)}s`;
  if (s < 86400) return `${sign}${Math.floor(s / 3600)}h ${two(Math.floor((s % 3600) / 60))}m`;
  return `${sign}${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

/** One row of the DORA table: the four figures with the counts behind them. */
function doraCells(name: string, f: DoraFigures): string[] {
  const rate = f.changeFailureRate === null ? '-' : `${(f.changeFailureRate * 100).toFixed(1)}% (${f.failed}/${f.succeeded + f.failed})`;
  const restore = f.timeToRestore.count === 0 && f.timeToRestore.open === 0 ? '-' : `${durationText(f.timeToRestore.medianSeconds)} (${f.timeToRestore.count} restored${f.timeToRestore.open ? `, ${f.timeToRestore.open} open` : ''})`;
  return [
    name,
    `${f.succeeded}/${f.deployments}${f.cancelled ? ` (${f.cancelled} cancelled)` : ''}`,
    f.deploymentsPerDay.toFixed(2),
    f.leadTime.count === 0 ? '-' : `${durationText(f.leadTime.medianSeconds)} (${f.leadTime.count})`,
    rate,
    restore,
  ];
}

/**
 * The four DORA figures for a terminal: a line naming the window, a row per environment and one
 * for all of them. Lead time and time to restore are medians, with the number of samples.
 * @example renderDoraTable(report) // "DORA figures from 2024-05-01T00:00:00.000Z to …\nENVIRONMENT  SUCCEEDED/DEPLOYED …"
 */
export function renderDoraTable(report: DoraReport): string {
  const head = `DORA figures from ${report.since} to ${report.until} (${Number(report.days.toFixed(2))} days)`;
  const notes = report.warnings.map((w) => `note: ${w}`);
  if (report.environments.length === 0) return [head, ...notes, 'no deployment ended in this window'].join('\n');
  const table = textTable(
    ['ENVIRONMENT', 'SUCCEEDED/DEPLOYED', 'PER DAY', 'LEAD TIME (MEDIAN)', 'CHANGE FAILURE RATE', 'TIME TO RESTORE (MEDIAN)'],
    [...report.environments.map((e) => doraCells(e.environment, e)), doraCells('(all)', report.overall)],
  );
  return [head, ...notes, table].join('\n');
}
