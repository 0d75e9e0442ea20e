import { DeploymentResult, SyncStatus } from '../common/types';
import type { EnvironmentDetail } from '../starter/status';

/** Upper bounds (seconds) of the deployment duration histogram. */
export const DURATION_BUCKETS = [10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200];

/** A label value in the exposition format: backslash, double quote and newline escaped. */
function label(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labels(pairs: Record<string, string>): string {
  const text = Object.entries(pairs)
    .map(([k, v]) => `${k}="${label(v)}"`)
    .join(',');
  return text ? `{${text}}` : '';
}

/** Metric families, written in the order they are declared. */
class Exposition {
  private readonly lines: string[] = [];
  family(name: string, type: 'gauge' | 'counter' | 'histogram', help: string): this {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    return this;
  }
  sample(name: string, pairs: Record<string, string>, value: number): this {
    this.lines.push(`${name}${labels(pairs)} ${Number.isFinite(value) ? value : 'NaN'}`);
    return this;
  }
  toString(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

/**
 * The Prometheus text exposition (format 0.0.4) of the environments' states. Pure.
 * @example renderMetrics(await collectDetails({ client, settings }))
 */
export function renderMetrics(details: EnvironmentDetail[]): string {
  const out = new Exposition();

  out.family('cfn_gitops_environments', 'gauge', 'Environments by sync status (git main against AWS).');
  for (const status of Object.values(SyncStatus)) {
    out.sample('cfn_gitops_environments', { sync_status: status }, details.filter((d) => d.syncStatus === status).length);
  }

  out.family('cfn_gitops_environment_info', 'gauge', 'One series per environment with its phase, sync status and versions as labels; always 1.');
  for (const d of details) {
    out.sample(
      'cfn_gitops_environment_info',
      { environment: d.environment, phase: d.phase ?? 'none', sync_status: d.syncStatus, deployed_version: d.deployedVersion ?? '', desired_version: d.desiredVersion ?? '' },
      1,
    );
  }

  out.family('cfn_gitops_pending_approvals', 'gauge', 'Deployments waiting for a person to approve or reject them.');
  out.sample('cfn_gitops_pending_approvals', {}, details.filter((d) => d.pendingApproval).length);

  out.family('cfn_gitops_deployments_started_total', 'counter', 'Deployments requested in each environment since its workflow began.');
  for (const d of details) {
    if (d.deploymentCount !== undefined) out.sample('cfn_gitops_deployments_started_total', { environment: d.environment }, d.deploymentCount);
  }

  out.family('cfn_gitops_deployments', 'gauge', "Finished deployments by result in each environment's recent history (the workflow keeps the last 20).");
  for (const d of details) {
    for (const result of Object.values(DeploymentResult)) {
      const count = d.deployments.filter((r) => r.result === result).length;
      if (count > 0) out.sample('cfn_gitops_deployments', { environment: d.environment, result }, count);
    }
  }

  out.family('cfn_gitops_deployment_duration_seconds', 'histogram', "Start to end of the finished deployments in each environment's recent history (an approval wait included).");
  for (const d of details) {
    const durations = d.deployments
      .filter((r) => r.result && r.startedAt && r.endedAt)
      .map((r) => (Date.parse(r.endedAt!) - Date.parse(r.startedAt!)) / 1000)
      .filter((s) => Number.isFinite(s) && s >= 0);
    if (durations.length === 0) continue;
    for (const bound of DURATION_BUCKETS) {
      out.sample('cfn_gitops_deployment_duration_seconds_bucket', { environment: d.environment, le: String(bound) }, durations.filter((s) => s <= bound).length);
    }
    out.sample('cfn_gitops_deployment_duration_seconds_bucket', { environment: d.environment, le: '+Inf' }, durations.length);
    out.sample('cfn_gitops_deployment_duration_seconds_sum', { environment: d.environment }, Math.round(durations.reduce((a, b) => a + b, 0) * 1000) / 1000);
    out.sample('cfn_gitops_deployment_duration_seconds_count', { environment: d.environment }, durations.length);
  }

  out.family('cfn_gitops_last_deployment_timestamp_seconds', 'gauge', 'When the last deployment of each environment ended (Unix time).');
  for (const d of details) {
    if (d.lastResultAt) out.sample('cfn_gitops_last_deployment_timestamp_seconds', { environment: d.environment, result: d.lastResult ?? '' }, Math.round(Date.parse(d.lastResultAt) / 1000));
  }
  return out.toString();
}
