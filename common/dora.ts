import { z } from 'zod';
import { parseDuration } from './duration';
import { Action, DeploymentResult } from './types';

/*
 * The four DORA delivery figures (deployment frequency, lead time for changes, change failure
 * rate, time to restore), pure: from the deployments that ended in a window, as the starter reads
 * them from Temporal's visibility and histories. `cfn-gitops dora` and `GET /api/dora` show these
 * figures; the README's "Delivery figures (DORA)" says what each one counts and why.
 */

/** How a deployment workflow ended, as the figures count it. */
export type DeploymentVerdict = typeof DeploymentResult.Succeeded | typeof DeploymentResult.Failed | typeof DeploymentResult.Cancelled;

/** One deployment workflow that ended: what the figures are made of. */
export interface DeploymentFact {
  environment: string;
  /** `cfn-gitops/<env>/<n>-<action>-<sha>`. */
  workflowId: string;
  action: Action;
  /** Completed is Succeeded; Failed, Terminated and TimedOut are Failed (as the environment workflow records them); Canceled is Cancelled. */
  result: DeploymentVerdict;
  /** ISO-8601 close time of the workflow. */
  endedAt: string;
  /** ISO-8601 author date of the deployed commit; read for successful syncs, absent when not known. */
  commitDate?: string;
  /** A drift self-heal's deployment of a commit already applied: no new change, so no lead time. */
  redeploy?: boolean;
}

/** The time the figures cover: deployments that ended from `since` to `until`, both included. */
export interface DoraWindow {
  since: Date;
  until: Date;
}

/** A median over samples, in seconds. */
export interface MedianSeconds {
  /** How many samples. */
  count: number;
  /** The middle sample (the mean of the two middle ones for an even count); null without samples. */
  medianSeconds: number | null;
}

/** The four figures over one set of deployments. */
export interface DoraFigures {
  /** Sync deployments that ended in the window: succeeded + failed + cancelled. */
  deployments: number;
  succeeded: number;
  failed: number;
  /** Cancelled while running: neither a delivery nor a failure. */
  cancelled: number;
  /** Deployment frequency: successful deployments per day of the window. */
  deploymentsPerDay: number;
  /** Lead time for changes: from the commit's author date to its deployment's Succeeded. */
  leadTime: MedianSeconds;
  /** Change failure rate: failed / (succeeded + failed); null when none of either. */
  changeFailureRate: number | null;
  /** Time to restore: from the end of the first failed deployment of a run to the next Succeeded one. */
  timeToRestore: MedianSeconds & {
    /** Runs of failures with no Succeeded deployment after them yet. */
    open: number;
  };
}

/** The figures of every environment with a deployment in the window, and of all of them together. */
export interface DoraReport {
  /** ISO-8601 start of the window. */
  since: string;
  /** ISO-8601 end of the window (the time it was read). */
  until: string;
  /** The window's length in days (fractions included). */
  days: number;
  overall: DoraFigures;
  /** Sorted by name; an environment without a deployment ending in the window is not listed. */
  environments: (DoraFigures & { environment: string })[];
  /** What could not be read, e.g. a deployment's history gone since it was listed (its lead time is then left out). */
  warnings: string[];
}

const DAY_MS = 86_400_000;

/** `since` of `GET /api/dora` and `cfn-gitops dora --since`. */
const sinceSchema = z.string().trim().min(1).max(64);

/**
 * The window a `since` asks for, ending now: a duration back from now (`30d`, `12h`, `90m`) or an
 * ISO-8601 date or time (`2024-05-01`, `2024-05-01T12:00:00Z`). Absent, the last 30 days.
 * @throws Error naming the value and the forms taken, or saying it is not before now.
 * @example parseDoraWindow('7d', new Date('2024-05-08T00:00:00Z')).since // 2024-05-01T00:00:00.000Z
 */
