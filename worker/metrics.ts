import type { InjectedSinks, Worker } from '@temporalio/worker';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { classifyAwsError } from '../activities/aws-errors';
import { ErrorType } from '../common/errors';
import type { AwsAttempt } from './aws-clients';
import type { DeploymentMetricsSinks } from './workflow-interceptors';

/** Upper bounds (seconds) of the lead time histogram: a minute to a week. */
export const LEAD_TIME_BUCKETS = [60, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400, 259200, 604800];

/** The worker's own metrics, in prom-client, and the hooks that feed them. */
export interface WorkerMetrics {
  /** Everything below, and the process's metrics (`process_*`, `nodejs_*`). */
  readonly registry: Registry;
  /** The sink worker/workflow-interceptors.ts reports each deployment's end to. */
  readonly sinks: InjectedSinks<DeploymentMetricsSinks>;
  /** Counts one attempt of one AWS call (worker/aws-clients.ts calls it). */
  awsAttempt(attempt: AwsAttempt): void;
  /** From now on, the `cfn_gitops_worker_*` gauges read this worker's status at each scrape. */
  watch(worker: Pick<Worker, 'getStatus'>): void;
}

/** The code AWS (or the network) answered an attempt with: AWS's error name, or Node's error code. */
function errorCode(error: unknown): string {
  const err = error as { name?: string; code?: string } | undefined;
  const code = err?.name && err.name !== 'Error' ? err.name : (err?.code ?? err?.name ?? 'Unknown');
  return String(code).slice(0, 100);
}

/**
 * The worker's metrics: its state and slots, each deployment's end and lead time (commit to
 * Succeeded), and AWS calls with their errors and throttling. The Temporal SDK's own metrics
 * are not here: worker/health.ts serves them beside these.
 * @example const metrics = createWorkerMetrics(); Worker.create({ ..., sinks: metrics.sinks })
 */
export function createWorkerMetrics(options: { now?: () => number } = {}): WorkerMetrics {
  const now = options.now ?? Date.now;
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });
  let worker: Pick<Worker, 'getStatus'> | undefined;

  const status = () => worker?.getStatus();
  new Gauge({
    name: 'cfn_gitops_worker_running',
    help: '1 while the worker runs.',
    registers,
    collect() {
      this.set(status()?.runState === 'RUNNING' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'cfn_gitops_worker_activities_in_flight',
    help: 'Activities the worker is running now.',
    registers,
    collect() {
      this.set(status()?.numInFlightActivities ?? 0);
    },
  });
  new Gauge({
    name: 'cfn_gitops_worker_workflow_activations_in_flight',
    help: 'Workflow activations the worker is running now.',
    registers,
    collect() {
      this.set(status()?.numInFlightWorkflowActivations ?? 0);
    },
  });
  new Gauge({
    name: 'cfn_gitops_worker_cached_workflows',
    help: "Workflows held in the worker's sticky cache.",
    registers,
    collect() {
      this.set(status()?.numCachedWorkflows ?? 0);
    },
  });

  const finished = new Counter({
    name: 'cfn_gitops_deployments_finished_total',
    help: "Deployments this worker saw end, by environment, action and result (Succeeded, Failed, Cancelled). Requests rejected, expired or superseded never start one: the server's cfn_gitops_deployments has them.",
    labelNames: ['environment', 'action', 'result'],
    registers,
  });
  const leadTime = new Histogram({
    name: 'cfn_gitops_deployment_lead_time_seconds',
    help: "From a commit's time to its deployment's Succeeded, per environment (a drift self-heal is no change and is not counted).",
    labelNames: ['environment'],
    buckets: LEAD_TIME_BUCKETS,
    registers,
  });

  const requests = new Counter({ name: 'cfn_gitops_aws_requests_total', help: 'Attempts of AWS calls (each SDK retry counts), by service and operation.', labelNames: ['service', 'operation'], registers });
  const errors = new Counter({
    name: 'cfn_gitops_aws_errors_total',
    help: "Attempts of AWS calls answered with an error, by service, operation and AWS's error code (or the network's).",
    labelNames: ['service', 'operation', 'code'],
    registers,
  });
  const throttled = new Counter({ name: 'cfn_gitops_aws_throttled_total', help: 'Attempts of AWS calls that AWS throttled (Throttling, ThrottlingException, SlowDown, …).', labelNames: ['service', 'operation'], registers });

  return {
    registry,
    sinks: {
      deploymentMetrics: {
        ended: {
          fn(_info, event) {
            finished.inc({ environment: event.environment, action: event.action, result: event.result });
            const committed = Date.parse(event.commitDate);
            if (event.result === 'Succeeded' && !event.redeploy && Number.isFinite(committed)) {
              leadTime.observe({ environment: event.environment }, Math.max(0, (now() - committed) / 1000));
            }
          },
          callDuringReplay: false,
        },
      },
    },
    awsAttempt({ service, operation, error }) {
      requests.inc({ service, operation });
      if (error === undefined) return;
      errors.inc({ service, operation, code: errorCode(error) });
      if (classifyAwsError(error) === ErrorType.Throttled) throttled.inc({ service, operation });
    },
    watch(watched) {
      worker = watched;
    },
  };
}
