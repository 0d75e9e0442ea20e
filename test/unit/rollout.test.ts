import { parseRepoSettings } from '../../common/config';
import { ConfigError } from '../../common/errors';
import { plan } from '../../common/plan';
import { assignWaves, bakeMs, hoistShared, withShared } from '../../common/rollout';
import { commit, config, snapshot, TEMPLATES } from '../support/fixtures';

/** The ConfigError `common/gitops.yaml` raises; fails the test when it parses. */
function settingsError(text: string): ConfigError {
  try {
    parseRepoSettings(text, 'common/gitops.yaml');
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError, but the file parsed');
}

describe('waves: in common/gitops.yaml', () => {
  it('takes a list of lists of names and patterns, and bake as a duration', () => {
    const settings = parseRepoSettings('waves: [[development, "feature*"], [staging], [prod]]\nbake: 10m\n', 'common/gitops.yaml');
    expect(settings.waves).toEqual([['development', 'feature*'], ['staging'], ['prod']]);
    expect(settings.bake).toBe('10m');
    expect(bakeMs(settings)).toBe(600_000);
  });

  it('is absent without the key, and nothing bakes', () => {
    const settings = parseRepoSettings('stackPrefix: acme-\n', 'common/gitops.yaml');
    expect(settings.waves).toBeUndefined();
    expect(bakeMs(settings)).toBe(0);
  });

  it.each([
    ['waves: [development, prod]\n', 1, 'waves.0: each wave is a list of environment names or patterns'],
    ['waves: []\n', 1, 'waves: waves lists at least one wave; remove the key for no waves'],
    ['waves:\n  - [development]\n  - []\n', 3, 'waves.1: a wave lists at least one environment or pattern; remove the empty wave'],
    ['waves:\n  - [development]\n  - [prod/eu]\n', 3, 'waves.1.0: a wave lists environment names or patterns'],
    ['waves: prod\n', 1, 'waves: waves is a list of waves'],
    ['waves: [[prod]]\nbake: soon\n', 2, 'bake: bake is a duration such as 10m, 30s or 1h'],
    ['stackPrefix: acme-\nbake: 10m\n', 2, 'bake: bake is the wait between waves: set waves too, or remove bake'],
  ])('refuses %j at line %i with the fix', (text, line, message) => {
    const error = settingsError(text);
    expect(error.file).toBe('common/gitops.yaml');
    expect(error.line).toBe(line);
    expect(error.reason).toContain(message);
  });
});

describe('assignWaves', () => {
  it('puts each environment in the first wave that names it, and the unmatched in a last wave', () => {
    expect(assignWaves(['prod', 'featureB', 'staging', 'development', 'featureA', 'qa'], [['development', 'feature*'], ['staging'], ['prod', 'staging']])).toEqual([
      ['development', 'featureA', 'featureB'],
      ['staging'],
      ['prod'],
      ['qa'],
    ]);
  });

  it('leaves out waves no environment of the push falls in', () => {
    expect(assignWaves(['prod'], [['development'], ['staging'], ['prod']])).toEqual([['prod']]);
    expect(assignWaves([], [['development']])).toEqual([]);
  });
});

describe('the plan of a push with waves', () => {
  const settings = 'waves: [[development, "feature*"], [staging], [prod]]\nbake: 30s\n';
  const files = (pipeline: string) => ({
    'common/gitops.yaml': settings,
    'common/pipeline.yaml': pipeline,
    'common/environment.yaml': TEMPLATES['common/environment.yaml']!,
    'development/config.yaml': config('1.0.0'),
    'featureX/config.yaml': config('1.0.0'),
    'staging/config.yaml': config('1.0.0'),
    'prod/config.yaml': config('1.0.0'),
    'sandbox/config.yaml': config('1.0.0'),
  });

  it('carries the waves of a common/ change over every environment, and the bake', () => {
    const before = snapshot(files(TEMPLATES['common/pipeline.yaml']!), commit('b0', 10));
    const after = snapshot(files(`${TEMPLATES['common/pipeline.yaml']!}\n# changed\n`), commit('a1', 11));
    const result = plan({ before, after, changes: [{ path: 'common/pipeline.yaml' }] });
    expect(result.rollout).toEqual({ waves: [['development', 'featureX'], ['staging'], ['prod'], ['sandbox']], bakeMs: 30_000 });
    expect(result.environments.find((e) => e.environment === 'prod')?.desired?.settings.waves).toEqual([['development', 'feature*'], ['staging'], ['prod']]);
  });

  it('has no rollout without waves', () => {
    const result = plan({ after: snapshot({ ...TEMPLATES, 'prod/config.yaml': config('1.0.0') }, commit('a1', 1)) });
    expect(result.rollout).toBeUndefined();
  });
});

describe('the shared parts of a rollout (hoistShared, withShared)', () => {
  const refs = { pipeline: { sha256: 'a'.repeat(64), bytes: 10 }, environment: { sha256: 'b'.repeat(64), bytes: 20 } };
  const desiredOf = () => {
    const before = snapshot({ ...TEMPLATES, 'development/config.yaml': config('1.0.0'), 'prod/config.yaml': config('1.0.0'), 'staging/config.yaml': config('1.0.0') }, commit('b0', 10));
    const after = snapshot({ ...TEMPLATES, 'development/config.yaml': config('2.0.0'), 'prod/config.yaml': config('2.0.0') }, commit('a1', 11));
    const result = plan({ before, after, changes: [{ path: 'development/config.yaml' }, { path: 'prod/config.yaml' }, { path: 'staging/config.yaml' }] });
    // As `start` hands them over: syncs by template hash, the delete without templates.
    return result.environments.map((planned) => {
      const { templates, ...rest } = planned.desired!;
      return templates ? { ...rest, templateRefs: refs } : rest;
    });
  };

  it('sends the commit, settings and templates once, and gives each member its whole desired state back', () => {
    const desired = desiredOf();
    expect(desired.map((d) => [d.environment, d.action])).toEqual([['development', 'sync'], ['prod', 'sync'], ['staging', 'delete']]);
    const { shared, members } = hoistShared(desired);
    expect(shared).toEqual({ commit: desired[0]!.commit, settings: desired[0]!.settings, templateRefs: refs });
    expect(members.filter((m) => 'commit' in m || 'settings' in m || 'templateRefs' in m)).toEqual([]);
    expect(members.map((member) => withShared(member, shared))).toEqual(desired);
  });

  it('keeps a part that differs from the first with its member, and takes a member of an older rollout as it is', () => {
    const desired = desiredOf();
    const other = { ...desired[1]!, templateRefs: { ...refs, environment: { sha256: 'c'.repeat(64), bytes: 30 } } };
    const { shared, members } = hoistShared([desired[0]!, other, desired[2]!]);
    expect(members[1]!.templateRefs).toEqual(other.templateRefs);
    expect(withShared(members[1]!, shared)).toEqual(other);
    expect(withShared(desired[2]!, undefined)).toBe(desired[2]);
  });
});
