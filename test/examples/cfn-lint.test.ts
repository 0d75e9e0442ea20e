import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { BOOTSTRAP_BUCKET } from '../../common/bootstrap';
import { parseEnvironmentConfig, parseRepoSettings } from '../../common/config';
import { environmentsIn, plan } from '../../common/plan';
import { EXAMPLE_REPO, ROOT, exampleSnapshot, readTemplate } from './example-files';

/** cfn-lint as `scripts/setup.sh` installs it, else the one on PATH. */
function cfnLintCommand(): string {
  const local = path.join(ROOT, '.tools', 'venv', 'bin', 'cfn-lint');
  if (existsSync(local)) return local;
  if (spawnSync('cfn-lint', ['--version']).status === 0) return 'cfn-lint';
  throw new Error('cfn-lint is not installed: run `bash scripts/setup.sh` (it installs it into .tools/venv)');
}

/** One cfn-lint finding, as `--format json` reports it. */
interface Finding {
  Level: 'Error' | 'Warning' | 'Informational';
  Message: string;
  Rule: { Id: string };
  Location: { Start: { LineNumber: number } };
}

const read = (file: string) => readFileSync(path.join(EXAMPLE_REPO, file), 'utf8');
const region = parseRepoSettings(read('common/gitops.yaml'), 'common/gitops.yaml').region ?? 'us-east-1';

describe.each(['pipeline.yaml', 'environment.yaml'])('cfn-lint on common/%s', (file) => {
  it(`finds nothing in ${region}: no errors, no warnings`, () => {
    const result = spawnSync(cfnLintCommand(), ['--format', 'json', '--regions', region, '--', path.join(EXAMPLE_REPO, 'common', file)], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(result.error).toBeUndefined();
    expect(result.stderr).toBe('');
    const findings = JSON.parse(result.stdout) as Finding[];
    const lines = findings.map((f) => `${f.Rule.Id} (${f.Level}) ${file}:${f.Location.Start.LineNumber} ${f.Message}`);
    expect(lines.filter((line) => /^E/.test(line))).toEqual([]);
    expect(lines).toEqual([]);
    expect(result.status).toBe(0);
  });
});

describe('cfn-lint on examples/iam/worker-role.yaml', () => {
  const file = path.join(ROOT, 'examples', 'iam', 'worker-role.yaml');

  it('finds nothing: no errors, no warnings', () => {
    const result = spawnSync(cfnLintCommand(), ['--format', 'json', '--regions', region, '--', file], { encoding: 'utf8', timeout: 120_000 });
    expect(result.error).toBeUndefined();
    expect(JSON.parse(result.stdout)).toEqual([]);
    expect(result.status).toBe(0);
  });

  it('grants nothing outside the installation: every resource is scoped to the stack prefix, the bootstrap stack or the artifact bucket, except the calls that take none', () => {
    const text = readFileSync(file, 'utf8');
    const wildcards = text.split('\n').filter((line) => /Resource: '\*'/.test(line));
    expect(wildcards).toHaveLength(1);
    expect(text).toMatch(/Sid: StacksWithoutResource[\s\S]*cloudformation:ValidateTemplate[\s\S]*Resource: '\*'/);
    expect(text).toMatch(/iam:PassedToService:/);
  });
});

describe('the example configs', () => {
  const files = Object.keys(exampleSnapshot().files).filter((file) => file.endsWith('/config.yaml'));
  const declared = Object.keys(readTemplate('pipeline.yaml').Parameters);

  it('are development, featureX and prod', () => {
    expect([...environmentsIn(exampleSnapshot().files)].sort()).toEqual(['development', 'featureX', 'prod']);
    expect(files.sort()).toEqual(['development/config.yaml', 'featureX/config.yaml', 'prod/config.yaml']);
  });

  it.each([
    ['development', '1.4.2', 't3.micro'],
    ['featureX', '1.5.0-beta.1', 't3.micro'],
    ['prod', '1.4.1', 't3.small'],
  ])('%s/config.yaml parses with the project schema: app %s on %s', (environment, appVersion, instanceType) => {
    const file = `${environment}/config.yaml`;
    const config = parseEnvironmentConfig(read(file), file, environment);
    expect(config.appVersion).toBe(appVersion);
    expect(config.parameters).toEqual({ InstanceType: instanceType });
    expect(config.description).toEqual(expect.any(String));
    // The worker refuses a config parameter that pipeline.yaml does not declare.
    for (const name of Object.keys(config.parameters)) expect(declared).toContain(name);
  });

  it('write every version in quotes, so that YAML cannot turn one into a number', () => {
    for (const file of files) expect(read(file)).toMatch(/^appVersion: "[^"]+"$/m);
  });

  it('common/gitops.yaml gives the documented settings', () => {
    expect(parseRepoSettings(read('common/gitops.yaml'), 'common/gitops.yaml')).toEqual({
      stackPrefix: 'cfn-gitops-',
      region: 'us-east-1',
      // No artifactBucket: the bootstrap stack's bucket, looked up by the worker.
      artifactBucket: BOOTSTRAP_BUCKET,
      protectedEnvironments: [],
    });
  });
});

describe('the first push of the example', () => {
  const snapshot = exampleSnapshot();
  const result = plan({ after: snapshot });

  it('syncs development, featureX and prod, with no errors', () => {
    expect(result.environments.map((e) => `${e.environment} ${e.action} (${e.reason})`)).toEqual([
      'development sync (first push)',
      'featureX sync (first push)',
      'prod sync (first push)',
    ]);
    expect(result.environments.filter((e) => e.error).map((e) => e.error)).toEqual([]);
    expect(result.notes).toEqual(['first push: every environment in the tree is synced']);
  });

  it('hands each workflow its version, the templates and the repo settings; prod is protected by the orchestrator, not the repo', () => {
    expect(result.environments.map((e) => [e.environment, e.desired?.config?.appVersion, e.desired?.repoProtected])).toEqual([
      ['development', '1.4.2', false],
      ['featureX', '1.5.0-beta.1', false],
      ['prod', '1.4.1', false],
    ]);
    for (const entry of result.environments) {
      expect(entry.desired?.commit.sha).toBe(snapshot.commit.sha);
      expect(entry.desired?.templates).toEqual({ pipeline: read('common/pipeline.yaml'), environment: read('common/environment.yaml') });
      expect(entry.desired?.settings.artifactBucket).toBe(BOOTSTRAP_BUCKET);
    }
  });
});
