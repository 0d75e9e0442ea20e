/**
 * Workflow interceptors of the worker, bundled with the workflows (worker/bundle.ts). Workflow
 * code: it imports only `@temporalio/workflow` and types. It observes and never commands, so
 * it changes no history and every recorded history still replays.
 */
import { isCancellation, proxySinks, TemporalFailure, workflowInfo, type Sinks, type WorkflowInboundCallsInterceptor, type WorkflowInterceptorsFactory } from '@temporalio/workflow';
import type { Action } from '../common/types';
import type { DeploymentInput } from '../workflows/deployment';

/** How a deployment workflow ended, as the worker's metrics count it. */
export interface DeploymentEnded {
  environment: string;
  action: Action;
  result: 'Succeeded' | 'Failed' | 'Cancelled';
  /** ISO-8601 time of the deployed commit, for the lead time. */
  commitDate: string;
  /** A drift self-heal deploying an applied commit again: no change, so no lead time. */
  redeploy: boolean;
}

/** The sink the deployment interceptor reports to; the worker counts what it receives (worker/metrics.ts). */
export interface DeploymentMetricsSinks extends Sinks {
  deploymentMetrics: {
    ended(event: DeploymentEnded): void;
  };
}

/** The workflow type the interceptor watches (workflows/deployment.ts). */
const DEPLOYMENT_WORKFLOW = 'deploymentWorkflow';

/**
 * Reports each deployment's end to the worker through a sink. Sinks are not called while a
 * history replays, so a deployment is counted once, by the worker that ends it. An error that
 * is not a Temporal failure fails the workflow task, not the deployment, and is not counted.
 */
class DeploymentMetricsInterceptor implements WorkflowInboundCallsInterceptor {
  private readonly sinks = proxySinks<DeploymentMetricsSinks>();

  async execute(input: Parameters<NonNullable<WorkflowInboundCallsInterceptor['execute']>>[0], next: Parameters<NonNullable<WorkflowInboundCallsInterceptor['execute']>>[1]): Promise<unknown> {
    if (workflowInfo().workflowType !== DEPLOYMENT_WORKFLOW) return next(input);
    const { desired } = input.args[0] as DeploymentInput;
    const report = (result: DeploymentEnded['result']) =>
      this.sinks.deploymentMetrics.ended({ environment: desired.environment, action: desired.action, result, commitDate: desired.commit.date, redeploy: desired.redeploy === true });
    try {
      const outcome = await next(input);
      report('Succeeded');
      return outcome;
    } catch (error) {
      if (isCancellation(error)) report('Cancelled');
      else if (error instanceof TemporalFailure) report('Failed');
      throw error;
    }
  }
}

/** The factory the SDK looks for in a workflow interceptor module. */
export const interceptors: WorkflowInterceptorsFactory = () => ({ inbound: [new DeploymentMetricsInterceptor()] });
