import type { DevServer } from '../../worker/dev-server';

/** Stops the dev server that global-setup started, if it started one. */
export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __cfnGitopsDevServer?: DevServer }).__cfnGitopsDevServer?.stop();
}