export function parseDoraWindow(since: unknown, now: Date): DoraWindow {
  const parsed = sinceSchema.optional().safeParse(since);
  const form = 'a duration back from now (30d, 12h, 90m) or an ISO-8601 date or time (2024-05-01, 2024-05-01T12:00:00Z)';
  if (!parsed.success) throw new Error(`since: expected one value, ${form}`);
  const text = parsed.data ?? '30d';
  let start: number;
  if (/^\d+(?:\.\d+)?\s*(?:ms|s|m|h|d)$/.test(text)) {
    start = now.getTime() - parseDuration(text);
  } else if (/^\d{4}-\d{2}-\d{2}(?:T[\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/.test(text) && !Number.isNaN(Date.parse(text))) {
    start = Date.parse(text);
  } else {
    throw new Error(`since: "${text.slice(0, 64)}" is not ${form}`);
  }
  if (start >= now.getTime()) throw new Error(`since: ${text} is not before now (${now.toISOString()})`);
  return { since: new Date(start), until: now };
}

/** The median of samples in milliseconds, in seconds. */
function median(samplesMs: number[]): MedianSeconds {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return { count: 0, medianSeconds: null };
  const middle = n % 2 === 1 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
  return { count: n, medianSeconds: middle / 1000 };
}

/** What one environment's deployments, oldest first, give: samples and counts, before medians. */
interface Tally {
  succeeded: number;
  failed: number;
  cancelled: number;
  leadTimesMs: number[];
  restoresMs: number[];
  open: number;
}

/**
 * Counts one environment's deployments in the order they ended. A run of failures is one
 * incident from the end of its first failed deployment; the next Succeeded sync restores it; a
 * Succeeded delete ends it unrestored (nothing is left to restore) and uncounted; Cancelled does
 * neither. An incident still open at the end of the window counts as open.
 */
function tally(facts: DeploymentFact[]): Tally {
  const t: Tally = { succeeded: 0, failed: 0, cancelled: 0, leadTimesMs: [], restoresMs: [], open: 0 };
  let incidentStart: number | undefined;
  for (const fact of facts) {
    const ended = Date.parse(fact.endedAt);
    if (fact.action === Action.Delete) {
      if (fact.result === DeploymentResult.Succeeded) incidentStart = undefined;
      continue;
    }
    if (fact.result === DeploymentResult.Cancelled) {
      t.cancelled += 1;
    } else if (fact.result === DeploymentResult.Failed) {
      t.failed += 1;
      incidentStart ??= ended;
    } else {
      t.succeeded += 1;
      if (incidentStart !== undefined) t.restoresMs.push(ended - incidentStart);
      incidentStart = undefined;
      const committed = fact.commitDate === undefined ? Number.NaN : Date.parse(fact.commitDate);
      if (!fact.redeploy && !Number.isNaN(committed)) t.leadTimesMs.push(ended - committed);
    }
  }
  if (incidentStart !== undefined) t.open += 1;
  return t;
}

function figuresOf(tallies: Tally[], days: number): DoraFigures {
  const sum = (pick: (t: Tally) => number) => tallies.reduce((n, t) => n + pick(t), 0);
  const succeeded = sum((t) => t.succeeded);
  const failed = sum((t) => t.failed);
  const cancelled = sum((t) => t.cancelled);
  return {
    deployments: succeeded + failed + cancelled,
    succeeded,
    failed,
    cancelled,
    deploymentsPerDay: succeeded / days,
    leadTime: median(tallies.flatMap((t) => t.leadTimesMs)),
    changeFailureRate: succeeded + failed === 0 ? null : failed / (succeeded + failed),
    timeToRestore: { ...median(tallies.flatMap((t) => t.restoresMs)), open: sum((t) => t.open) },
  };
}

/**
 * The four figures per environment and overall, from the deployments that ended in the window
 * (others are left out). Only syncs count as deployments; a delete can only end an incident.
 * @example doraFigures(facts, parseDoraWindow('30d', new Date())).overall.changeFailureRate // 0.25
 */
export function doraFigures(facts: DeploymentFact[], window: DoraWindow, warnings: string[] = []): DoraReport {
  const since = window.since.getTime();
  const until = window.until.getTime();
  const days = (until - since) / DAY_MS;
  const byEnvironment = new Map<string, DeploymentFact[]>();
  for (const fact of facts) {
    const ended = Date.parse(fact.endedAt);
    if (!(ended >= since && ended <= until)) continue;
    byEnvironment.set(fact.environment, [...(byEnvironment.get(fact.environment) ?? []), fact]);
  }
  const tallies = [...byEnvironment.keys()]
    .sort((a, b) => a.localeCompare(b))
    .map((environment) => {
      const ordered = byEnvironment.get(environment)!.sort((a, b) => Date.parse(a.endedAt) - Date.parse(b.endedAt) || a.workflowId.localeCompare(b.workflowId));
      return { environment, tally: tally(ordered), syncs: ordered.some((f) => f.action === Action.Sync) };
    });
  return {
    since: window.since.toISOString(),
    until: window.until.toISOString(),
    days,
    overall: figuresOf(tallies.map((t) => t.tally), days),
    environments: tallies.filter((t) => t.syncs).map((t) => ({ environment: t.environment, ...figuresOf([t.tally], days) })),
    warnings,
  };
}
