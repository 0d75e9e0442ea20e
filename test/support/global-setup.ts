import { freePort, startDevServer, type DevServer } from '../../worker/dev-server';

/**
 * One Temporal dev server for the whole run: starting one per test file overloads a 2-core
 * machine and `createLocal` gives up after about 5 s. Tests connect with
 * `TestWorkflowEnvironment.createFromExistingServer({ address: process.env.TEMPORAL_ADDRESS })`.
 * A TEMPORAL_ADDRESS already set (a server started outside jest) is used as it is.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.TEMPORAL_ADDRESS) return;
  const server: DevServer = await startDevServer({ port: await freePort(), uiPort: null });
  process.env.TEMPORAL_ADDRESS = server.address;
  (globalThis as { __cfnGitopsDevServer?: DevServer }).__cfnGitopsDevServer = server;
}
