import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { freePort, startDevServer, type DevServer } from '../../worker/dev-server';
import { TEST_NAMESPACES } from './namespaces';

/**
 * One Temporal dev server and one workflow bundle for the whole run: starting a server per
 * test file overloads a 2-core machine (and `createLocal` gives up after about 5 s), and
 * bundling per file costs seconds each. Tests connect with
 * `TestWorkflowEnvironment.createFromExistingServer({ address: process.env.TEMPORAL_ADDRESS })`.
 * A TEMPORAL_ADDRESS already set (a server started outside jest) is used as it is.
 */
export default async function globalSetup(): Promise<void> {
  const artifacts = path.resolve(__dirname, '..', '..', 'test-artifacts');
  mkdirSync(artifacts, { recursive: true });
  const [server, bundle] = await Promise.all([
    process.env.TEMPORAL_ADDRESS ? undefined : freePort().then((port) => startDevServer({ port, uiPort: null, namespaces: ['default', ...Object.values(TEST_NAMESPACES)] })),
    bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: new DefaultLogger('WARN') }),
  ]);
  const bundlePath = path.join(artifacts, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);
  process.env.CFN_GITOPS_TEST_BUNDLE = bundlePath;
  if (server) {
    process.env.TEMPORAL_ADDRESS = server.address;
    (globalThis as { __cfnGitopsDevServer?: DevServer }).__cfnGitopsDevServer = server;
  }
}
