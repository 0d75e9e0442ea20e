import { parseDuration } from './duration';
import { FreezeWindowError } from './errors';
import { REPO_SETTINGS_FILE } from './names';
import { matchesAny } from './patterns';

/**
 * Freeze windows: times when no deployment of the environments they name may start. Pure: the
 * worker parses CFN_GITOPS_FREEZE at its edge, the policy hands an environment's windows to its
 * workflow, and the workflow decides with its own clock, so the decision replays.
 */

/** One window: either `start`/`end` (ISO-8601) or a weekly `cron` rule (UTC) with a `duration`. */
export interface FreezeWindow {
  /** Environment names or patterns (`prod`, `staging*`) the window holds. */
  environments: string[];
  /** Said to whoever waits: `year-end freeze`. */
  reason: string;
  /** ISO-8601 start of a one-off window. */
  start?: string;
  /** ISO-8601 end of a one-off window. */
  end?: string;
  /** Weekly rule, `minute hour * * day-of-week` in UTC: `0 18 * * 5` is Fridays at 18:00. */
  cron?: string;
  /** How long each weekly window lasts, in milliseconds. */
  durationMs?: number;
}

/** The window that holds an environment at a time: until when, and why. */
export interface ActiveFreeze {
  until: string;
  reason: string;
}

const WEEK = 7 * 86_400_000;
const DAY = 86_400_000;

/** Days of the week a cron field names (0 and 7 are Sunday): `5`, `1-5`, `0,6`, `*`. */
function cronDays(field: string): number[] {
  if (field === '*') return [0, 1, 2, 3, 4, 5, 6];
  const days = new Set<number>();
  for (const part of field.split(',')) {
    const range = /^(\d)(?:-(\d))?$/.exec(part);
    if (!range) throw new Error(`"${field}" is not a day-of-week field: write 5, 1-5 or 0,6`);
    const from = Number(range[1]);
    const to = Number(range[2] ?? range[1]);
    if (from > 7 || to > 7 || to < from) throw new Error(`"${field}" is not a day-of-week field: days run from 0 (Sunday) to 7 (Sunday)`);
    for (let day = from; day <= to; day++) days.add(day % 7);
  }
  return [...days];
}

/**
 * Parses a weekly rule `minute hour * * day-of-week`.
 * @throws Error naming the rule and the form it takes.
 */
export function parseWeeklyRule(rule: string): { minute: number; hour: number; days: number[] } {
  const fields = rule.trim().split(/\s+/);
  const [minute, hour, dayOfMonth, month, days] = fields;
  if (fields.length !== 5 || dayOfMonth !== '*' || month !== '*' || !/^\d{1,2}$/.test(minute!) || !/^\d{1,2}$/.test(hour!) || Number(minute) > 59 || Number(hour) > 23) {
    throw new Error(`"${rule}" is not a weekly rule: write "minute hour * * day-of-week" in UTC, e.g. "0 18 * * 5" for Fridays at 18:00`);
  }
  return { minute: Number(minute), hour: Number(hour), days: cronDays(days!) };
}

/** The window's occurrence that holds `at`, or undefined. */
function occurrenceAt(window: FreezeWindow, at: number): { start: number; end: number } | undefined {
  if (window.cron !== undefined) {
    const { minute, hour, days } = parseWeeklyRule(window.cron);
    const duration = window.durationMs ?? 0;
    // Starts in the days before `at` that a window as long as `duration` could still cover.
    const midnight = Math.floor(at / DAY) * DAY;
    for (let back = 0; back * DAY <= duration + DAY; back++) {
      const day = midnight - back * DAY;
      if (!days.includes(new Date(day).getUTCDay())) continue;
      const start = day + hour * 3_600_000 + minute * 60_000;
      if (start <= at && at < start + duration) return { start, end: start + duration };
    }
    return undefined;
  }
  const start = Date.parse(window.start ?? '');
  const end = Date.parse(window.end ?? '');
  return start <= at && at < end ? { start, end } : undefined;
}

/**
 * The freeze that holds an environment at a time, or undefined. Where windows meet or overlap,
 * the freeze lasts until the last of them ends.
 * @example activeFreeze([{ environments: ['prod'], reason: 'release', start: '2026-12-20T00:00:00Z', end: '2027-01-02T00:00:00Z' }], 'prod', new Date('2026-12-24T00:00:00Z'))
 * // { until: '2027-01-02T00:00:00.000Z', reason: 'release' }
 */
export function activeFreeze(windows: readonly FreezeWindow[], environment: string, now: Date): ActiveFreeze | undefined {
  const mine = windows.filter((window) => matchesAny(environment, window.environments));
  let at = now.getTime();
  const reasons: string[] = [];
  // Follow windows that chain: each occurrence found moves `at` to its end.
  for (let steps = 0; steps < 100; steps++) {
    const found = mine.map((window) => ({ window, occurrence: occurrenceAt(window, at) })).filter((f) => f.occurrence !== undefined);
    if (found.length === 0) break;
    const latest = found.reduce((a, b) => (b.occurrence!.end > a.occurrence!.end ? b : a));
    for (const f of found) if (!reasons.includes(f.window.reason)) reasons.push(f.window.reason);
    at = latest.occurrence!.end;
  }
  return reasons.length ? { until: new Date(at).toISOString(), reason: reasons.join('; ') } : undefined;
}

