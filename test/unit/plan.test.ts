import { BOOTSTRAP_BUCKET } from '../../common/bootstrap';
import { environmentsIn, plan, type Plan, type PlannedEnvironment } from '../../common/plan';
import { commit, config, snapshot, TEMPLATES } from '../support/fixtures';

const BEFORE = commit('b0', 10);
const AFTER = commit('a1', 11);

/** The plan's entries as `env action (reason)`, the line a user reads in `cfn-gitops plan`. */
function summary(result: Plan): string[] {
  return result.environments.map((e) => `${e.environment} ${e.action} (${e.reason})`);
}

function entry(result: Plan, environment: string): PlannedEnvironment {
  const found = result.environments.find((e) => e.environment === environment);
  if (!found) throw new Error(`${environment} is not in the plan: ${summary(result).join('; ')}`);
  return found;
}

describe('which folders are environments', () => {
  const files = snapshot({
    'prod/config.yaml': config('1.0.0'),
    'development/config.yaml': config('1.1.0'),
    'common/config.yaml': config('9.9.9'),
    '.github/config.yaml': config('9.9.9'),
    '.github/workflows/deploy.yml': 'on: push\n',
    'docs/README.md': '# docs\n',
    'nested/deeper/config.yaml': config('9.9.9'),
    'config.yaml': config('9.9.9'),
  }).files;

  it('counts top-level folders holding config.yaml, but not common/, dot-folders or folders without one', () => {
    expect([...environmentsIn(files)].sort()).toEqual(['development', 'prod']);
  });

  it('plans only those folders on a first push', () => {
    expect(summary(plan({ after: snapshot(files, AFTER) }))).toEqual(['development sync (first push)', 'prod sync (first push)']);
  });

  it('ignores pushes that change only files outside environments', () => {
    const before = snapshot({ 'prod/config.yaml': config('1.0.0') }, BEFORE);
    const after = snapshot({ 'prod/config.yaml': config('1.0.0'), 'README.md': 'hi\n' }, AFTER);
    const result = plan({ before, after, changes: [{ path: 'README.md' }, { path: '.github/workflows/deploy.yml' }, { path: 'docs/x.md' }] });
    expect(result.environments).toEqual([]);
    expect(result.notes).toEqual([]);
  });
});

