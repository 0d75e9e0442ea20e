import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { redactUrls } from '../common/redact';
import { connectClient } from '../starter/client';
import { createApp } from './app';
import { createGitFetcher } from './git-fetcher';
import type { ServerSettings } from './settings';

export { createApp, type ServerDeps, type ServerLog } from './app';
export { createGitFetcher, type GitFetcher } from './git-fetcher';
export { readServerSettings, type ServerSettings } from './settings';

/** Where to listen and what to tell once listening. */
export interface RunServerOptions {
  port: number;
  /** Address to bind; default: 127.0.0.1, the loopback only (`0.0.0.0` for every interface, as in a container). */
  host?: string;
  /** Called with the server's URL once it listens. */
  onListening?: (url: string) => void;
  /** Resolves when the server should stop; SIGINT and SIGTERM also stop it. */
  stop?: Promise<void>;
}

/**
 * Runs the API server until SIGINT, SIGTERM or `options.stop`, then closes it and the Temporal connection.
 * @throws the connection error when Temporal cannot be reached at start.
 * @example await runServer(readServerSettings(), { port: 3000 });
 */
export async function runServer(settings: ServerSettings, options: RunServerOptions): Promise<void> {
  // Every line, whatever its fields: git errors quote CFN_GITOPS_REPO, which may carry a token.
  const log = pino({ name: 'cfn-gitops-server', hooks: { streamWrite: redactUrls } }, pino.destination(2));
  const temporal = await connectClient(settings.temporal);
  try {
    const git = settings.repo ? createGitFetcher({ repo: settings.repo, cacheDir: settings.repoCache }) : undefined;
    const app = createApp({ client: temporal.client, settings, git, log, warmStatus: true });
    const server = createServer(app);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: options.port, host: options.host ?? '127.0.0.1' }, resolve);
    });
    // The address really bound, so `0.0.0.0` says plainly that every interface listens.
    const address = server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    options.onListening?.(`http://${host}:${address.port}`);
    await new Promise<void>((resolve) => {
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
      void options.stop?.then(resolve);
    });
    server.closeIdleConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  } finally {
    await temporal.close();
  }
}