/** The windows that name an environment and may still hold it at or after `now` (one-off windows that ended are left out). */
export function windowsFor(windows: readonly FreezeWindow[], environment: string, now: Date): FreezeWindow[] {
  return windows.filter((window) => matchesAny(environment, window.environments) && (window.cron !== undefined || Date.parse(window.end ?? '') > now.getTime()));
}

/**
 * The repo's windows (`freeze:` in `common/gitops.yaml`, carried in the desired state) that may
 * hold an environment at or after `now`, each reason marked with where it comes from. They only
 * add: `activeFreeze` over the orchestrator's windows and these holds until the last of them
 * ends, and a `cfn-gitops freeze` holds before any window. A weekly rule that does not read is
 * left out (the desired state's schema refuses one first), so no input can fail a workflow task.
 * @example repoWindowsFor([{ environments: ['prod'], reason: 'year-end', start: '2026-12-20T00:00:00.000Z', end: '2027-01-02T00:00:00.000Z' }], 'prod', new Date('2026-12-24T00:00:00Z'))[0].reason
 * // 'year-end (common/gitops.yaml)'
 */
export function repoWindowsFor(windows: readonly FreezeWindow[] | undefined, environment: string, now: Date): FreezeWindow[] {
  return windowsFor(windows ?? [], environment, now)
    .filter((window) => window.cron === undefined || isWeeklyRule(window.cron))
    .map((window) => ({ ...window, reason: `${window.reason} (${REPO_SETTINGS_FILE})` }));
}

/** Does a text read as a weekly rule (`0 18 * * 5`)? */
export function isWeeklyRule(rule: string): boolean {
  try {
    parseWeeklyRule(rule);
    return true;
  } catch {
    return false;
  }
}

/**
 * Parses freeze windows from plain data (CFN_GITOPS_FREEZE's JSON, or `freeze:` in
 * `common/gitops.yaml`): a list of `{ environments, reason, start, end }` or
 * `{ environments, reason, cron, duration }`.
 * @throws FreezeWindowError naming the window, the field and what is wrong with it.
 */
export function parseFreezeWindows(value: unknown, source: string): FreezeWindow[] {
  if (!Array.isArray(value)) {
    throw new FreezeWindowError(source, undefined, undefined, 'a list of windows, e.g. [{"environments":["prod"],"reason":"year-end","start":"2026-12-20T00:00:00Z","end":"2027-01-02T00:00:00Z"}]');
  }
  return value.map((item: unknown, index) => {
    const fail = (field: string | undefined, problem: string) => new FreezeWindowError(source, index, field, problem);
    if (typeof item !== 'object' || item === null) throw fail(undefined, 'a window is an object');
    const w = item as Record<string, unknown>;
    const environments = typeof w.environments === 'string' ? [w.environments] : w.environments;
    if (!Array.isArray(environments) || environments.length === 0 || !environments.every((e) => typeof e === 'string' && e.length <= 256 && /^[A-Za-z0-9*?-]+$/.test(e))) {
      throw fail('environments', 'environments is a list of names or patterns, e.g. ["prod", "staging*"]');
    }
    if (typeof w.reason !== 'string' || w.reason.trim() === '') throw fail('reason', 'reason says why the environments are frozen');
    // The limits a desired state's schema holds the windows to, said here where they are written.
    if (w.reason.length > 2_000) throw fail('reason', 'reason is at most 2,000 characters');
    if (w.cron !== undefined) {
      if (typeof w.cron !== 'string' || w.cron.length > 64) throw fail('cron', 'cron is a text such as "0 18 * * 5"');
      try {
        parseWeeklyRule(w.cron);
      } catch (error) {
        throw fail('cron', (error as Error).message);
      }
      let durationMs: number;
      try {
        durationMs = parseDuration(String(w.duration ?? ''));
      } catch {
        throw fail('duration', 'a weekly window needs a duration such as 62h or 2d');
      }
      if (durationMs <= 0 || durationMs > WEEK) throw fail('duration', 'duration is more than 0 and at most 7d');
      return { environments: environments as string[], reason: w.reason, cron: w.cron, durationMs };
    }
    const start = typeof w.start === 'string' ? Date.parse(w.start) : NaN;
    const end = typeof w.end === 'string' ? Date.parse(w.end) : NaN;
    if (Number.isNaN(start) || Number.isNaN(end)) {
      throw fail(Number.isNaN(start) ? 'start' : 'end', 'start and end are ISO-8601 times, e.g. 2026-12-20T00:00:00Z (or give cron and duration)');
    }
    if (end <= start) throw fail('end', 'end comes after start');
    return { environments: environments as string[], reason: w.reason, start: new Date(start).toISOString(), end: new Date(end).toISOString() };
  });
}