describe('what a push means (DESIGN §2)', () => {
  it('syncs an added folder with the validated config, the commit, the templates and the default settings', () => {
    const before = snapshot({ 'prod/config.yaml': config('1.0.0') }, BEFORE);
    const after = snapshot({ 'prod/config.yaml': config('1.0.0'), 'featureX/config.yaml': config('2.0.0-rc1', 'parameters:', '  InstanceType: t3.small') }, AFTER);

    const result = plan({ before, after, changes: [{ path: 'featureX/config.yaml' }] });

    expect(result.before).toBe(BEFORE.sha);
    expect(result.after).toBe(AFTER.sha);
    expect(summary(result)).toEqual(['featureX sync (added)']);
    const featureX = entry(result, 'featureX');
    expect(featureX.error).toBeUndefined();
    expect(featureX.desired).toEqual({
      environment: 'featureX',
      action: 'sync',
      commit: AFTER,
      reason: 'added',
      settings: { stackPrefix: 'cfn-gitops-', artifactBucket: BOOTSTRAP_BUCKET, protectedEnvironments: [] },
      config: { appVersion: '2.0.0-rc1', parameters: { InstanceType: 't3.small' } },
      templates: { pipeline: TEMPLATES['common/pipeline.yaml'], environment: TEMPLATES['common/environment.yaml'] },
      repoProtected: false,
    });
  });

  it('syncs an environment whose config changed with the new version, and leaves the others alone', () => {
    const before = snapshot({ 'prod/config.yaml': config('1.0.0'), 'development/config.yaml': config('1.1.0') }, BEFORE);
    const after = snapshot({ 'prod/config.yaml': config('1.1.0'), 'development/config.yaml': config('1.1.0') }, AFTER);

    const result = plan({ before, after, changes: [{ path: 'prod/config.yaml' }] });

    expect(summary(result)).toEqual(['prod sync (config changed)']);
    expect(entry(result, 'prod').desired?.config?.appVersion).toBe('1.1.0');
    expect(entry(result, 'prod').desired?.reason).toBe('config changed');
  });

  it("syncs an environment when another file under its folder changed, with reason 'files changed'", () => {
    const files = { 'prod/config.yaml': config('1.0.0'), 'development/config.yaml': config('1.1.0') };
    const result = plan({
      before: snapshot(files, BEFORE),
      after: snapshot({ ...files, 'prod/notes.md': 'rotated keys\n' }, AFTER),
      changes: [{ path: 'prod/notes.md' }],
    });
    expect(summary(result)).toEqual(['prod sync (files changed)']);
    expect(entry(result, 'prod').desired?.config?.appVersion).toBe('1.0.0');
  });

  it('deletes a removed folder with the settings of the tree before the push', () => {
    // The stacks were created under the old prefix; renaming the prefix in the same push must not orphan them.
    const before = snapshot(
      { 'common/gitops.yaml': 'stackPrefix: acme-\n', 'prod/config.yaml': config('1.0.0'), 'featureX/config.yaml': config('2.0.0') },
      BEFORE,
    );
    const after = snapshot({ 'common/gitops.yaml': 'stackPrefix: shop-\n', 'prod/config.yaml': config('1.0.0') }, AFTER);

    const result = plan({
      before,
      after,
      changes: [{ path: 'common/gitops.yaml' }, { path: 'featureX/config.yaml' }, { path: 'featureX/README.md' }],
    });

    expect(summary(result)).toEqual(['featureX delete (removed)', 'prod sync (common/ changed)']);
    // prod's own sync would move it onto new names: refused (see "names an environment owns").
    expect(entry(result, 'prod').error).toMatchObject({ file: 'common/gitops.yaml', line: 1 });
    const featureX = entry(result, 'featureX');
    expect(featureX.error).toBeUndefined();
    expect(featureX.desired).toEqual({
      environment: 'featureX',
      action: 'delete',
      commit: AFTER,
      reason: 'removed',
      settings: { stackPrefix: 'acme-', artifactBucket: BOOTSTRAP_BUCKET, protectedEnvironments: [] },
      repoProtected: false,
    });
  });

  it('deletes a removed folder even when its old config was invalid', () => {
    const before = snapshot({ 'prod/config.yaml': config('1.0.0'), 'old/config.yaml': 'appVersion: [\n' }, BEFORE);
    const after = snapshot({ 'prod/config.yaml': config('1.0.0') }, AFTER);
    const result = plan({ before, after, changes: [{ path: 'old/config.yaml' }] });
    expect(summary(result)).toEqual(['old delete (removed)']);
    expect(entry(result, 'old').error).toBeUndefined();
    expect(entry(result, 'old').desired?.settings.stackPrefix).toBe('cfn-gitops-');
  });

  it('deletes a folder whose config.yaml was removed while other files stay', () => {
    const before = snapshot({ 'prod/config.yaml': config('1.0.0'), 'prod/README.md': 'x\n' }, BEFORE);
    const after = snapshot({ 'prod/README.md': 'x\n' }, AFTER);
    expect(summary(plan({ before, after, changes: [{ path: 'prod/config.yaml' }] }))).toEqual(['prod delete (removed)']);
  });

  it('deletes the old name and syncs the new one when a folder is renamed', () => {
    const moved = config('3.2.1', 'parameters:', '  Tier: web');
    const before = snapshot({ 'prod/config.yaml': config('1.0.0'), 'featureX/config.yaml': moved }, BEFORE);
    const after = snapshot({ 'prod/config.yaml': config('1.0.0'), 'feature-x/config.yaml': moved }, AFTER);

    const result = plan({ before, after, changes: [{ path: 'feature-x/config.yaml', from: 'featureX/config.yaml' }] });

    expect(summary(result)).toEqual(['feature-x sync (renamed from featureX)', 'featureX delete (renamed to feature-x)']);
    expect(entry(result, 'feature-x').desired).toMatchObject({ action: 'sync', reason: 'renamed from featureX', config: { appVersion: '3.2.1' } });
    expect(entry(result, 'featureX').desired).toMatchObject({ action: 'delete', reason: 'renamed to feature-x' });
  });

  it('syncs every environment with a note when a common/ template changed', () => {
    const envs = { 'prod/config.yaml': config('1.0.0'), 'development/config.yaml': config('1.1.0'), 'staging/config.yaml': config('1.0.5') };
    const before = snapshot(envs, BEFORE);
    const after = snapshot({ ...envs, 'common/pipeline.yaml': 'Description: pipeline v2\nResources: {}\n' }, AFTER);

    const result = plan({ before, after, changes: [{ path: 'common/pipeline.yaml' }] });

    expect(summary(result)).toEqual([
      'development sync (common/ changed)',
      'prod sync (common/ changed)',
      'staging sync (common/ changed)',
    ]);
    expect(result.notes).toEqual(['common/ changed: every environment is synced']);
    expect(entry(result, 'prod').desired?.templates?.pipeline).toBe('Description: pipeline v2\nResources: {}\n');
  });

  it('keeps the more specific reason for an environment whose config changed in the same push as common/', () => {
    const before = snapshot({ 'prod/config.yaml': config('1.0.0'), 'development/config.yaml': config('1.1.0') }, BEFORE);
    const after = snapshot(
      { 'prod/config.yaml': config('1.0.0'), 'development/config.yaml': config('1.2.0'), 'common/environment.yaml': 'Resources: {}\n' },
      AFTER,
    );
    const result = plan({ before, after, changes: [{ path: 'common/environment.yaml' }, { path: 'development/config.yaml' }] });
    expect(summary(result)).toEqual(['development sync (config changed)', 'prod sync (common/ changed)']);
  });

  it('syncs every environment in the tree with a note on the first push', () => {
    const after = snapshot({ 'prod/config.yaml': config('1.0.0'), 'development/config.yaml': config('1.1.0') }, AFTER);

    const result = plan({ after });

    expect(result.before).toBeUndefined();
    expect(result.notes).toEqual(['first push: every environment in the tree is synced']);
    expect(summary(result)).toEqual(['development sync (first push)', 'prod sync (first push)']);
    expect(entry(result, 'development').desired?.config?.appVersion).toBe('1.1.0');
  });

  it('plans a force push from the after tree and keeps the notes of the shell', () => {
    const note = 'before b000000 is not in the history (force push): planning from the after tree';
    const after = snapshot({ 'prod/config.yaml': config('1.0.0'), 'development/config.yaml': config('1.1.0') }, AFTER);

    const result = plan({ after, notes: [note] });

    expect(result.notes).toEqual([note]);
    expect(summary(result)).toEqual(['development sync (planned from the after tree)', 'prod sync (planned from the after tree)']);
    expect(entry(result, 'prod').desired?.reason).toBe('planned from the after tree');
  });

  it('plans from the after tree when the before tree is known but there is no diff', () => {
    const before = snapshot({ 'prod/config.yaml': config('1.0.0'), 'old/config.yaml': config('0.1.0') }, BEFORE);
    const after = snapshot({ 'prod/config.yaml': config('1.0.0') }, AFTER);

    const result = plan({ before, after });

    expect(summary(result)).toEqual(['prod sync (planned from the after tree)']);
    expect(result.notes).toEqual(['no diff: every environment in the after tree is synced']);
  });

  it('gives the same plan, sorted by environment, whatever the order of files and changes', () => {
    const beforeFiles = { 'zeta/config.yaml': config('1'), 'beta/config.yaml': config('1'), 'delta/config.yaml': config('4') };
    const afterFiles = { 'zeta/config.yaml': config('2'), 'alpha/config.yaml': config('3'), 'beta/config.yaml': config('1'), 'gamma/config.yaml': config('7') };
    const changes = [
      { path: 'zeta/config.yaml' },
      { path: 'alpha/config.yaml' },
      { path: 'delta/config.yaml' },
      { path: 'gamma/config.yaml' },
      { path: 'beta/a.txt' },
    ];
    const reversed = (files: Record<string, string>) => Object.fromEntries(Object.entries(files).reverse());

    const one = plan({ before: snapshot(beforeFiles, BEFORE), after: snapshot(afterFiles, AFTER), changes });
    const two = plan({
      before: snapshot(reversed(beforeFiles), BEFORE),
      after: snapshot(reversed(afterFiles), AFTER),
      changes: [...changes].reverse(),
    });

    expect(summary(one)).toEqual([
      'alpha sync (added)',
      'beta sync (files changed)',
      'delta delete (removed)',
      'gamma sync (added)',
      'zeta sync (config changed)',
    ]);
    expect(two).toEqual(one);
  });

  it('pairs renames of identical configs by name, not by the order of the files', () => {
    const same = config('1.4.2');
    const beforeFiles = { 'old-b/config.yaml': same, 'old-a/config.yaml': same };
    const afterFiles = { 'new-b/config.yaml': same, 'new-a/config.yaml': same };
    const changes = ['old-a', 'old-b', 'new-a', 'new-b'].map((env) => ({ path: `${env}/config.yaml` }));
    const reversed = (files: Record<string, string>) => Object.fromEntries(Object.entries(files).reverse());
    const expected = [
      'new-a sync (renamed from old-a)',
      'new-b sync (renamed from old-b)',
      'old-a delete (renamed to new-a)',
      'old-b delete (renamed to new-b)',
    ];

    expect(summary(plan({ before: snapshot(beforeFiles, BEFORE), after: snapshot(afterFiles, AFTER), changes }))).toEqual(expected);
    expect(summary(plan({ before: snapshot(reversed(beforeFiles), BEFORE), after: snapshot(afterFiles, AFTER), changes }))).toEqual(expected);
    expect(summary(plan({ before: snapshot(beforeFiles, BEFORE), after: snapshot(reversed(afterFiles), AFTER), changes }))).toEqual(expected);
  });
});

