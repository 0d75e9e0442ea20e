import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Worker } from '@temporalio/worker';
import type { Registry } from 'prom-client';

/** A running health endpoint. */
export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

/** What {@link startHealthServer} serves. */
export interface HealthOptions {
  worker: Pick<Worker, 'getStatus'>;
  /** The worker's own metrics (worker/metrics.ts). */
  registry: Registry;
  /** The Temporal SDK's Prometheus exporter on the loopback (worker/telemetry.ts), appended to each scrape. */
  sdkMetricsUrl?: string;
  /** Why the SDK's metrics are missing, said in a comment of each scrape. */
  sdkMetricsProblem?: string;
  /** 0 picks a free one. */
  port: number;
  host?: string;
}

/** How long a scrape waits for the SDK's exporter before it answers without its metrics. */
const SDK_SCRAPE_TIMEOUT_MS = 2_000;

/** The SDK's exposition, or a comment saying why it is missing (a scrape still gets the worker's own). */
async function sdkMetrics(options: HealthOptions): Promise<string> {
  if (!options.sdkMetricsUrl) return options.sdkMetricsProblem ? `# ${options.sdkMetricsProblem.replace(/\n/g, ' ')}\n` : '';
  try {
    const response = await fetch(options.sdkMetricsUrl, { signal: AbortSignal.timeout(SDK_SCRAPE_TIMEOUT_MS) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const text = await response.text();
    return text.endsWith('\n') || text === '' ? text : `${text}\n`;
  } catch (error) {
    return `# the Temporal SDK's metrics could not be read from ${options.sdkMetricsUrl}: ${String((error as Error).message).replace(/\n/g, ' ')}\n`;
  }
}

/**
 * Serves the worker's `GET /healthz` (200 while it runs and polls, 503 otherwise: for a
 * container's liveness probe) and `GET /metrics`: in one scrape, the worker's own metrics
 * (prom-client) followed by the Temporal SDK's (task latencies, schedule-to-start, slots, polls).
 * The two share no metric name: the SDK's begin with `temporal_`.
 * @example await startHealthServer({ worker, registry: metrics.registry, sdkMetricsUrl, port: 9464 })
 */
export async function startHealthServer(options: HealthOptions): Promise<HealthServer> {
  const { worker, registry } = options;
  const server = http.createServer((request, response) => {
    if (request.method === 'GET' && request.url === '/healthz') {
      const status = worker.getStatus();
      const healthy = status.runState === 'RUNNING' && status.workflowPollerState !== 'FAILED' && status.activityPollerState !== 'FAILED';
      response.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ status: healthy ? 'ok' : 'unhealthy', runState: status.runState, workflowPoller: status.workflowPollerState, activityPoller: status.activityPollerState }));
      return;
    }
    if (request.method === 'GET' && request.url === '/metrics') {
      Promise.all([registry.metrics(), sdkMetrics(options)]).then(
        ([own, sdk]) => {
          response.writeHead(200, { 'content-type': registry.contentType });
          response.end(`${own}\n${sdk}`);
        },
        (error: unknown) => {
          response.writeHead(500, { 'content-type': 'text/plain' });
          response.end(`metrics not collected: ${(error as Error).message}\n`);
        },
      );
      return;
    }
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ error: 'not found: the worker serves GET /healthz and GET /metrics' }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
