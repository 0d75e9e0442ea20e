import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { DeploymentResult, SyncStatus } from '../common/types';
import type { EnvironmentDetail } from '../starter/status';

/** Upper bounds (seconds) of the deployment duration histogram. */
export const DURATION_BUCKETS = [10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200];

/**
 * The server process's own metrics (`process_*`, `nodejs_*`: CPU, memory, event loop lag),
 * collected by prom-client for as long as the registry lives: one per server.
 */
export function createProcessMetrics(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** Seconds from start to end of each finished deployment in an environment's recent history. */
function durations(detail: EnvironmentDetail): number[] {
  return detail.deployments
    .filter((r) => r.result && r.startedAt && r.endedAt)
    .map((r) => (Date.parse(r.endedAt!) - Date.parse(r.startedAt!)) / 1000)
    .filter((s) => Number.isFinite(s) && s >= 0);
}

/**
 * The environments' metrics as one status read sees them, in a registry of their own: every
 * value is set from `details`, so a scrape never mixes two reads. Pure but for the registry it
 * returns.
 */
export function environmentMetrics(details: EnvironmentDetail[]): Registry {
  const registers = [new Registry()];

  const environments = new Gauge({ name: 'cfn_gitops_environments', help: 'Environments by sync status (git main against AWS).', labelNames: ['sync_status'], registers });
  for (const status of Object.values(SyncStatus)) environments.set({ sync_status: status }, details.filter((d) => d.syncStatus === status).length);

  const info = new Gauge({
    name: 'cfn_gitops_environment_info',
    help: 'One series per environment with its phase, sync status and versions as labels; always 1.',
    labelNames: ['environment', 'phase', 'sync_status', 'deployed_version', 'desired_version'],
    registers,
  });
  for (const d of details) {
    info.set({ environment: d.environment, phase: d.phase ?? 'none', sync_status: d.syncStatus, deployed_version: d.deployedVersion ?? '', desired_version: d.desiredVersion ?? '' }, 1);
  }

  new Gauge({ name: 'cfn_gitops_pending_approvals', help: 'Deployments waiting for a person to approve or reject them.', registers }).set(details.filter((d) => d.pendingApproval).length);

  // The workflow's own count, which survives continue-as-new: monotonic while the environment lives.
  const started = new Counter({ name: 'cfn_gitops_deployments_started_total', help: 'Deployments requested in each environment since its workflow began.', labelNames: ['environment'], registers });
  for (const d of details) if (d.deploymentCount !== undefined) started.inc({ environment: d.environment }, d.deploymentCount);

  const byResult = new Gauge({
    name: 'cfn_gitops_deployments',
    help: "Finished deployments by result in each environment's recent history (the workflow keeps the last 20).",
    labelNames: ['environment', 'result'],
    registers,
  });
  for (const d of details) {
    for (const result of Object.values(DeploymentResult)) {
      const count = d.deployments.filter((r) => r.result === result).length;
      if (count > 0) byResult.set({ environment: d.environment, result }, count);
    }
  }

  // Of the recent history, so a bucket can shrink as old deployments leave it: read it as it stands (histogram_quantile over the buckets), not through rate().
  const duration = new Histogram({
    name: 'cfn_gitops_deployment_duration_seconds',
    help: "Start to end of the finished deployments in each environment's recent history (an approval wait included).",
    labelNames: ['environment'],
    buckets: DURATION_BUCKETS,
    registers,
  });
  for (const d of details) for (const seconds of durations(d)) duration.observe({ environment: d.environment }, seconds);

  const last = new Gauge({ name: 'cfn_gitops_last_deployment_timestamp_seconds', help: 'When the last deployment of each environment ended (Unix time).', labelNames: ['environment', 'result'], registers });
  for (const d of details) {
    if (d.lastResultAt) last.set({ environment: d.environment, result: d.lastResult ?? '' }, Math.round(Date.parse(d.lastResultAt) / 1000));
  }
  return registers[0]!;
}

/**
 * The Prometheus text exposition (format 0.0.4) of the environments' states, followed by the
 * process's own metrics when `processMetrics` is given.
 * @example await renderMetrics(await collectDetails({ client, settings }), createProcessMetrics())
 */
export function renderMetrics(details: EnvironmentDetail[], processMetrics?: Registry): Promise<string> {
  const registries = [environmentMetrics(details), ...(processMetrics ? [processMetrics] : [])];
  return Registry.merge(registries).metrics();
}
