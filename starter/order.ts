import { shortSha } from '../common/names';
import type { GitReader } from './git';

/** Whether a push may follow the newest commit an environment has taken. */
export type OrderVerdict = { ahead: true; note?: string } | { ahead: false; message: string };

/**
 * "No going back", decided by git ancestry rather than by counting commits, so that it holds
 * across force pushes: `after` may follow `newest` when it descends from it, or when the two
 * histories diverged and main now holds `after` but no longer `newest` (a force push rewrote
 * main). A late run from an abandoned history, or a push older than what was taken, is stale.
 * Main is `origin/<branch>` when the checkout has it (Actions, the server's mirror has
 * `<branch>` itself), else the local `<branch>`.
 * @example await checkOrder(git, { environment: 'prod', after, newest, branch: 'main' }) // { ahead: true }
 */
export async function checkOrder(git: GitReader, input: { environment: string; after: string; newest: string; branch: string }): Promise<OrderVerdict> {
  const { environment, after, newest, branch } = input;
  if (await git.isAncestor(newest, after)) return { ahead: true };
  if (await git.isAncestor(after, newest)) {
    return { ahead: false, message: `commit ${shortSha(after)} is older than ${shortSha(newest)} already taken for ${environment}; ignored` };
  }
  const tip = (await git.resolve(`refs/remotes/origin/${branch}`)) ?? (await git.resolve(`refs/heads/${branch}`));
  if (!tip) {
    return { ahead: false, message: `commit ${shortSha(after)} and ${shortSha(newest)} taken for ${environment} are on different histories, and ${branch} is not in the checkout to tell which one it holds: fetch ${branch} (in Actions, check out with fetch-depth: 0) and run start again` };
  }
  const [afterOnMain, newestOnMain] = await Promise.all([git.isAncestor(after, tip), git.isAncestor(newest, tip)]);
  if (afterOnMain && !newestOnMain) {
    return { ahead: true, note: `${branch} was rewritten: ${shortSha(newest)} taken for ${environment} is no longer on it` };
  }
  return { ahead: false, message: `commit ${shortSha(after)} is not on ${branch} (at ${shortSha(tip)}) while ${shortSha(newest)} taken for ${environment} is: a run from a rewritten history; ignored` };
}