describe('invalid input', () => {
  it('fails an environment with an invalid config alone; the others still carry a desired state', () => {
    const after = snapshot(
      {
        'prod/config.yaml': config('1.0.0', 'parameters:', '  InstanceType: t3.small', '  Scaling:', '    Min: 1'),
        'development/config.yaml': config('1.1.0'),
      },
      AFTER,
    );

    const result = plan({ after });

    const prod = entry(result, 'prod');
    expect(prod.action).toBe('sync');
    expect(prod.desired).toBeUndefined();
    expect(prod.error).toEqual({
      file: 'prod/config.yaml',
      line: 4,
      message: 'prod/config.yaml:4: parameters.Scaling: Invalid input: expected string, received object',
    });
    expect(entry(result, 'development').error).toBeUndefined();
    expect(entry(result, 'development').desired?.config?.appVersion).toBe('1.1.0');
  });

  it('fails a config without appVersion with the file and the missing key', () => {
    const result = plan({ after: snapshot({ 'prod/config.yaml': 'parameters:\n  Tier: web\n' }, AFTER) });
    expect(entry(result, 'prod').error).toMatchObject({ file: 'prod/config.yaml', line: 1, message: 'prod/config.yaml:1: appVersion: is required' });
  });

  it('fails a folder whose name cannot become a stack name and says how to fix it', () => {
    const result = plan({ after: snapshot({ 'feature_x/config.yaml': config('1.0.0'), 'prod/config.yaml': config('1.0.0') }, AFTER) });

    const featureX = entry(result, 'feature_x');
    expect(featureX.desired).toBeUndefined();
    expect(featureX.error?.file).toBe('feature_x/config.yaml');
    expect(featureX.error?.message).toContain('feature_x/');
    expect(featureX.error?.message).toContain('use letters, digits and hyphens, starting with a letter');
    expect(featureX.error?.message).toContain('rename the folder');
    expect(entry(result, 'prod').desired?.config?.appVersion).toBe('1.0.0');
  });

  it('fails every sync, naming the file and line, when common/gitops.yaml is invalid', () => {
    const after = snapshot(
      {
        'common/gitops.yaml': 'region: eu-west-1\nstackPrefix: 9lives\n',
        'prod/config.yaml': config('1.0.0'),
        'development/config.yaml': config('1.1.0'),
      },
      AFTER,
    );

    const result = plan({ after });

    expect(result.environments.map((e) => [e.environment, e.desired, e.error?.file, e.error?.line])).toEqual([
      ['development', undefined, 'common/gitops.yaml', 2],
      ['prod', undefined, 'common/gitops.yaml', 2],
    ]);
    expect(entry(result, 'prod').error?.message).toBe(
      'common/gitops.yaml:2: stackPrefix: stackPrefix starts with a letter and holds letters, digits and hyphens',
    );
  });

  it('fails the delete when the settings of the tree before the push are invalid, but not because the new ones are', () => {
    const before = snapshot({ 'common/gitops.yaml': 'stackPrefx: acme-\n', 'old/config.yaml': config('1.0.0') }, BEFORE);
    const after = snapshot({ 'common/gitops.yaml': 'stackPrefix: acme-\n' }, AFTER);

    const result = plan({ before, after, changes: [{ path: 'old/config.yaml' }, { path: 'common/gitops.yaml' }] });

    const old = entry(result, 'old');
    expect(old.action).toBe('delete');
    expect(old.desired).toBeUndefined();
    expect(old.error?.file).toBe('common/gitops.yaml');
    expect(old.error?.message).toContain('unknown key "stackPrefx"');
  });

  it('fails every sync, naming the file, when common/pipeline.yaml is missing; deletes still go ahead', () => {
    const before = snapshot({ 'prod/config.yaml': config('1.0.0'), 'old/config.yaml': config('1.0.0') }, BEFORE);
    const after = snapshot({ 'common/pipeline.yaml': undefined, 'prod/config.yaml': config('1.0.0'), 'new/config.yaml': config('2.0.0') }, AFTER);

    const result = plan({
      before,
      after,
      changes: [{ path: 'common/pipeline.yaml' }, { path: 'old/config.yaml' }, { path: 'new/config.yaml' }],
    });

    expect(summary(result)).toEqual(['new sync (added)', 'old delete (removed)', 'prod sync (common/ changed)']);
    for (const name of ['new', 'prod']) {
      expect(entry(result, name).desired).toBeUndefined();
      expect(entry(result, name).error).toEqual({
        file: 'common/pipeline.yaml',
        message: 'common/pipeline.yaml is missing: every environment is created from it; add it to the repo',
      });
    }
    expect(entry(result, 'old').error).toBeUndefined();
    expect(entry(result, 'old').desired?.action).toBe('delete');
  });

  it('fails every sync when common/environment.yaml is missing', () => {
    const result = plan({ after: snapshot({ 'common/environment.yaml': undefined, 'prod/config.yaml': config('1.0.0') }, AFTER) });
    expect(entry(result, 'prod').error?.file).toBe('common/environment.yaml');
    expect(entry(result, 'prod').error?.message).toContain('common/environment.yaml is missing');
  });
});

