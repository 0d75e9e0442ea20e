import { cpSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';

/** The example GitOps repo shipped in examples/. */
export const EXAMPLE_REPO = path.resolve(__dirname, '..', '..', 'examples', 'gitops-repo');

/** A real git repository in a temporary folder, made from the example, with helpers to push commits. */
export interface TestRepo {
  dir: string;
  git: SimpleGit;
  /** Writes files (content `null` deletes), commits them all and returns the new SHA. */
  commit(message: string, files?: Record<string, string | null>, author?: { name: string; email: string }): Promise<string>;
  head(): Promise<string>;
  remove(): void;
}

/** Copies the example repo into a new git repository with one initial commit. */
export async function createTestRepo(options: { from?: string; author?: { name: string; email: string } } = {}): Promise<TestRepo> {
  const dir = mkdtempSync(path.join(tmpdir(), 'cfn-gitops-repo-'));
  cpSync(options.from ?? EXAMPLE_REPO, dir, { recursive: true });
  const git = simpleGit(dir);
  await git.init(['--initial-branch=main']);
  const author = options.author ?? { name: 'Dana Developer', email: 'dana@example.com' };
  await git.addConfig('user.name', author.name).addConfig('user.email', author.email).addConfig('commit.gpgsign', 'false');
  const repo: TestRepo = {
    dir,
    git,
    async commit(message, files = {}, by) {
      for (const [file, content] of Object.entries(files)) {
        const full = path.join(dir, file);
        if (content === null) rmSync(full, { recursive: true, force: true });
        else {
          mkdirSync(path.dirname(full), { recursive: true });
          writeFileSync(full, content);
        }
      }
      await git.add(['-A']);
      await git.commit(message, { '--allow-empty': null, ...(by ? { '--author': `${by.name} <${by.email}>` } : {}) });
      return repo.head();
    },
    async head() {
      return (await git.revparse(['HEAD'])).trim();
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await repo.commit('Initial commit: the example GitOps repo');
  return repo;
}
