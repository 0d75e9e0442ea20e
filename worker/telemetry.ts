import { IllegalStateError } from '@temporalio/common';
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import { freePort } from './dev-server';

/** What {@link installRuntime} did. */
export interface RuntimeInstalled {
  /** Where the SDK's Prometheus exporter answers (`http://127.0.0.1:<port>/metrics`); absent when it was not asked for or could not start. */
  sdkMetricsUrl?: string;
  /** Why the SDK's metrics are not exported, when they were asked for and are not. */
  problem?: string;
}

/** Attempts at binding the SDK's exporter: another process may take the free port found first. */
const BIND_ATTEMPTS = 3;

/**
 * Installs the Temporal SDK's Runtime for this process, once, before any connection or worker
 * exists: its logger at `logLevel`, and with `sdkMetrics` its Prometheus exporter on a free
 * loopback port, which the health endpoint reads and serves beside the worker's own metrics.
 * Names follow Prometheus' conventions: durations in seconds with `_seconds`, counters with
 * `_total`. A Runtime installed earlier in the process is kept (its logger and exporter, if any).
 * @example const { sdkMetricsUrl } = await installRuntime({ logLevel: 'INFO', sdkMetrics: true });
 */
export async function installRuntime(options: { logLevel?: LogLevel; sdkMetrics: boolean }): Promise<RuntimeInstalled> {
  const logger = options.logLevel ? new DefaultLogger(options.logLevel) : undefined;
  if (!logger && !options.sdkMetrics) return {};
  let problem: string | undefined;
  for (let attempt = 1; options.sdkMetrics && attempt <= BIND_ATTEMPTS; attempt++) {
    const bindAddress = `127.0.0.1:${await freePort()}`;
    try {
      Runtime.install({
        ...(logger ? { logger } : {}),
        telemetryOptions: { metrics: { prometheus: { bindAddress, countersTotalSuffix: true, unitSuffix: true, useSecondsForDurations: true } } },
      });
      return { sdkMetricsUrl: `http://${bindAddress}/metrics` };
    } catch (error) {
      if (error instanceof IllegalStateError) return { problem: `the Temporal SDK's Runtime was installed before the worker started: ${error.message}` };
      problem = `the Temporal SDK's Prometheus exporter did not start on ${bindAddress}: ${(error as Error).message}`;
    }
  }
  try {
    Runtime.install(logger ? { logger } : {});
  } catch (error) {
    if (!(error instanceof IllegalStateError)) throw error;
    // Installed already by an earlier worker in this process: keep it.
  }
  return problem ? { problem } : {};
}
