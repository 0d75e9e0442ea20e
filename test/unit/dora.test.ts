import fc from 'fast-check';
import { doraFigures, parseDoraWindow, type DeploymentFact, type DoraFigures } from '../../common/dora';
import { durationText, renderDoraTable } from '../../common/render';
import { Action, DeploymentResult } from '../../common/types';

/**
 * The DORA figures from a scripted history: each figure's rule (what counts as a deployment, a
 * failure, a restore; what has a lead time) with the numbers worked out by hand, the window, and
 * properties over random histories.
 */

const T0 = Date.parse('2024-05-01T00:00:00Z');
/** The time `minutes` after T0. */
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();
/** The last 30 days up to T0 + 30 days. */
const WINDOW = parseDoraWindow('30d', new Date(T0 + 30 * 86_400_000));

let counter = 0;
function fact(environment: string, result: DeploymentFact['result'], endedAt: number, extra: Partial<DeploymentFact> = {}): DeploymentFact {
  counter += 1;
  const action = extra.action ?? Action.Sync;
  return { environment, workflowId: `cfn-gitops/${environment}/${counter}-${action}-abcdef012345`, action, result, endedAt: at(endedAt), ...extra };
}
const S = DeploymentResult.Succeeded;
const F = DeploymentResult.Failed;
const C = DeploymentResult.Cancelled;

/** alpha: a failure run of two with a cancel in it, restored; a self-heal. beta: restored once, then failing. gamma: failed, then deleted. */
const HISTORY: DeploymentFact[] = [
  fact('alpha', F, -1), // ended before the window: not counted
  fact('alpha', S, 60, { commitDate: at(0) }),
  fact('alpha', F, 120),
  fact('alpha', F, 130),
  fact('alpha', C, 140),
  fact('alpha', S, 150, { commitDate: at(100) }),
  fact('alpha', S, 200, { commitDate: at(100), redeploy: true }),
  fact('beta', S, 300, { commitDate: at(290) }),
  fact('beta', F, 400),
  fact('beta', S, 420, { commitDate: at(410) }),
  fact('beta', F, 500),
  fact('gamma', F, 600),
  fact('gamma', S, 700, { action: Action.Delete }),
  fact('delta', S, 800, { action: Action.Delete }),
];