describe('protection asked for by the repo', () => {
  const after = snapshot(
    {
      'common/gitops.yaml': 'protectedEnvironments:\n  - prod\n',
      'prod/config.yaml': config('1.0.0'),
      'staging/config.yaml': config('1.0.0', 'protected: true'),
      'development/config.yaml': config('1.0.0', 'protected: false'),
    },
    AFTER,
  );

  it('protects environments listed in protectedEnvironments or marked protected: true in their config', () => {
    const result = plan({ after });
    expect(result.environments.map((e) => [e.environment, e.desired?.repoProtected])).toEqual([
      ['development', false],
      ['prod', true],
      ['staging', true],
    ]);
    expect(entry(result, 'prod').desired?.settings.protectedEnvironments).toEqual(['prod']);
  });

  it('keeps the protection of a removed environment for its delete', () => {
    const before = snapshot({ 'staging/config.yaml': config('1.0.0', 'protected: true'), 'scratch/config.yaml': config('1.0.0') }, BEFORE);
    const result = plan({
      before,
      after: snapshot({}, AFTER),
      changes: [{ path: 'staging/config.yaml' }, { path: 'scratch/config.yaml' }],
    });
    expect(result.environments.map((e) => [e.environment, e.action, e.desired?.repoProtected])).toEqual([
      ['scratch', 'delete', false],
      ['staging', 'delete', true],
    ]);
  });
});

