import fc from 'fast-check';
import { parseEnvironmentConfig } from '../../common/config';
import { matchesAny, matchesPattern } from '../../common/patterns';
import { parseApprovalRules, policyFor, type PolicySettings } from '../../common/policy';

describe('environment patterns', () => {
  it.each([
    ['prod', 'prod', true],
    ['prod', 'prod2', false],
    ['featureX', 'feature*', true],
    ['feature', 'feature*', true],
    ['myfeature', 'feature*', false],
    ['prod-eu', 'prod-??', true],
    ['prod-eu1', 'prod-??', false],
    ['anything', '*', true],
    ['a-b-c', '*-*-*', true],
    ['abc', '*-*', false],
    ['Prod', 'prod', false],
  ])('%s against %s: %s', (name, pattern, expected) => {
    expect(matchesPattern(name, pattern)).toBe(expected);
  });

  it('a pattern without wildcards matches exactly its name; `*` matches every name', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,20}$/), fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,20}$/), (name, other) => {
        expect(matchesPattern(name, name)).toBe(true);
        expect(matchesPattern(name, other)).toBe(name === other);
        expect(matchesPattern(name, '*')).toBe(true);
        expect(matchesPattern(name, `${name.slice(0, 1)}*`)).toBe(true);
        expect(matchesAny(name, [])).toBe(false);
      }),
    );
  });

  it('takes time linear in the name even for patterns of many stars', () => {
    const started = performance.now();
    expect(matchesPattern('a'.repeat(64), `${'*a'.repeat(30)}b`)).toBe(false);
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});

describe('required approvals', () => {
  const settings = (requiredApprovals: PolicySettings['requiredApprovals']): PolicySettings => ({
    protectedEnvironments: ['prod'],
    approvalWindowMs: 60_000,
    allowSelfApproval: false,
    selfHealEnvironments: [],
    requiredApprovals,
  });

  it('CFN_GITOPS_REQUIRED_APPROVALS gives pattern=count pairs and refuses anything else, naming the form', () => {
    expect(parseApprovalRules('prod=2, staging*=3')).toEqual([
      { pattern: 'prod', count: 2 },
      { pattern: 'staging*', count: 3 },
    ]);
    expect(parseApprovalRules('')).toEqual([]);
    for (const bad of ['prod', 'prod=0', 'prod=11', 'prod=two', 'pr od=2']) {
      expect(() => parseApprovalRules(bad)).toThrow(/is not an approval rule: write pattern=count, e.g. prod=2/);
    }
  });

  it('an environment takes the most of the rules that match it, and a rule makes it protected', () => {
    const rules = settings([
      { pattern: 'prod*', count: 2 },
      { pattern: 'prod-eu', count: 3 },
      { pattern: 'staging', count: 1 },
    ]);
    expect(policyFor(rules, 'prod', false)).toMatchObject({ protected: true, requiredApprovals: 2 });
    expect(policyFor(rules, 'prod-eu', false)).toMatchObject({ protected: true, requiredApprovals: 3 });
    expect(policyFor(rules, 'staging', false).protected).toBe(true);
    expect(policyFor(rules, 'staging', false).requiredApprovals).toBeUndefined();
    expect(policyFor(rules, 'development', false)).toEqual({ protected: false, approvalWindowMs: 60_000, allowSelfApproval: false, selfHeal: false });
  });

  it('protected and self-heal lists take patterns too', () => {
    const patterned = { ...settings(undefined), protectedEnvironments: ['prod*'], selfHealEnvironments: ['feature*'] };
    expect(policyFor(patterned, 'prod-us', false).protected).toBe(true);
    expect(policyFor(patterned, 'featureX', false).selfHeal).toBe(true);
    expect(policyFor(patterned, 'development', false)).toMatchObject({ protected: false, selfHeal: false });
  });

  it('a config may ask for approvals from 1 to 10, and says where when it asks for something else', () => {
    expect(parseEnvironmentConfig('appVersion: "1"\nrequiredApprovals: 2\n', 'prod/config.yaml', 'prod').requiredApprovals).toBe(2);
    expect(() => parseEnvironmentConfig('appVersion: "1"\nrequiredApprovals: 0\n', 'prod/config.yaml', 'prod')).toThrow("prod/config.yaml:2: requiredApprovals: at least 1");
    expect(() => parseEnvironmentConfig('appVersion: "1"\nrequiredApprovals: 1.5\n', 'prod/config.yaml', 'prod')).toThrow("prod/config.yaml:2: requiredApprovals: a whole number of people");
  });
});
