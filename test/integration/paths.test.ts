import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../support/cli';
import { createTestRepo, type TestRepo } from '../support/gitops-repo';

/** One planned environment as `cfn-gitops plan --json` prints it. */
interface PlannedJson {
  environment: string;
  action: string;
  reason: string;
  desired?: { config?: { appVersion?: string } };
  error?: { file: string; message: string };
}

const ZEROS = '0'.repeat(40);

/**
 * Paths as git stores them, whatever bytes they hold: folders and files whose names git would
 * quote (non-ASCII, quotes, tabs, newlines) are planned, and environment names given to the
 * CLI never reach outside the repository.
 */
describe('paths: names git quotes, and names that climb out of the repo', () => {
  let repo: TestRepo;
  let developmentConfig: string;

  const plan = (before: string, after: string, ...extra: string[]) => runCli(['plan', '--repo', repo.dir, '--before', before, '--after', after, ...extra]);
  const planJson = async (before: string, after: string) => {
    const result = await plan(before, after, '--json');
    return { code: result.code, stderr: result.stderr, environments: JSON.parse(result.stdout).environments as PlannedJson[] };
  };

  beforeAll(async () => {
    repo = await createTestRepo();
    developmentConfig = readFileSync(path.join(repo.dir, 'development', 'config.yaml'), 'utf8');
  });

  afterAll(() => repo?.remove());

  describe('cfn-gitops plan', () => {
    const oddNames = ['café', 'x"y', 'new\nline', 'tab\there', 'back\\slash'];

    it.each(oddNames)('an added folder %j with a config is an invalid environment named in the plan (exit 2)', async (name) => {
      const before = await repo.head();
      const after = await repo.commit(`add ${name}`, { [`${name}/config.yaml`]: developmentConfig });
      try {
        const { code, environments } = await planJson(before, after);
        expect(environments.map((e) => [e.environment, e.action, Boolean(e.error)])).toEqual([[name, 'sync', true]]);
        expect(environments[0]!.error!.message).toMatch(/letters, digits and hyphens/);
        expect(environments[0]!.error!.message).toContain(JSON.stringify(`${name}/`));
        expect(code).toBe(2);

        // The terminal table names it on one line, quoted, and the next line is the next row.
        const text = await plan(before, after);
        expect(text.code).toBe(2);
        const row = text.stdout.split('\n').find((line) => line.startsWith(JSON.stringify(name)));
        expect(row).toMatch(/ invalid .*letters, digits and hyphens.*rename the folder$/);
        expect(text.stdout.trimEnd().split('\n')).toHaveLength(3);
      } finally {
        await repo.commit(`remove ${name}`, { [name]: null });
      }
    });

    it('a first push plans every folder, odd names included, and still reads the valid configs', async () => {
      const head = await repo.commit('odd folders', Object.fromEntries(oddNames.map((name) => [`${name}/config.yaml`, developmentConfig.replace(/appVersion:.*/, 'appVersion: "9.9.9"')])));
      try {
        const { code, environments } = await planJson(ZEROS, head);
        expect(code).toBe(2);
        const byName = new Map(environments.map((e) => [e.environment, e]));
        for (const name of oddNames) expect(byName.get(name)?.error?.message).toMatch(/rename the folder/);
        // A name holding a newline must not shift which blob belongs to which path.
        expect(byName.get('development')?.desired?.config?.appVersion).toBe('1.4.2');
        expect(byName.get('prod')?.desired?.config?.appVersion).toBe('1.4.1');
        expect(byName.get('featureX')?.error).toBeUndefined();
      } finally {
        await repo.commit('remove odd folders', Object.fromEntries(oddNames.map((name) => [name, null])));
      }
    });

    it.each(['notes é.txt', 'say "hi".txt', 'tab\tname.txt', 'two\nlines.txt'])('a changed file %j in development syncs development (files changed)', async (file) => {
      const before = await repo.head();
      const after = await repo.commit(`add development/${file}`, { [`development/${file}`]: 'notes\n' });
      const { code, environments } = await planJson(before, after);
      expect(environments.map((e) => [e.environment, e.action, e.reason, e.error])).toEqual([['development', 'sync', 'files changed', undefined]]);
      expect(code).toBe(0);
    });

    it('a renamed file with an odd name counts for both folders', async () => {
      const before = await repo.commit('a note', { 'development/ré sumé\n.txt': 'a note long enough to be found as a rename\n' });
      await repo.git.raw(['mv', 'development/ré sumé\n.txt', 'featureX/ré sumé\n.txt']);
      await repo.git.commit('move the note');
      const after = await repo.head();
      expect(await repo.git.raw(['diff', '--name-status', '-M', before, after])).toMatch(/^R100/);
      const { code, environments } = await planJson(before, after);
      expect(environments.map((e) => [e.environment, e.action, e.reason])).toEqual([
        ['development', 'sync', 'files changed'],
        ['featureX', 'sync', 'files changed'],
      ]);
      expect(code).toBe(0);
    });
  });

  describe('environment names given to the CLI', () => {
    let outside: string;
    let outsideConfig: string;
    const original = 'appVersion: "0.0.1"\n';

    beforeEach(() => {
      outside = mkdtempSync(path.join(tmpdir(), 'cfn-gitops-outside-'));
      outsideConfig = path.join(outside, 'config.yaml');
      writeFileSync(outsideConfig, original);
    });

    afterEach(() => rmSync(outside, { recursive: true, force: true }));

    it('promote refuses a target that climbs out of the repo (exit 2) and writes nothing there', async () => {
      const target = path.relative(repo.dir, outside);
      expect(target.startsWith('..')).toBe(true);
      const head = await repo.head();
      const result = await runCli(['promote', 'development', target, '--force', '--repo', repo.dir]);
      expect(result.stderr).toContain(`"${target}" is not an environment name`);
      expect(result.stderr).toMatch(/letters, digits and hyphens/);
      expect(result.code).toBe(2);
      expect(readFileSync(outsideConfig, 'utf8')).toBe(original);
      expect(await repo.head()).toBe(head);

      const missing = await runCli(['promote', 'development', '../cfn-gitops-nowhere', '--force', '--repo', repo.dir]);
      expect(missing.code).toBe(2);
      expect(existsSync(path.join(repo.dir, '..', 'cfn-gitops-nowhere'))).toBe(false);
    });

    it('promote and rollback refuse an environment folder that is a link out of the repo (exit 2)', async () => {
      symlinkSync(outside, path.join(repo.dir, 'linked'));
      mkdirSync(path.join(repo.dir, 'filelink'));
      symlinkSync(outsideConfig, path.join(repo.dir, 'filelink', 'config.yaml'));
      try {
        const head = await repo.head();
        for (const args of [
          ['promote', 'development', 'linked', '--force'],
          ['promote', 'development', 'filelink', '--force'],
          ['rollback', 'linked', '--to', '0.0.2'],
          ['rollback', 'filelink', '--to', '0.0.2'],
        ]) {
          const result = await runCli([...args, '--repo', repo.dir]);
          expect(result.stderr).toMatch(/outside the repository/);
          expect(result.code).toBe(2);
        }
        expect(readFileSync(outsideConfig, 'utf8')).toBe(original);
        expect(await repo.head()).toBe(head);
      } finally {
        rmSync(path.join(repo.dir, 'linked'), { force: true });
        rmSync(path.join(repo.dir, 'filelink'), { recursive: true, force: true });
      }
    });

    // Nothing listens on port 1: a command that connected before validating would exit 1.
    const unreachable = { TEMPORAL_ADDRESS: '127.0.0.1:1' };
    it.each([
      ['../x', ['approve', '../x']],
      ['../x', ['reject', '../x']],
      ['../x', ['cancel', '../x']],
      ['../x', ['rollback', '../x', '--repo', 'REPO']],
      ['../x', ['promote', '../x', 'prod', '--repo', 'REPO']],
      ['../x', ['promote', 'development', '../x', '--repo', 'REPO']],
      ['../x', ['status', '../x']],
      ['../x', ['drift', '../x']],
      ['new\nline', ['approve', 'new\nline']],
    ])('%j: %j exits 2 naming the rule before it touches Temporal or the repo', async (name, args) => {
      const result = await runCli(args.map((a) => (a === 'REPO' ? repo.dir : a)), { env: unreachable, timeoutMs: 60_000 });
      expect(result.stderr).toContain(`${JSON.stringify(name)} is not an environment name`);
      expect(result.stderr).toMatch(/letters, digits and hyphens, starting with a letter/);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.code).toBe(2);
    });
  });
});
