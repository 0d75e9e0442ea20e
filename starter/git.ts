import { spawn } from 'node:child_process';
import { simpleGit, type SimpleGit } from 'simple-git';
import { GitReadError } from '../common/errors';
import { COMMON_DIR, CONFIG_FILE } from '../common/names';
import type { ChangedPath, PlanInput, Snapshot } from '../common/plan';
import type { CommitInfo } from '../common/types';

/** A `before` of all zeros: GitHub's way of saying the branch is new. */
const ZERO_SHA = /^0+$/;

/**
 * The most of a commit message a desired state carries. It travels with every environment's
 * request and stays in each one's history; an approval card shows its first line, and the
 * commit itself keeps the rest.
 */
const COMMIT_MESSAGE_KEPT = 4_096;

/** A commit message cut to {@link COMMIT_MESSAGE_KEPT}, saying how much was left out. */
function keptMessage(message: string): string {
  if (message.length <= COMMIT_MESSAGE_KEPT) return message;
  // Never between the two halves of a surrogate pair.
  const end = /[\uD800-\uDBFF]/.test(message[COMMIT_MESSAGE_KEPT - 1]!) ? COMMIT_MESSAGE_KEPT - 1 : COMMIT_MESSAGE_KEPT;
  return `${message.slice(0, end)}\n… (${message.length - end} more characters in the commit)`;
}

/** The narrow git interface the starter needs; tests build one over a real repo. */
export interface GitReader {
  /** The repository's folder, for messages. */
  readonly dir: string;
  /** Is the folder inside a git repository? */
  isRepository(): Promise<boolean>;
  /** Full SHA of a revision, or undefined when it is not in the repo. */
  resolve(rev: string): Promise<string | undefined>;
  commitInfo(sha: string): Promise<CommitInfo>;
  /** The planner's files at a commit: `common/*` and `<env>/config.yaml`. */
  snapshot(sha: string): Promise<Snapshot>;
  /** Paths changed between two commits, renames with their source. */
  changes(before: string, after: string): Promise<ChangedPath[]>;
  /** Is `ancestor` an ancestor of (or equal to) `descendant`? */
  isAncestor(ancestor: string, descendant: string): Promise<boolean>;
}

/** One entry of `git ls-tree -r -z`. */
interface TreeEntry {
  type: string;
  object: string;
  path: string;
}

/**
 * Parses `git ls-tree -z`: NUL-terminated `<mode> SP <type> SP <object> TAB <path>` records.
 * With -z git neither quotes nor escapes a path, so `café/` or a name with a tab or a newline
 * arrives as it is stored.
 */
function parseTree(listing: string): TreeEntry[] {
  const entries: TreeEntry[] = [];
  for (const record of listing.split('\0')) {
    const tab = record.indexOf('\t');
    if (tab < 0) continue;
    const [, type, object] = record.slice(0, tab).split(' ');
    entries.push({ type: type!, object: object!, path: record.slice(tab + 1) });
  }
  return entries;
}

/**
 * Parses `git diff --name-status -z`: a status field, then one path, or two (source, then
 * destination) for renames and copies, each NUL-terminated and never quoted.
 */
function parseNameStatus(out: string): ChangedPath[] {
  const fields = out.split('\0');
  const changes: ChangedPath[] = [];
  let i = 0;
  while (i < fields.length && fields[i]) {
    const status = fields[i++]!;
    if (status.startsWith('R') || status.startsWith('C')) {
      const from = fields[i++]!;
      changes.push({ path: fields[i++]!, from });
    } else {
      changes.push({ path: fields[i++]! });
    }
  }
  return changes;
}

/**
 * Git over simple-git, reading many blobs through one `git cat-file --batch` so that a repo
 * with thousands of environments is read in one process.
 * @throws GitReadError when `dir` is not a git repository.
 */