describe('doraFigures', () => {
  const report = doraFigures([...HISTORY].reverse(), WINDOW);
  const of = (environment: string) => report.environments.find((e) => e.environment === environment);

  it('covers the window it was given, in days', () => {
    expect(report).toMatchObject({ since: '2024-05-01T00:00:00.000Z', until: '2024-05-31T00:00:00.000Z', days: 30, warnings: [] });
  });

  it('alpha: failures in a row are one incident from the first one\'s end; a cancel neither fails nor restores; a self-heal deploys with no lead time', () => {
    expect(of('alpha')).toEqual<DoraFigures & { environment: string }>({
      environment: 'alpha',
      deployments: 6,
      succeeded: 3,
      failed: 2,
      cancelled: 1,
      deploymentsPerDay: 3 / 30,
      leadTime: { count: 2, medianSeconds: (3600 + 3000) / 2 },
      changeFailureRate: 2 / 5,
      timeToRestore: { count: 1, medianSeconds: 1800, open: 0 },
    });
  });

  it('beta: one incident restored in 20 minutes, one still open', () => {
    expect(of('beta')).toEqual({
      environment: 'beta',
      deployments: 4,
      succeeded: 2,
      failed: 2,
      cancelled: 0,
      deploymentsPerDay: 2 / 30,
      leadTime: { count: 2, medianSeconds: 600 },
      changeFailureRate: 0.5,
      timeToRestore: { count: 1, medianSeconds: 1200, open: 1 },
    });
  });

  it('gamma: a delete is no deployment, and ends the incident without a restore; an environment with deletes only is not listed', () => {
    expect(of('gamma')).toEqual({
      environment: 'gamma',
      deployments: 1,
      succeeded: 0,
      failed: 1,
      cancelled: 0,
      deploymentsPerDay: 0,
      leadTime: { count: 0, medianSeconds: null },
      changeFailureRate: 1,
      timeToRestore: { count: 0, medianSeconds: null, open: 0 },
    });
    expect(report.environments.map((e) => e.environment)).toEqual(['alpha', 'beta', 'gamma']);
  });

  it('overall: counts summed, medians over every environment\'s samples (the mean of the two middle ones for an even count)', () => {
    expect(report.overall).toEqual({
      deployments: 11,
      succeeded: 5,
      failed: 5,
      cancelled: 1,
      deploymentsPerDay: 5 / 30,
      leadTime: { count: 4, medianSeconds: (600 + 3000) / 2 },
      changeFailureRate: 0.5,
      timeToRestore: { count: 2, medianSeconds: 1500, open: 1 },
    });
  });

  it('a window that starts inside a run of failures starts the incident at the first failure it holds', () => {
    const late = doraFigures(HISTORY, parseDoraWindow(at(125), new Date(T0 + 30 * 86_400_000)));
    expect(late.environments.find((e) => e.environment === 'alpha')).toMatchObject({ succeeded: 2, failed: 1, cancelled: 1, timeToRestore: { count: 1, medianSeconds: 1200, open: 0 } });
  });

  it('no deployment: zero counts, no rate and no medians', () => {
    expect(doraFigures([], WINDOW)).toEqual({
      since: WINDOW.since.toISOString(),
      until: WINDOW.until.toISOString(),
      days: 30,
      overall: { deployments: 0, succeeded: 0, failed: 0, cancelled: 0, deploymentsPerDay: 0, leadTime: { count: 0, medianSeconds: null }, changeFailureRate: null, timeToRestore: { count: 0, medianSeconds: null, open: 0 } },
      environments: [],
      warnings: [],
    });
  });

  it('a success whose commit date is unknown counts as a deployment without a lead time', () => {
    const figures = doraFigures([fact('x', S, 10), fact('x', S, 20, { commitDate: at(15) })], WINDOW).overall;
    expect(figures).toMatchObject({ succeeded: 2, leadTime: { count: 1, medianSeconds: 300 } });
  });

  it('holds its rules over random histories', () => {
    const history = fc.array(
      fc.record({
        environment: fc.constantFrom('a', 'b', 'c'),
        result: fc.constantFrom(S, F, C),
        action: fc.constantFrom(Action.Sync, Action.Sync, Action.Sync, Action.Delete),
        minute: fc.integer({ min: -100, max: 50_000 }),
        lead: fc.option(fc.integer({ min: 0, max: 10_000 }), { nil: undefined }),
        redeploy: fc.boolean(),
      }),
      { maxLength: 60 },
    );
    fc.assert(
      fc.property(history, (entries) => {
        const facts = entries.map((e) => fact(e.environment, e.result, e.minute, { action: e.action, redeploy: e.redeploy, commitDate: e.lead === undefined ? undefined : at(e.minute - e.lead) }));
        const { overall, environments } = doraFigures(facts, WINDOW);
        const inWindow = facts.filter((f) => f.action === Action.Sync && Date.parse(f.endedAt) >= T0 && Date.parse(f.endedAt) <= WINDOW.until.getTime());
        const count = (result: string) => inWindow.filter((f) => f.result === result).length;
        expect([overall.succeeded, overall.failed, overall.cancelled]).toEqual([count(S), count(F), count(C)]);
        for (const key of ['deployments', 'succeeded', 'failed', 'cancelled'] as const) {
          expect(environments.reduce((n, e) => n + e[key], 0)).toBe(overall[key]);
        }
        expect(overall.changeFailureRate).toBe(overall.succeeded + overall.failed ? overall.failed / (overall.succeeded + overall.failed) : null);
        for (const figures of [overall, ...environments]) {
          expect(figures.leadTime.count).toBeLessThanOrEqual(figures.succeeded);
          expect(figures.timeToRestore.count + figures.timeToRestore.open).toBeLessThanOrEqual(figures.failed);
          expect(figures.timeToRestore.count).toBeLessThanOrEqual(figures.succeeded);
          expect(figures.timeToRestore.medianSeconds ?? 0).toBeGreaterThanOrEqual(0);
          expect(figures.leadTime.medianSeconds ?? 0).toBeGreaterThanOrEqual(0);
        }
      }),
    );
  });
});

