import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Worker } from '@temporalio/worker';

/** A running health endpoint. */
export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

/**
 * Serves the worker's `GET /healthz` (200 while it runs and polls, 503 otherwise: for a
 * container's liveness probe) and `GET /metrics` (Prometheus text: state, in-flight tasks,
 * cached workflows) on `port` (0 picks a free one).
 */
export async function startHealthServer(worker: Worker, port: number, host = '0.0.0.0'): Promise<HealthServer> {
  const server = http.createServer((request, response) => {
    const status = worker.getStatus();
    if (request.method === 'GET' && request.url === '/healthz') {
      const healthy = status.runState === 'RUNNING' && status.workflowPollerState !== 'FAILED' && status.activityPollerState !== 'FAILED';
      response.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ status: healthy ? 'ok' : 'unhealthy', runState: status.runState, workflowPoller: status.workflowPollerState, activityPoller: status.activityPollerState }));
      return;
    }
    if (request.method === 'GET' && request.url === '/metrics') {
      const lines = [
        '# HELP cfn_gitops_worker_running 1 while the worker runs.',
        '# TYPE cfn_gitops_worker_running gauge',
        `cfn_gitops_worker_running ${status.runState === 'RUNNING' ? 1 : 0}`,
        '# HELP cfn_gitops_worker_activities_in_flight Activities the worker is running now.',
        '# TYPE cfn_gitops_worker_activities_in_flight gauge',
        `cfn_gitops_worker_activities_in_flight ${status.numInFlightActivities}`,
        '# HELP cfn_gitops_worker_workflow_activations_in_flight Workflow activations the worker is running now.',
        '# TYPE cfn_gitops_worker_workflow_activations_in_flight gauge',
        `cfn_gitops_worker_workflow_activations_in_flight ${status.numInFlightWorkflowActivations}`,
        '# HELP cfn_gitops_worker_cached_workflows Workflows held in the worker\'s sticky cache.',
        '# TYPE cfn_gitops_worker_cached_workflows gauge',
        `cfn_gitops_worker_cached_workflows ${status.numCachedWorkflows}`,
      ];
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      response.end(`${lines.join('\n')}\n`);
      return;
    }
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ error: 'not found: the worker serves GET /healthz and GET /metrics' }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