export function createGitReader(dir: string): GitReader {
  const git: SimpleGit = simpleGit({ baseDir: dir, maxConcurrentProcesses: 4 });

  /**
   * Reads blobs by object id, not by `rev:path`: the batch input is newline-separated, so a path
   * holding a newline could not be asked for, and would shift every answer after it.
   */
  async function readBlobs(blobs: TreeEntry[]): Promise<Record<string, string>> {
    if (blobs.length === 0) return {};
    const output = await new Promise<Buffer>((resolve, reject) => {
      const child = spawn('git', ['cat-file', '--batch'], { cwd: dir });
      const chunks: Buffer[] = [];
      child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(chunks)) : reject(new GitReadError(dir, `git cat-file exited ${code}`))));
      child.stdin.end(blobs.map((blob) => `${blob.object}\n`).join(''));
    });
    const files: Record<string, string> = {};
    let offset = 0;
    for (const blob of blobs) {
      const headerEnd = output.indexOf(0x0a, offset);
      if (headerEnd < 0) throw new GitReadError(dir, `git cat-file ended before ${blob.object} (${JSON.stringify(blob.path)})`);
      const header = output.subarray(offset, headerEnd).toString();
      offset = headerEnd + 1;
      if (header.endsWith(' missing')) continue;
      const size = Number(header.split(' ')[2]);
      files[blob.path] = output.subarray(offset, offset + size).toString('utf8');
      offset += size + 1;
    }
    return files;
  }

  return {
    dir,
    async isRepository() {
      try {
        return await git.checkIsRepo();
      } catch {
        return false;
      }
    },
    async resolve(rev) {
      try {
        return (await git.raw(['rev-parse', '--verify', '--quiet', `${rev}^{commit}`])).trim() || undefined;
      } catch {
        return undefined;
      }
    },
    async commitInfo(sha) {
      const [log, count] = await Promise.all([
        git.raw(['log', '-1', '--format=%H%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%B', sha]),
        git.raw(['rev-list', '--count', sha]),
      ]);
      const [full, name, email, date, committerName, committerEmail, message] = log.split('\0');
      return {
        sha: full!.trim(),
        generation: Number(count.trim()),
        author: { name: name!, email: email! },
        committer: { name: committerName!, email: committerEmail! },
        date: date!,
        message: keptMessage((message ?? '').trim()),
      };
    },
    async snapshot(sha) {
      const blobs = parseTree(await git.raw(['ls-tree', '-r', '-z', sha])).filter((entry) => {
        const parts = entry.path.split('/');
        return entry.type === 'blob' && parts.length === 2 && (parts[0] === COMMON_DIR || parts[1] === CONFIG_FILE);
      });
      return { commit: await this.commitInfo(sha), files: await readBlobs(blobs) };
    },
    async changes(before, after) {
      return parseNameStatus(await git.raw(['diff', '--name-status', '-z', '-M', '--no-color', before, after]));
    },
    isAncestor(ancestor, descendant) {
      // The answer is the exit code alone (0 yes, 1 no, other: unknown commit), which simple-git
      // does not report when git prints nothing: ask git directly.
      return new Promise((resolve) => {
        const child = spawn('git', ['merge-base', '--is-ancestor', ancestor, descendant], { cwd: dir, stdio: 'ignore' });
        child.on('error', () => resolve(false));
        child.on('close', (code) => resolve(code === 0));
      });
    },
  };
}

/**
 * Gathers the planner's input for a push: the trees at both ends and the diff, or the `after`
 * tree alone on a first push (`before` all zeros) or a force push (`before` not in the history).
 * @throws GitReadError when `after` cannot be resolved.
 */
export async function readPush(git: GitReader, push: { before?: string; after: string }): Promise<PlanInput> {
  const after = await git.resolve(push.after);
  if (!after) {
    if (!(await git.isRepository())) throw new GitReadError(git.dir, 'not a git repository: run inside a checkout of the GitOps repo or pass --repo DIR');
    throw new GitReadError(git.dir, `commit ${push.after} is not in the repository (fetch it, or check --after; in Actions, check out with fetch-depth: 0)`);
  }
  const afterSnapshot = git.snapshot(after);
  if (!push.before || ZERO_SHA.test(push.before)) return { after: await afterSnapshot };
  const before = await git.resolve(push.before);
  if (!before) {
    return { after: await afterSnapshot, notes: [`before ${push.before.slice(0, 7)} is not in the history (force push?): planned from the after tree`] };
  }
  const [afterTree, beforeTree, changes] = await Promise.all([afterSnapshot, git.snapshot(before), git.changes(before, after)]);
  return { after: afterTree, before: beforeTree, changes };
}
