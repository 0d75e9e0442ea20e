import { parseEnvironmentConfig, parseRepoSettings } from '../../common/config';
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
    expect(error.reason).toBe('the file: unknown key "region"; allowed keys are appVersion, artifact, parameters, protected, description');
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

describe('parseRepoSettings', () => {
  const defaults = { stackPrefix: 'cfn-gitops-', artifactBucket: 'cfn-gitops-artifacts', protectedEnvironments: [] };

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
    expect(error.reason).toBe('the file: unknown key "stackprefix"; allowed keys are stackPrefix, region, artifactBucket, protectedEnvironments');
  });

  it('reports YAML that does not parse with its line', () => {
    const error = settingsError('stackPrefix: acme-\nprotectedEnvironments:\n\t- prod\n');
    expect(error.file).toBe('common/gitops.yaml');
    expect(error.line).toBe(3);
    expect(error.reason).toBe('not valid YAML: Tabs are not allowed as indentation');
  });
});
