import type { AddressInfo } from 'node:net';
import type { LogFn } from './context';
import { Emulator } from './emulator';
import { EmulatorServer } from './server';
import { StateFile } from './state';
import { DEFAULT_TIMING, type EmulatorTiming } from './timing';

export type { LogFn } from './context';
export type { CallRecord, OperationRecord } from './journal';
export type { FaultInput } from './faults';
export type { StackPlan } from './plans';
export type { ExecutionPlan } from './codepipeline/model';
export { zipFiles } from './codepipeline/actions';
export { DEFAULT_TIMING, type EmulatorTiming } from './timing';

/** Options of `startEmulator`. */
export interface EmulatorOptions {
  /** Port to listen on; 0 (the default) picks a free port. */
  port?: number;
  /** Address to listen on; 127.0.0.1 by default. */
  host?: string;
  /** A JSON file that keeps the state across restarts (read at start, written in the background). */
  stateFile?: string;
  /** How long simulated work takes; unset fields keep the defaults. */
  timing?: Partial<EmulatorTiming>;
  /** Region used when a request carries no SigV4 credential scope; us-east-1 by default. */
  region?: string;
  /** Account id in ARNs; 123456789012 by default. */
  accountId?: string;
  /** How many calls the call log keeps; 100000 by default. */
  maxCallLog?: number;
  /** Structured log sink; by default only errors are written to stderr as JSON lines. */
  log?: LogFn;
}

/** A running emulator. */
export interface RunningEmulator {
  /** Base URL, e.g. `http://127.0.0.1:4566`: the value for AWS_ENDPOINT_URL. */
  url: string;
  port: number;
  /** Stops listening, cancels pending simulated work and writes the state file. */
  close(): Promise<void>;
}

const defaultLog: LogFn = (level, message, fields) => {
  if (level !== 'error') return;
  process.stderr.write(`${JSON.stringify({ level, time: new Date().toISOString(), component: 'emulator', message, ...fields })}\n`);
};

/**
 * Starts the local AWS emulator: CloudFormation, CodePipeline and S3 on one endpoint, plus the
 * control API under `/_emulator`.
 * @throws Error when the port is taken or the state file cannot be read.
 * @example
 * const emulator = await startEmulator({ port: 4566, timing: { stackOperationMs: 200 } });
 * process.env.AWS_ENDPOINT_URL = emulator.url;
 * // ... use the AWS SDK ...
 * await emulator.close();
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const log = options.log ?? defaultLog;
  let stateFile: StateFile | undefined;
  const emulator = new Emulator({
    defaultRegion: options.region ?? 'us-east-1',
    accountId: options.accountId ?? '123456789012',
    timing: { ...DEFAULT_TIMING, ...options.timing },
    maxCallLog: options.maxCallLog ?? 100_000,
    log,
    onChange: () => stateFile?.markDirty(),
  });
  if (options.stateFile) {
    const saved = StateFile.read(options.stateFile);
    if (saved !== undefined) emulator.restore(saved);
    stateFile = new StateFile(options.stateFile, () => emulator.snapshot(), log);
  }
  const http = new EmulatorServer(emulator);
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    http.server.once('error', reject);
    http.server.listen(options.port ?? 0, host, () => {
      http.server.off('error', reject);
      resolve();
    });
  });
  const port = (http.server.address() as AddressInfo).port;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    close() {
      closing ??= (async () => {
        emulator.scheduler.cancelAll();
        await new Promise<void>((resolve) => {
          http.server.close(() => resolve());
          http.server.closeAllConnections();
        });
        if (stateFile) {
          stateFile.markDirty();
          await stateFile.flush();
        }
      })();
      return closing;
    },
  };
}