describe('names an environment owns (DESIGN §3: no two environments\' derived names may meet)', () => {
  it("refuses a new folder whose environment stack is another environment's pipeline stack, naming both", () => {
    const before = snapshot({ 'prod/config.yaml': config('1.0.0') }, BEFORE);
    const after = snapshot({ 'prod/config.yaml': config('1.0.0'), 'prod-pipeline/config.yaml': config('2.0.0') }, AFTER);

    const result = plan({ before, after, changes: [{ path: 'prod-pipeline/config.yaml' }] });

    expect(summary(result)).toEqual(['prod-pipeline sync (added)']);
    expect(entry(result, 'prod-pipeline').desired).toBeUndefined();
    expect(entry(result, 'prod-pipeline').error).toEqual({
      file: 'prod-pipeline/config.yaml',
      message:
        'prod-pipeline/: its environment stack cfn-gitops-prod-pipeline is the pipeline stack of prod; an environment owns its stack and pipeline names, so no two may share one: rename the folder prod-pipeline/',
    });
  });

  it('keeps the existing environment and refuses the newcomer when both are synced in one push', () => {
    const before = snapshot({ 'prod/config.yaml': config('1.0.0') }, BEFORE);
    const after = snapshot({ 'prod/config.yaml': config('1.0.0'), 'prod-pipeline/config.yaml': config('2.0.0'), 'common/pipeline.yaml': 'Resources: {}\n' }, AFTER);

    const result = plan({ before, after, changes: [{ path: 'prod-pipeline/config.yaml' }, { path: 'common/pipeline.yaml' }] });

    expect(entry(result, 'prod').error).toBeUndefined();
    expect(entry(result, 'prod').desired?.action).toBe('sync');
    expect(entry(result, 'prod-pipeline').error?.message).toContain('is the pipeline stack of prod');
  });

  it('refuses both environments that meet on a first push, each naming the other', () => {
    const result = plan({ after: snapshot({ 'prod/config.yaml': config('1.0.0'), 'prod-pipeline/config.yaml': config('2.0.0'), 'dev/config.yaml': config('1') }, AFTER) });

    expect(entry(result, 'prod').error?.message).toBe(
      'prod/: its pipeline stack cfn-gitops-prod-pipeline is the environment stack of prod-pipeline; an environment owns its stack and pipeline names, so no two may share one: rename the folder prod/',
    );
    expect(entry(result, 'prod-pipeline').error?.message).toContain('is the pipeline stack of prod');
    expect(entry(result, 'dev').error).toBeUndefined();
  });

  it('refuses a newcomer that takes the names of a folder removed in the same push; the delete goes ahead', () => {
    const before = snapshot({ 'prod/config.yaml': config('1.0.0') }, BEFORE);
    const after = snapshot({ 'prod-pipeline/config.yaml': config('1.0.0') }, AFTER);

    const result = plan({ before, after, changes: [{ path: 'prod-pipeline/config.yaml', from: 'prod/config.yaml' }] });

    expect(summary(result)).toEqual(['prod delete (renamed to prod-pipeline)', 'prod-pipeline sync (renamed from prod)']);
    expect(entry(result, 'prod').desired?.action).toBe('delete');
    expect(entry(result, 'prod-pipeline').error?.message).toContain('is the pipeline stack of prod (removed in this push)');
  });

  it('refuses deleting a folder whose stacks are another environment’s, and names what to delete by hand', () => {
    const before = snapshot({ 'prod/config.yaml': config('1.0.0'), 'prod-pipeline/config.yaml': config('2.0.0') }, BEFORE);
    const after = snapshot({ 'prod/config.yaml': config('1.0.0') }, AFTER);

    const result = plan({ before, after, changes: [{ path: 'prod-pipeline/config.yaml' }] });

    expect(summary(result)).toEqual(['prod-pipeline delete (removed)']);
    expect(entry(result, 'prod-pipeline').desired).toBeUndefined();
    expect(entry(result, 'prod-pipeline').error).toEqual({
      file: 'prod-pipeline/config.yaml',
      message:
        "prod-pipeline/: not deleted: its environment stack cfn-gitops-prod-pipeline is the pipeline stack of prod, so deleting prod-pipeline would delete prod's; " +
        "delete prod-pipeline's own stacks and pipeline (cfn-gitops-prod-pipeline-pipeline) by hand, if cfn-gitops created them",
    });
  });

  it('refuses every existing environment when stackPrefix changes, at its line, and plans new ones under the new prefix unless they meet an old one', () => {
    const envs = { 'prod/config.yaml': config('1.0.0'), 'development/config.yaml': config('1.1.0') };
    const before = snapshot({ ...envs, 'common/gitops.yaml': 'region: eu-west-1\n' }, BEFORE);
    const after = snapshot({ ...envs, 'common/gitops.yaml': 'region: eu-west-1\nstackPrefix: cfn-\n', 'gitops-prod/config.yaml': config('9'), 'fresh/config.yaml': config('1') }, AFTER);

    const result = plan({ before, after, changes: [{ path: 'common/gitops.yaml' }, { path: 'gitops-prod/config.yaml' }, { path: 'fresh/config.yaml' }] });

    expect(entry(result, 'prod').error).toEqual({
      file: 'common/gitops.yaml',
      line: 2,
      message:
        "common/gitops.yaml:2: stackPrefix changed from cfn-gitops- to cfn-: prod's stacks and pipeline would be created again under new names while the old ones keep running; " +
        'to move environments, remove their folders (in this push or an earlier one), then add them back in a later push; or revert the change',
    });
    expect(entry(result, 'development').error?.line).toBe(2);
    expect(entry(result, 'gitops-prod').error?.message).toBe(
      'gitops-prod/: its environment stack cfn-gitops-prod is the environment stack of prod (as the tree before this push names it); an environment owns its stack and pipeline names, so no two may share one: rename the folder gitops-prod/',
    );
    expect(entry(result, 'fresh').error).toBeUndefined();
    expect(entry(result, 'fresh').desired?.settings.stackPrefix).toBe('cfn-');
  });

  it('refuses every existing environment when region changes or is set for the first time', () => {
    const envs = { 'prod/config.yaml': config('1.0.0') };
    const moved = plan({
      before: snapshot({ ...envs, 'common/gitops.yaml': 'region: eu-west-1\n' }, BEFORE),
      after: snapshot({ ...envs, 'common/gitops.yaml': 'region: us-east-1\n' }, AFTER),
      changes: [{ path: 'common/gitops.yaml' }],
    });
    expect(entry(moved, 'prod').error?.message).toContain(
      "common/gitops.yaml:1: region changed from eu-west-1 to us-east-1: prod's stacks and pipeline would be created again in us-east-1 while those in eu-west-1 keep running",
    );
    const set = plan({
      before: snapshot(envs, BEFORE),
      after: snapshot({ ...envs, 'common/gitops.yaml': '# pin the region\nregion: us-east-1\n' }, AFTER),
      changes: [{ path: 'common/gitops.yaml' }],
    });
    expect(entry(set, 'prod').error).toMatchObject({ file: 'common/gitops.yaml', line: 2 });
    expect(entry(set, 'prod').error?.message).toContain("region changed from the worker's AWS_REGION to us-east-1");
  });

  it('lets other settings change, and keeps the names when stackPrefix is written out as its default', () => {
    const envs = { 'prod/config.yaml': config('1.0.0') };
    const result = plan({
      before: snapshot(envs, BEFORE),
      after: snapshot({ ...envs, 'common/gitops.yaml': 'stackPrefix: cfn-gitops-\nartifactBucket: other-artifacts\nprotectedEnvironments: [prod]\n' }, AFTER),
      changes: [{ path: 'common/gitops.yaml' }],
    });
    expect(entry(result, 'prod').error).toBeUndefined();
    expect(entry(result, 'prod').desired?.repoProtected).toBe(true);
  });

  it('refuses a folder whose pipeline name would be longer than CodePipeline allows', () => {
    const long = `a${'b'.repeat(63)}`;
    const result = plan({ after: snapshot({ 'common/gitops.yaml': `stackPrefix: ${'p'.repeat(40)}-\n`, [`${long}/config.yaml`]: config('1') }, AFTER) });
    expect(entry(result, long).error?.message).toBe(
      `${long}/: its pipeline name ${'p'.repeat(40)}-${long} has 105 characters; CodePipeline allows at most 100: shorten the folder name or stackPrefix in common/gitops.yaml`,
    );
  });
});