describe('parseDoraWindow', () => {
  const now = new Date('2024-05-31T12:00:00Z');

  it('takes a duration back from now, or a date or time; absent, the last 30 days', () => {
    expect(parseDoraWindow('7d', now)).toEqual({ since: new Date('2024-05-24T12:00:00Z'), until: now });
    expect(parseDoraWindow('12h', now).since).toEqual(new Date('2024-05-31T00:00:00Z'));
    expect(parseDoraWindow(' 90m ', now).since).toEqual(new Date('2024-05-31T10:30:00Z'));
    expect(parseDoraWindow(undefined, now).since).toEqual(new Date('2024-05-01T12:00:00Z'));
    expect(parseDoraWindow('2024-05-01', now).since).toEqual(new Date('2024-05-01T00:00:00Z'));
    expect(parseDoraWindow('2024-05-30T08:15:00.250Z', now).since).toEqual(new Date('2024-05-30T08:15:00.250Z'));
    expect(parseDoraWindow('2024-05-30T08:15:00+02:00', now).since).toEqual(new Date('2024-05-30T06:15:00Z'));
  });

  it('refuses a bare number, a word, a list, a bad date and a time not before now, naming the forms it takes', () => {
    expect(() => parseDoraWindow('30', now)).toThrow('since: "30" is not a duration back from now (30d, 12h, 90m) or an ISO-8601 date or time');
    expect(() => parseDoraWindow('last month', now)).toThrow('is not a duration back from now');
    expect(() => parseDoraWindow(['1d', '2d'], now)).toThrow('since: expected one value');
    expect(() => parseDoraWindow('2024-13-45', now)).toThrow('"2024-13-45" is not');
    expect(() => parseDoraWindow('2024-06-01', now)).toThrow('since: 2024-06-01 is not before now (2024-05-31T12:00:00.000Z)');
    expect(() => parseDoraWindow('0d', now)).toThrow('is not before now');
  });
});

describe('renderDoraTable', () => {
  it('a row per environment and one for all, with the counts behind each figure', () => {
    expect(renderDoraTable(doraFigures(HISTORY, WINDOW)).split('\n')).toEqual([
      'DORA figures from 2024-05-01T00:00:00.000Z to 2024-05-31T00:00:00.000Z (30 days)',
      'ENVIRONMENT  SUCCEEDED/DEPLOYED  PER DAY  LEAD TIME (MEDIAN)  CHANGE FAILURE RATE  TIME TO RESTORE (MEDIAN)',
      'alpha        3/6 (1 cancelled)   0.10     55m 00s (2)         40.0% (2/5)          30m 00s (1 restored)',
      'beta         2/4                 0.07     10m 00s (2)         50.0% (2/4)          20m 00s (1 restored, 1 open)',
      'gamma        0/1                 0.00     -                   100.0% (1/1)         -',
      '(all)        5/11 (1 cancelled)  0.17     30m 00s (4)         50.0% (5/10)         25m 00s (2 restored, 1 open)',
    ]);
  });

  it('says so when nothing ended in the window, with the notes', () => {
    expect(renderDoraTable(doraFigures([], WINDOW, ['lead time left out for 1 deployment(s)']))).toBe(
      'DORA figures from 2024-05-01T00:00:00.000Z to 2024-05-31T00:00:00.000Z (30 days)\nnote: lead time left out for 1 deployment(s)\nno deployment ended in this window',
    );
  });

  it('durations from seconds to days', () => {
    expect([null, 0, 45.4, 59.6, 725, 3723, 86_399, 2 * 86_400 + 4 * 3600 + 59, -90].map(durationText)).toEqual(['-', '0s', '45s', '1m 00s', '12m 05s', '1h 02m', '23h 59m', '2d 4h', '-1m 30s']);
  });
});
