import { configFingerprint, expiryOf, expiryWarning } from '../../common/expiry';
import { parseEnvironmentConfig } from '../../common/config';
import { ConfigError } from '../../common/errors';
import { statusRow } from '../../common/status';
import { syncStatusOf } from '../../common/sync';
import { DeployPhase, SyncStatus, type EnvironmentState } from '../../common/types';

const NOW = new Date('2026-12-02T12:00:00.000Z');

describe('expires and ttl in <env>/config.yaml', () => {
  const parse = (text: string) => parseEnvironmentConfig(`appVersion: "1.0.0"\n${text}`, 'feature-a/config.yaml', 'feature-a');
  const problem = (text: string) => {
    try {
      parse(text);
    } catch (error) {
      return error as ConfigError;
    }
    throw new Error('parsed');
  };

  it('reads a date as its 00:00 UTC, a time with its zone as that moment, and a ttl as written', () => {
    expect(parse('expires: 2026-12-31\n').expires).toBe('2026-12-31T00:00:00.000Z');
    expect(parse('expires: 2026-12-31T18:30:00+01:00\n').expires).toBe('2026-12-31T17:30:00.000Z');
    expect(parse('ttl: 7d\n').ttl).toBe('7d');
  });

  it('refuses a time without its zone, a date that is none, a ttl that is no duration, and both at once', () => {
    expect(problem('expires: 2026-12-31T18:00\n')).toMatchObject({ line: 2, reason: 'expires: expires is a date or a time with its zone, e.g. 2026-12-31 or 2026-12-31T18:00:00Z' });
    expect(problem('expires: 2026-13-45\n').reason).toContain('expires is a date or a time');
    expect(problem('expires: soon\n').reason).toContain('expires is a date or a time');
    expect(problem('ttl: a week\n')).toMatchObject({ line: 2, reason: 'ttl: ttl is how long after the first deploy the environment expires, e.g. 7d, 12h or 30m' });
    expect(problem('ttl: 0d\n').reason).toContain('ttl is how long');
    expect(problem('expires: 2026-12-31\nttl: 7d\n')).toMatchObject({ line: 3, reason: 'ttl: set expires or ttl, not both: remove one of them' });
  });
});

describe('expiryOf', () => {
  it('is the expires time, or the ttl after the first deploy (now for one not deployed yet)', () => {
    expect(expiryOf({ expires: '2026-12-31T00:00:00.000Z' }, undefined, NOW)).toEqual({ at: '2026-12-31T00:00:00.000Z', rule: 'expires 2026-12-31T00:00:00.000Z' });
    expect(expiryOf({ ttl: '7d' }, '2026-12-01T00:00:00.000Z', NOW)).toEqual({ at: '2026-12-08T00:00:00.000Z', rule: 'ttl 7d from the first deploy at 2026-12-01T00:00:00.000Z' });
    expect(expiryOf({ ttl: '12h' }, undefined, NOW)?.at).toBe('2026-12-03T00:00:00.000Z');
  });

  it('is undefined for no rule, and for one a hand-made message got wrong (never a thrown error in the workflow)', () => {
    expect(expiryOf(undefined, undefined, NOW)).toBeUndefined();
    expect(expiryOf({}, undefined, NOW)).toBeUndefined();
    expect(expiryOf({ expires: 'tomorrow' }, undefined, NOW)).toBeUndefined();
    expect(expiryOf({ ttl: 'forever' }, undefined, NOW)).toBeUndefined();
    expect(expiryOf({ ttl: '7d' }, 'not a time', NOW)).toBeUndefined();
  });
});

describe('the expiry warning', () => {
  const expiry = (ms: number) => ({ at: new Date(NOW.getTime() + ms).toISOString(), rule: 'ttl 7d from the first deploy at 2026-11-28T12:00:00.000Z' });

  it('is said within three days, not before', () => {
    expect(expiryWarning(expiry(3 * 86_400_000 + 60_000), NOW.getTime())).toBeUndefined();
    expect(expiryWarning(expiry(3 * 86_400_000), NOW.getTime())).toBe('expires in 3d 0h (ttl 7d from the first deploy at 2026-11-28T12:00:00.000Z)');
    expect(expiryWarning(expiry(5 * 3_600_000 + 10 * 60_000), NOW.getTime())).toMatch(/^expires in 5h 10m /);
    expect(expiryWarning(expiry(90_000), NOW.getTime())).toMatch(/^expires in 2m /);
    expect(expiryWarning(expiry(-1), NOW.getTime())).toMatch(/^expiry due \(/);
    expect(expiryWarning(undefined, NOW.getTime())).toBeUndefined();
  });

  it('is on the status row of an environment that expires soon, and an expired one is Expired', () => {
    const state: EnvironmentState = {
      environment: 'feature-a',
      phase: DeployPhase.Idle,
      deploymentCount: 1,
      successfulVersions: [],
      history: [],
      deployedVersion: '1.0.0',
      desired: { commit: 'a'.repeat(40), generation: 1, appVersion: '1.0.0', action: 'sync' },
      expiry: expiry(86_400_000),
    };
    const row = statusRow({ environment: 'feature-a', url: 'u', workflow: { workflowId: 'cfn-gitops/feature-a', state, attributes: {} }, now: NOW.getTime() });
    expect(row).toMatchObject({ syncStatus: SyncStatus.Synced, expiry: state.expiry, expiryWarning: expect.stringMatching(/^expires in 1d 0h/) });

    const expired: EnvironmentState = { ...state, phase: DeployPhase.Expired, expiry: undefined, deployedVersion: undefined, expired: { at: NOW.toISOString(), rule: 'ttl 7d', endedAt: NOW.toISOString(), commit: 'a'.repeat(40), config: 'x' } };
    const git = { commit: 'b'.repeat(40), environments: new Map([['feature-a', { appVersion: '1.0.0' }]]) };
    expect(statusRow({ environment: 'feature-a', url: 'u', workflow: { workflowId: 'cfn-gitops/feature-a', state: expired, attributes: {} }, git })).toMatchObject({
      syncStatus: SyncStatus.Expired,
      expired: { at: NOW.toISOString(), rule: 'ttl 7d' },
    });
    // From search attributes alone (the query did not answer).
    expect(statusRow({ environment: 'feature-a', url: 'u', workflow: { workflowId: 'cfn-gitops/feature-a', attributes: { phase: 'Expired', syncStatus: 'Expired' } }, git }).syncStatus).toBe(SyncStatus.Expired);
  });

  it('an expired environment whose folder git removed is Synced (nothing to delete), one whose stacks came back is Orphaned', () => {
    expect(syncStatusOf({ phase: DeployPhase.Expired, running: false, desiredSource: 'git', removed: true, expired: true })).toBe(SyncStatus.Synced);
    expect(syncStatusOf({ phase: DeployPhase.Expired, running: false, desiredSource: 'git', desiredVersion: '1.0.0', expired: true, recorded: SyncStatus.Orphaned })).toBe(SyncStatus.Orphaned);
  });
});

describe('configFingerprint', () => {
  it('differs when the config differs, and is the same for the same config', () => {
    const config = { appVersion: '1.0.0', parameters: { InstanceType: 't3.micro' }, ttl: '7d' };
    expect(configFingerprint(config)).toBe(configFingerprint({ ...config }));
    expect(configFingerprint(config)).not.toBe(configFingerprint({ ...config, ttl: '8d' }));
    expect(configFingerprint(undefined)).toBe(configFingerprint(null));
  });
});
