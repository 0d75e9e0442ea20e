import { existsSync, mkdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { simpleGit } from 'simple-git';
import { GitReadError } from '../common/errors';
import { redactUrls } from '../common/redact';
import { createGitReader, type GitReader } from '../starter/git';

/** The server's view of the GitOps repo: a cache clone it fetches into, read through the starter's GitReader. */
export interface GitFetcher {
  /** Fetches every branch of the repo into the cache clone (cloning it the first time) and returns a reader over it. */
  fetch(): Promise<GitReader>;
  /**
   * A reader over the cache clone for status pages: fetched when older than `maxAgeMs`, the
   * clone as it is when that fetch fails.
   */
  current(maxAgeMs?: number): Promise<GitReader>;
}

/** Options of {@link createGitFetcher}. */
export interface GitFetcherOptions {
  /** Path or URL of the GitOps repo. */
  repo: string;
  /** Folder of the cache clone; default: one per repo under the OS temp folder. */
  cacheDir?: string;
}

/**
 * A fetcher over a bare mirror clone: `git clone --mirror` once, then `git fetch --prune`.
 * Fetches are serialized (one git process writes the clone at a time) and a fetch asked for
 * while one runs shares the next one, so a burst of webhooks costs at most two fetches.
 * @throws GitReadError (from fetch) when the repo cannot be cloned or fetched.
 * @example const reader = await createGitFetcher({ repo: 'https://github.com/acme/gitops.git' }).fetch();
 */
export function createGitFetcher(options: GitFetcherOptions): GitFetcher {
  const dir = options.cacheDir ?? path.join(tmpdir(), `cfn-gitops-cache-${createHash('sha256').update(path.resolve(options.repo)).digest('hex').slice(0, 12)}`);
  // simple-git refuses a folder that does not exist yet: the reader is made after the first clone.
  let reader: GitReader | undefined;
  // The clone is bare, where "inside a work tree?" answers no: a clone with a HEAD is a repository.
  const readerOf = () => (reader ??= { ...createGitReader(dir), isRepository: async () => existsSync(path.join(dir, 'HEAD')) });
  let running: Promise<void> | undefined;
  let queued: Promise<void> | undefined;
  let fetchedAt = 0;

  async function fetchOnce(): Promise<void> {
    const startedAt = Date.now();
    try {
      if (!existsSync(path.join(dir, 'HEAD'))) {
        mkdirSync(path.dirname(dir), { recursive: true });
        await simpleGit().clone(options.repo, dir, ['--mirror', '--quiet']);
      } else {
        await simpleGit({ baseDir: dir }).raw(['fetch', '--prune', '--quiet', 'origin']);
      }
      fetchedAt = startedAt;
    } catch (error) {
      // The repo URL may carry a token; the message reaches answers and logs.
      throw new GitReadError(redactUrls(options.repo), redactUrls(`fetch into ${dir} failed: ${(error as Error).message.trim()}`), { cause: error });
    }
  }

  function schedule(): Promise<void> {
    if (!running) {
      running = fetchOnce().finally(() => (running = undefined));
      return running;
    }
    // One runs: it may have started before the push we are asked about, so fetch once more after it.
    queued ??= running.catch(() => undefined).then(() => {
      queued = undefined;
      return schedule();
    });
    return queued;
  }

  return {
    async fetch() {
      await schedule();
      return readerOf();
    },
    async current(maxAgeMs = 60_000) {
      if (Date.now() - fetchedAt > maxAgeMs) {
        try {
          await schedule();
        } catch (error) {
          if (!existsSync(path.join(dir, 'HEAD'))) throw error;
        }
      }
      return readerOf();
    },
  };
}