describe('sizes AWS would refuse late', () => {
  it('fails every sync, naming the file, its size and the limit, when common/pipeline.yaml is over 1 MB; deletes go ahead', () => {
    const before = snapshot({ 'prod/config.yaml': config('1.0.0'), 'old/config.yaml': config('1') }, BEFORE);
    const big = `Resources: {}\n${'#'.repeat(1_048_576)}\n`;
    const after = snapshot({ 'prod/config.yaml': config('1.0.0'), 'common/pipeline.yaml': big }, AFTER);

    const result = plan({ before, after, changes: [{ path: 'common/pipeline.yaml' }, { path: 'old/config.yaml' }] });

    expect(entry(result, 'prod').error).toEqual({
      file: 'common/pipeline.yaml',
      message:
        'common/pipeline.yaml is 1,048,591 bytes; CloudFormation takes a template from S3 of at most 1,048,576 bytes: make it smaller (comments count too) or move resources into nested stacks',
    });
    expect(entry(result, 'old').desired?.action).toBe('delete');
  });

  it('counts bytes, not characters, and takes a template of exactly the limit', () => {
    const exactly = `#${'é'.repeat(524_287)}\n`;
    expect(entry(plan({ after: snapshot({ 'prod/config.yaml': config('1'), 'common/pipeline.yaml': exactly }, AFTER) }), 'prod').error).toBeUndefined();
    const over = `#${'é'.repeat(524_288)}\n`;
    expect(entry(plan({ after: snapshot({ 'prod/config.yaml': config('1'), 'common/pipeline.yaml': over }, AFTER) }), 'prod').error?.message).toContain(
      'common/pipeline.yaml is 1,048,578 bytes',
    );
  });

  it('fails every sync when common/environment.yaml is over 1 MB', () => {
    const result = plan({ after: snapshot({ 'prod/config.yaml': config('1'), 'common/environment.yaml': `#${'x'.repeat(1_048_576)}\n` }, AFTER) });
    expect(entry(result, 'prod').error?.file).toBe('common/environment.yaml');
    expect(entry(result, 'prod').error?.message).toContain('at most 1,048,576 bytes');
  });

  it('fails one environment whose config file is over 64 KB, naming the file and the limit', () => {
    const result = plan({ after: snapshot({ 'prod/config.yaml': config('1', `description: ${'x'.repeat(70_000)}`), 'dev/config.yaml': config('1') }, AFTER) });
    expect(entry(result, 'prod').error).toEqual({
      file: 'prod/config.yaml',
      message: 'prod/config.yaml: the file is 70,028 bytes; a config file holds at most 65,536 bytes (64 KB): keep large data out of it (templates go in common/, artifacts in S3)',
    });
    expect(entry(result, 'dev').error).toBeUndefined();
  });
});
