import { activeFreeze, parseFreezeWindows, repoWindowsFor, windowsFor } from '../../common/freeze';
import { policyFor, type PolicySettings } from '../../common/policy';
import { FreezeWindowError } from '../../common/errors';
import { readWorkerSettings } from '../../worker/settings';

const release = { environments: ['prod', 'staging*'], reason: 'year-end', start: '2026-12-20T00:00:00.000Z', end: '2027-01-02T00:00:00.000Z' };
// Fridays 18:00 UTC for 62 hours: to Monday 08:00.
const weekend = { environments: ['prod'], reason: 'weekend', cron: '0 18 * * 5', durationMs: 62 * 3_600_000 };

describe('activeFreeze', () => {
  it('holds the environments a one-off window names while it lasts, and no others', () => {
    expect(activeFreeze([release], 'prod', new Date('2026-12-24T12:00:00Z'))).toEqual({ until: '2027-01-02T00:00:00.000Z', reason: 'year-end' });
    expect(activeFreeze([release], 'staging-eu', new Date('2026-12-20T00:00:00Z'))?.reason).toBe('year-end');
    expect(activeFreeze([release], 'development', new Date('2026-12-24T12:00:00Z'))).toBeUndefined();
    expect(activeFreeze([release], 'prod', new Date('2027-01-02T00:00:00Z'))).toBeUndefined();
    expect(activeFreeze([release], 'prod', new Date('2026-12-19T23:59:59Z'))).toBeUndefined();
  });

  it('holds from a weekly rule\'s start for its duration, across the week\'s end', () => {
    // 2026-12-04 is a Friday.
    expect(activeFreeze([weekend], 'prod', new Date('2026-12-04T17:59:00Z'))).toBeUndefined();
    expect(activeFreeze([weekend], 'prod', new Date('2026-12-04T18:00:00Z'))).toEqual({ until: '2026-12-07T08:00:00.000Z', reason: 'weekend' });
    expect(activeFreeze([weekend], 'prod', new Date('2026-12-06T23:00:00Z'))?.until).toBe('2026-12-07T08:00:00.000Z');
    expect(activeFreeze([weekend], 'prod', new Date('2026-12-07T08:00:00Z'))).toBeUndefined();
    expect(activeFreeze([weekend], 'prod', new Date('2026-12-09T12:00:00Z'))).toBeUndefined();
  });

  it('lasts until the last of windows that meet, with every reason', () => {
    const next = { environments: ['prod'], reason: 'audit', start: '2027-01-02T00:00:00Z', end: '2027-01-05T00:00:00Z' };
    expect(activeFreeze([release, ...parseFreezeWindows([next], 'x')], 'prod', new Date('2026-12-30T00:00:00Z'))).toEqual({ until: '2027-01-05T00:00:00.000Z', reason: 'year-end; audit' });
  });
});

