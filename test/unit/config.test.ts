import { keyLine, parseEnvironmentConfig, parseRepoSettings, utf8Length } from '../../common/config';
import { ORCHESTRATOR_PARAMETERS } from '../../common/names';
import { ConfigError } from '../../common/errors';

/** The ConfigError a config text raises; fails the test when it parses. */
function errorOf(parse: () => unknown): ConfigError {
  try {
    parse();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError, but the file parsed');
}

const prodError = (text: string) => errorOf(() => parseEnvironmentConfig(text, 'prod/config.yaml', 'prod'));
const settingsError = (text: string) => errorOf(() => parseRepoSettings(text, 'common/gitops.yaml'));

describe('parseEnvironmentConfig', () => {
  it('returns the validated config with every field a user can write', () => {
    const text = [
      '# promoted from development',
      'appVersion: "1.4.2"',
      'description: Production shop',
      'protected: true',
      'artifact:',
      '  bucket: shop-artifacts',
      '  key: shop/1.4.2.zip',
      'parameters:',
      '  InstanceType: t3.small',
      '',
    ].join('\n');
    expect(parseEnvironmentConfig(text, 'prod/config.yaml', 'prod')).toEqual({
      appVersion: '1.4.2',
      description: 'Production shop',
      protected: true,
      artifact: { bucket: 'shop-artifacts', key: 'shop/1.4.2.zip' },
      parameters: { InstanceType: 't3.small' },
    });
  });

  it('defaults parameters to an empty map', () => {
    expect(parseEnvironmentConfig('appVersion: v7\n', 'dev/config.yaml', 'dev')).toEqual({ appVersion: 'v7', parameters: {} });
  });

  it('passes numbers and booleans in parameters to CloudFormation as the strings written', () => {
    const text = 'appVersion: 1.0.0\nparameters:\n  MinSize: 2\n  Public: true\n  Ratio: 1.50\n  Mask: 0x1F\n';
    expect(parseEnvironmentConfig(text, 'prod/config.yaml', 'prod').parameters).toEqual({
      MinSize: '2',
      Public: 'true',
      Ratio: '1.50',
      Mask: '0x1F',
    });
  });

  it.each([
    ['1.10', '1.10'],
    ['2.0', '2.0'],
    ['42', '42'],
    ['"007"', '007'],
  ])('keeps appVersion %s as the version %s, not as a rounded number', (written, version) => {
    expect(parseEnvironmentConfig(`appVersion: ${written}\n`, 'prod/config.yaml', 'prod').appVersion).toBe(version);
  });

  it('reports YAML that does not parse with the file, the line of the error and the environment', () => {
    const error = prodError('appVersion: 1.0.0\nparameters:\n  Tier: web\n  Name: @web\n');
    expect(error.file).toBe('prod/config.yaml');
    expect(error.environment).toBe('prod');
    expect(error.line).toBe(4);
    expect(error.message).toBe('prod/config.yaml:4: not valid YAML: Plain value cannot start with reserved character @');
  });

  it('reports a key written twice at its second occurrence', () => {
    const error = prodError('appVersion: 1.0.0\ndescription: shop\nappVersion: 1.1.0\n');
    expect(error.line).toBe(3);
    expect(error.reason).toBe('not valid YAML: Map keys must be unique');
  });

  it('reports a missing appVersion as required', () => {
    const error = prodError('description: shop\nparameters:\n  Tier: web\n');
    expect(error.reason).toBe('appVersion: is required');
    expect(error.line).toBe(1);
    expect(error.message).toBe('prod/config.yaml:1: appVersion: is required');
  });

  it('reports an empty file as missing appVersion', () => {
    expect(prodError('').message).toBe('prod/config.yaml:1: appVersion: is required');
    expect(prodError('# nothing yet\n').reason).toBe('appVersion: is required');
  });

  it('refuses an empty or non-scalar appVersion', () => {
    expect(prodError('appVersion: ""\n').reason).toBe('appVersion: appVersion must not be empty');
    const listed = prodError('description: shop\nappVersion:\n  - 1.0.0\n');
    expect(listed.line).toBe(2);
    expect(listed.reason).toContain('appVersion: ');
    expect(listed.reason).toContain('expected string');
  });

  it('names an unknown key, its line and the allowed keys', () => {
    const error = prodError('appVersion: 1.0.0\n\nregion: eu-west-1\n');
    expect(error.line).toBe(3);
    expect(error.reason).toBe('the file: unknown key "region"; allowed keys are appVersion, artifact, parameters, protected, requiredApprovals, expires, ttl, description');
  });

  it('names the allowed keys of the nested object holding an unknown key', () => {
    const error = prodError('appVersion: 1.0.0\nartifact:\n  bucket: b\n  tag: latest\n');
    expect(error.line).toBe(4);
    expect(error.reason).toBe('artifact: unknown key "tag"; allowed keys are bucket, key, image');
  });

  it('reports a parameter of the wrong type at the line of its key', () => {
    const error = prodError('appVersion: 1.0.0\nparameters:\n  Tier: web\n  Scaling:\n    Min: 1\n    Max: 3\n');
    expect(error.line).toBe(4);
    expect(error.reason).toBe('parameters.Scaling: Invalid input: expected string, received object');
  });

  it('reports a parameter list value at its line', () => {
    const error = prodError('appVersion: 1.0.0\nparameters:\n  Subnets: [a, b]\n');
    expect(error.line).toBe(3);
    expect(error.reason).toContain('parameters.Subnets: ');
  });

  it('refuses parameter names CloudFormation would not accept', () => {
    const error = prodError('appVersion: 1.0.0\nparameters:\n  Tier: web\n  instance_type: t3.small\n');
    expect(error.line).toBe(4);
    expect(error.reason).toBe('parameters.instance_type: parameter names are alphanumeric');
  });

  it('refuses protected written as anything but a boolean', () => {
    const error = prodError('appVersion: 1.0.0\nprotected: yes\n');
    expect(error.line).toBe(2);
    expect(error.reason).toBe('protected: Invalid input: expected boolean, received string');
  });

  it('refuses a file that is not a map', () => {
    expect(prodError('- appVersion: 1.0.0\n').reason).toBe('the file: Invalid input: expected object, received array');
  });
});

describe('what a config may not set (an environment owns its derived names)', () => {
  it.each(ORCHESTRATOR_PARAMETERS.map((name) => [name]))('refuses %s in parameters at its line, saying cfn-gitops sets it', (name) => {
    const error = prodError(`appVersion: 1.0.0\nparameters:\n  InstanceType: t3.small\n  ${name}: anything\n`);
    expect(error.file).toBe('prod/config.yaml');
    expect(error.line).toBe(4);
    expect(error.reason).toMatch(new RegExp(`^parameters\\.${name}: ${name} is set by cfn-gitops; remove it \\(.+\\)$`));
  });

  it('names the fix: the names come from the folder, the version from appVersion', () => {
    expect(prodError('appVersion: 1.0.0\nparameters:\n  EnvironmentStackName: cfn-gitops-prod\n').message).toBe(
      "prod/config.yaml:3: parameters.EnvironmentStackName: EnvironmentStackName is set by cfn-gitops; remove it (an environment's stacks and pipeline are named from its folder and stackPrefix in common/gitops.yaml; use appVersion/artifact for the version)",
    );
    expect(prodError('appVersion: 1.0.0\nparameters:\n  AppVersion: 2.0.0\n').reason).toBe('parameters.AppVersion: AppVersion is set by cfn-gitops; remove it (set the version with appVersion)');
    expect(prodError('appVersion: 1.0.0\nparameters:\n  ArtifactKey: a.zip\n').reason).toBe('parameters.ArtifactKey: ArtifactKey is set by cfn-gitops; remove it (use artifact.key)');
  });

  it('refuses a reserved name written in another case', () => {
    expect(prodError('appVersion: 1.0.0\nparameters:\n  environmentstackname: x\n').reason).toContain('EnvironmentStackName is set by cfn-gitops');
  });
});

describe('sizes', () => {
  it('counts UTF-8 bytes as AWS does', () => {
    expect(utf8Length('abc')).toBe(3);
    expect(utf8Length('é')).toBe(2);
    expect(utf8Length('€')).toBe(3);
    expect(utf8Length('😀')).toBe(4);
  });

  it('refuses a config file over 64 KB before parsing it, naming the size and the limit', () => {
    const error = prodError(`appVersion: 1.0.0\ndescription: ${'x'.repeat(10 * 1024 * 1024)}\n`);
    expect(error.line).toBeUndefined();
    expect(error.reason).toBe('the file is 10,485,792 bytes; a config file holds at most 65,536 bytes (64 KB): keep large data out of it (templates go in common/, artifacts in S3)');
    expect(settingsError(`# ${'x'.repeat(65_536)}\n`).reason).toContain('at most 65,536 bytes');
  });

  it('takes values at their limits and refuses one more, at the line of the key', () => {
    const ok = parseEnvironmentConfig(
      `appVersion: "${'1'.repeat(1_000)}"\ndescription: ${'d'.repeat(1_000)}\nparameters:\n  Value: ${'é'.repeat(2_048)}\n`,
      'prod/config.yaml',
      'prod',
    );
    expect(ok.appVersion).toHaveLength(1_000);
    expect(prodError(`appVersion: 1.0.0\ndescription: ${'d'.repeat(1_001)}\n`)).toMatchObject({ line: 2, reason: 'description: at most 1,000 characters (this one has 1,001); shorten it' });
    expect(prodError(`appVersion: "${'1'.repeat(1_001)}"\n`).reason).toBe(
      "appVersion: at most 1,000 characters, CodePipeline's limit on the AppVersion variable (this one has 1,001); shorten it",
    );
    expect(prodError(`appVersion: 1.0.0\nparameters:\n  Value: ${'é'.repeat(2_049)}\n`)).toMatchObject({
      line: 3,
      reason: "parameters.Value: at most 4,096 bytes, CloudFormation's limit on a parameter value (this one has 4,098); shorten it",
    });
    expect(prodError(`appVersion: 1.0.0\nparameters:\n  ${'P'.repeat(256)}: x\n`).reason).toContain("at most 255 characters, CloudFormation's limit on a parameter name");
    expect(prodError(`appVersion: 1.0.0\nartifact:\n  bucket: ${'b'.repeat(64)}\n`).reason).toContain('artifact.bucket: at most 63 characters');
  });

  it('refuses more parameters than a template can declare', () => {
    const many = Array.from({ length: 201 }, (_, i) => `  P${i}: x`).join('\n');
    expect(prodError(`appVersion: 1.0.0\nparameters:\n${many}\n`)).toMatchObject({ line: 2, reason: "parameters: at most 200 parameters (CloudFormation's limit per template)" });
  });
});

describe('keyLine', () => {
  it('finds the line of a top-level key, or nothing', () => {
    expect(keyLine('# settings\n\nstackPrefix: acme-\n', 'stackPrefix')).toBe(3);
    expect(keyLine('region: eu-west-1\n', 'stackPrefix')).toBeUndefined();
    expect(keyLine('- a\n', 'stackPrefix')).toBeUndefined();
    expect(keyLine(undefined, 'stackPrefix')).toBeUndefined();
  });
});

describe('parseRepoSettings', () => {
  // No artifactBucket means the bootstrap stack's bucket, which the worker looks up per region.
  const defaults = { stackPrefix: 'cfn-gitops-', artifactBucket: 'cfn-gitops-bootstrap:ArtifactBucket', protectedEnvironments: [] };

  it('gives the defaults when common/gitops.yaml is absent or empty', () => {
    expect(parseRepoSettings(undefined, 'common/gitops.yaml')).toEqual(defaults);
    expect(parseRepoSettings('', 'common/gitops.yaml')).toEqual(defaults);
    expect(parseRepoSettings('# defaults are fine\n', 'common/gitops.yaml')).toEqual(defaults);
  });

  it('reads every setting', () => {
    const text = 'stackPrefix: acme-\nregion: eu-west-1\nartifactBucket: acme-artifacts\nprotectedEnvironments:\n  - prod\n  - staging\n';
    expect(parseRepoSettings(text, 'common/gitops.yaml')).toEqual({
      stackPrefix: 'acme-',
      region: 'eu-west-1',
      artifactBucket: 'acme-artifacts',
      protectedEnvironments: ['prod', 'staging'],
    });
  });

  it('refuses a stack prefix that cannot start a stack name, at its line, with no environment', () => {
    const error = settingsError('region: eu-west-1\nstackPrefix: 9lives\n');
    expect(error.file).toBe('common/gitops.yaml');
    expect(error.environment).toBeUndefined();
    expect(error.line).toBe(2);
    expect(error.message).toBe('common/gitops.yaml:2: stackPrefix: stackPrefix starts with a letter and holds letters, digits and hyphens');
  });

  it('refuses a region that does not look like one', () => {
    expect(settingsError('region: Ireland\n').reason).toBe('region: region looks like eu-west-1');
  });

  it('refuses protectedEnvironments written as a single name', () => {
    const error = settingsError('stackPrefix: acme-\nprotectedEnvironments: prod\n');
    expect(error.line).toBe(2);
    expect(error.reason).toBe('protectedEnvironments: Invalid input: expected array, received string');
  });

  it('names an unknown key with the keys of common/gitops.yaml, not those of an environment config', () => {
    const error = settingsError('stackPrefix: acme-\nstackprefix: acme-\n');
    expect(error.line).toBe(2);
    expect(error.reason).toBe('the file: unknown key "stackprefix"; allowed keys are stackPrefix, region, artifactBucket, protectedEnvironments, waves, bake, freeze');
  });

  describe('freeze', () => {
    const windows = [
      'freeze:',
      '  - environments: [prod, "staging*"]',
      '    reason: year-end',
      '    start: 2026-12-20T00:00:00Z',
      '    end: 2027-01-02T00:00:00Z',
      '  - environments: [prod]',
      '    reason: weekend',
      '    cron: "0 18 * * 5"',
      '    duration: 62h',
      '',
    ];
    const yearEnd = { environments: ['prod', 'staging*'], reason: 'year-end', start: '2026-12-20T00:00:00.000Z', end: '2027-01-02T00:00:00.000Z' };
    const weekend = { environments: ['prod'], reason: 'weekend', cron: '0 18 * * 5', durationMs: 62 * 3_600_000 };

    it('reads one-off and weekly windows as CFN_GITOPS_FREEZE does, with unquoted times', () => {
      expect(parseRepoSettings(windows.join('\n'), 'common/gitops.yaml').freeze).toEqual([yearEnd, weekend]);
      expect(parseRepoSettings('stackPrefix: acme-\n', 'common/gitops.yaml').freeze).toBeUndefined();
    });

    it('reads times YAML 1.1 or !!timestamp makes dates of', () => {
      expect(parseRepoSettings(['%YAML 1.1', '---', ...windows.slice(0, 5)].join('\n'), 'common/gitops.yaml').freeze).toEqual([yearEnd]);
      const tagged = windows.slice(0, 5).join('\n').replace('start: ', 'start: !!timestamp ');
      expect(parseRepoSettings(tagged, 'common/gitops.yaml').freeze).toEqual([yearEnd]);
    });

    it('refuses a window that does not read, at the line of the field to fix', () => {
      const error = settingsError(windows.join('\n').replace('start: 2026-12-20T00:00:00Z', 'start: next friday'));
      expect(error.file).toBe('common/gitops.yaml');
      expect(error.environment).toBeUndefined();
      expect(error.line).toBe(4);
      expect(error.message).toBe('common/gitops.yaml:4: freeze.0.start: start and end are ISO-8601 times, e.g. 2026-12-20T00:00:00Z (or give cron and duration)');
    });

    it.each([
      ['a weekly rule that is not one', (t: string) => t.replace('"0 18 * * 5"', '"0 18 1 * 5"'), 8, 'freeze.1.cron: "0 18 1 * 5" is not a weekly rule: write "minute hour * * day-of-week" in UTC, e.g. "0 18 * * 5" for Fridays at 18:00'],
      ['a weekly window without a duration', (t: string) => t.replace('    duration: 62h\n', ''), 6, 'freeze.1.duration: a weekly window needs a duration such as 62h or 2d'],
      ['a duration past a week', (t: string) => t.replace('62h', '8d'), 9, 'freeze.1.duration: duration is more than 0 and at most 7d'],
      ['an end before the start', (t: string) => t.replace('2027-01-02', '2026-12-01'), 5, 'freeze.0.end: end comes after start'],
      ['a reason of 2,001 characters', (t: string) => t.replace('reason: year-end', `reason: ${'x'.repeat(2_001)}`), 3, 'freeze.0.reason: reason is at most 2,000 characters'],
      ['no reason', (t: string) => t.replace('    reason: year-end\n', ''), 2, 'freeze.0.reason: reason says why the environments are frozen'],
      ['an environment that is no name', (t: string) => t.replace('[prod, "staging*"]', '["../prod"]'), 2, 'freeze.0.environments: environments is a list of names or patterns, e.g. ["prod", "staging*"]'],
      ['one window instead of a list', () => 'stackPrefix: acme-\nfreeze:\n  environments: [prod]\n  reason: r\n', 2, 'freeze: a list of windows, e.g. [{"environments":["prod"],"reason":"year-end","start":"2026-12-20T00:00:00Z","end":"2027-01-02T00:00:00Z"}]'],
    ])('refuses %s, naming the file, the line and the fix', (_name, change, line, reason) => {
      const error = settingsError(change(windows.join('\n')));
      expect(error.file).toBe('common/gitops.yaml');
      expect(error.line).toBe(line);
      expect(error.reason).toBe(reason);
    });
  });

  it('reports YAML that does not parse with its line', () => {
    const error = settingsError('stackPrefix: acme-\nprotectedEnvironments:\n\t- prod\n');
    expect(error.file).toBe('common/gitops.yaml');
    expect(error.line).toBe(3);
    expect(error.reason).toBe('not valid YAML: Tabs are not allowed as indentation');
  });
});
