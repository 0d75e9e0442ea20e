import { environmentNameProblem, printableName, quoteName } from '../../common/names';

describe('environment names in messages', () => {
  it('accepts names that follow the rule and explains the rule and the fix for the others', () => {
    expect(environmentNameProblem('prod')).toBeUndefined();
    expect(environmentNameProblem('feature-X1')).toBeUndefined();
    for (const name of ['../x', '.', '', 'common/x', 'café', '1prod', 'a'.repeat(65), 'a\nb']) {
      const problem = environmentNameProblem(name);
      expect(problem).toContain(`${JSON.stringify(name)} is not an environment name`);
      expect(problem).toContain('letters, digits and hyphens, starting with a letter');
      expect(problem).toContain('e.g. prod');
      expect(problem).not.toMatch(/\n/);
    }
  });

  it('quotes a name so that it stays on one line and cannot steer a terminal', () => {
    expect(quoteName('a\nb\tc"d\\e')).toBe('"a\\nb\\tc\\"d\\\\e"');
    expect(quoteName('esc\u001b[2Jcsi\u009bdel\u007fls\u2028ps\u2029')).toBe('"esc\\u001b[2Jcsi\\u009bdel\\u007fls\\u2028ps\\u2029"');
  });

  it('prints plain names as they are and quotes the rest', () => {
    expect(printableName('prod')).toBe('prod');
    expect(printableName('common/pipeline.yaml')).toBe('common/pipeline.yaml');
    expect(printableName('café')).toBe('"café"');
    expect(printableName('x y')).toBe('"x y"');
    expect(printableName('')).toBe('""');
  });
});