describe('parseFreezeWindows', () => {
  it('reads one-off and weekly windows', () => {
    expect(parseFreezeWindows([{ environments: 'prod', reason: 'r', start: '2026-12-20T00:00Z', end: '2026-12-21T00:00Z' }], 'F')).toEqual([
      { environments: ['prod'], reason: 'r', start: '2026-12-20T00:00:00.000Z', end: '2026-12-21T00:00:00.000Z' },
    ]);
    expect(parseFreezeWindows([{ environments: ['prod'], reason: 'weekend', cron: '0 18 * * 5', duration: '62h' }], 'F')).toEqual([weekend]);
  });

  it('refuses what is not a window, naming it and the form it takes', () => {
    expect(() => parseFreezeWindows({}, 'F')).toThrow(/^F: a list of windows/);
    expect(() => parseFreezeWindows([{ environments: ['prod'], reason: 'r', start: 'soon', end: 'later' }], 'F')).toThrow('F[0]: start and end are ISO-8601 times');
    expect(() => parseFreezeWindows([{ environments: ['prod'], reason: 'r', start: '2026-12-21T00:00Z', end: '2026-12-20T00:00Z' }], 'F')).toThrow('F[0]: end comes after start');
    expect(() => parseFreezeWindows([{ environments: ['../x'], reason: 'r', start: '2026-12-20T00:00Z', end: '2026-12-21T00:00Z' }], 'F')).toThrow('F[0]: environments is a list');
    expect(() => parseFreezeWindows([{ environments: ['prod'], reason: ' ', start: '2026-12-20T00:00Z', end: '2026-12-21T00:00Z' }], 'F')).toThrow('F[0]: reason');
    expect(() => parseFreezeWindows([{ environments: ['prod'], reason: 'r', cron: '0 18 1 * 5', duration: '1h' }], 'F')).toThrow('is not a weekly rule');
    expect(() => parseFreezeWindows([{ environments: ['prod'], reason: 'r', cron: '0 18 * * 5' }], 'F')).toThrow('F[0]: a weekly window needs a duration');
    expect(() => parseFreezeWindows([{ environments: ['prod'], reason: 'r', cron: '0 18 * * 5', duration: '8d' }], 'F')).toThrow('at most 7d');
  });

  it('says which window and which field, for an error at that field\'s line', () => {
    let thrown: unknown;
    try {
      parseFreezeWindows([release, { environments: ['prod'], reason: 'r', cron: '0 18 * 12 5', duration: '1h' }], 'freeze');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(FreezeWindowError);
    expect(thrown).toMatchObject({ source: 'freeze', index: 1, field: 'cron', message: expect.stringMatching(/^freeze\[1\]: "0 18 \* 12 5" is not a weekly rule/) });
  });
});

describe('repoWindowsFor (freeze: in common/gitops.yaml)', () => {
  const at = new Date('2026-12-24T12:00:00Z');

  it('gives the windows that name the environment, each reason marked with the file', () => {
    expect(repoWindowsFor([release, weekend], 'prod', at).map((w) => w.reason)).toEqual(['year-end (common/gitops.yaml)', 'weekend (common/gitops.yaml)']);
    expect(repoWindowsFor([release, weekend], 'development', at)).toEqual([]);
    expect(repoWindowsFor(undefined, 'prod', at)).toEqual([]);
    expect(repoWindowsFor([release], 'prod', new Date('2027-01-03T00:00:00Z'))).toEqual([]);
  });

  it('only adds: a shorter repo window leaves the orchestrator\'s window as long as it was', () => {
    const shorter = { environments: ['prod'], reason: 'repo says short', start: '2026-12-20T00:00:00.000Z', end: '2026-12-25T00:00:00.000Z' };
    expect(activeFreeze([release, ...repoWindowsFor([shorter], 'prod', at)], 'prod', at)).toEqual({ until: '2027-01-02T00:00:00.000Z', reason: 'year-end; repo says short (common/gitops.yaml)' });
    const longer = { ...shorter, end: '2027-01-10T00:00:00.000Z' };
    expect(activeFreeze([release, ...repoWindowsFor([longer], 'prod', at)], 'prod', at)?.until).toBe('2027-01-10T00:00:00.000Z');
  });

  it('leaves out a weekly rule the workflow could not decide with, instead of throwing', () => {
    expect(repoWindowsFor([{ ...weekend, cron: 'every friday' }], 'prod', at)).toEqual([]);
  });
});

describe('the policy and the worker settings', () => {
  it('hand an environment the windows that name it and have not ended', () => {
    const settings: PolicySettings = { protectedEnvironments: ['prod'], approvalWindowMs: 1, allowSelfApproval: false, selfHealEnvironments: [], freezeWindows: parseFreezeWindows([release, { ...weekend, duration: '62h' }], 'F') };
    expect(policyFor(settings, 'prod', false, new Date('2026-12-01T00:00:00Z')).freezes?.map((w) => w.reason)).toEqual(['year-end', 'weekend']);
    expect(policyFor(settings, 'prod', false, new Date('2027-02-01T00:00:00Z')).freezes?.map((w) => w.reason)).toEqual(['weekend']);
    expect(policyFor(settings, 'development', false, new Date('2026-12-01T00:00:00Z'))).not.toHaveProperty('freezes');
    expect(windowsFor(settings.freezeWindows!, 'staging-1', new Date('2026-12-01T00:00:00Z'))).toHaveLength(1);
  });

  it('read CFN_GITOPS_FREEZE as JSON and refuse it with the reason', () => {
    const freeze = JSON.stringify([{ environments: ['prod'], reason: 'weekend', cron: '0 18 * * 5', duration: '62h' }]);
    expect(readWorkerSettings({ CFN_GITOPS_FREEZE: freeze }).policy.freezeWindows).toEqual([weekend]);
    expect(readWorkerSettings({}).policy.freezeWindows).toEqual([]);
    expect(() => readWorkerSettings({ CFN_GITOPS_FREEZE: 'prod' })).toThrow(/CFN_GITOPS_FREEZE.*not JSON/);
    expect(() => readWorkerSettings({ CFN_GITOPS_FREEZE: '[{"environments":["prod"],"reason":"r"}]' })).toThrow(/CFN_GITOPS_FREEZE\[0\]: start and end/);
  });
});
