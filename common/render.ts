import { printableName, shortSha } from './names';
import type { Plan } from './plan';

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
