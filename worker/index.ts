import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { NativeConnection, Runtime, Worker, type LogLevel, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createAwsClients } from './aws-clients';
import { WORKFLOW_INTERCEPTOR_MODULES } from './bundle';
import { connectionOptions } from '../common/temporal-settings';
import { connectClient } from '../starter/client';
import { startHealthServer } from './health';
import { heapAdvice } from './memory';
import { createWorkerMetrics } from './metrics';
import { ensureDriftSchedule } from './schedule';
import type { WorkerSettings, WorkerTuning } from './settings';
import { installRuntime } from './telemetry';

/** The workflow bundle `npm run build` writes; without it the worker bundles at start (a few seconds). */
const PREBUILT_BUNDLE = path.resolve(__dirname, '..', 'workflow-bundle.js');

/** Options of {@link runWorker} beyond the settings. */
export interface RunWorkerOptions {
  /** Resolves when the worker should stop; SIGINT and SIGTERM also stop it. */
  stop?: Promise<void>;
  /** Called once the worker polls its task queue. */
  onReady?: () => void;
  /** Least level logged (INFO by default); the Runtime is process-wide, so the first worker decides. */
  logLevel?: LogLevel;
}

/**
 * Where the workflows come from: the prebuilt bundle when there is one (it holds the worker's
 * workflow interceptors), else the sources with the interceptors.
 */
export function workflowSource(): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath' | 'interceptors'> {
  if (existsSync(PREBUILT_BUNDLE)) return { workflowBundle: { codePath: PREBUILT_BUNDLE } };
  return { workflowsPath: require.resolve('../workflows'), interceptors: { workflowModules: WORKFLOW_INTERCEPTOR_MODULES } };
}

/** The SDK's options for the tuning that is set; what is unset keeps the SDK's own default. */
export function tuningOptions(tuning: WorkerTuning): Partial<WorkerOptions> {
  return {
    ...(tuning.maxActivities === undefined ? {} : { maxConcurrentActivityTaskExecutions: tuning.maxActivities }),
    ...(tuning.maxWorkflowTasks === undefined ? {} : { maxConcurrentWorkflowTaskExecutions: tuning.maxWorkflowTasks }),
    // maxConcurrent*TaskPolls are declared by this SDK version but not read: the poller behaviour is.
    ...(tuning.activityPollers === undefined ? {} : { activityTaskPollerBehavior: { type: 'simple-maximum', maximum: tuning.activityPollers } }),
    ...(tuning.workflowPollers === undefined ? {} : { workflowTaskPollerBehavior: { type: 'simple-maximum', maximum: tuning.workflowPollers } }),
    ...(tuning.maxActivitiesPerSecond === undefined ? {} : { maxTaskQueueActivitiesPerSecond: tuning.maxActivitiesPerSecond }),
    ...(tuning.maxCachedWorkflows === undefined ? {} : { maxCachedWorkflows: tuning.maxCachedWorkflows }),
  };
}

/**
 * Runs the worker until SIGINT, SIGTERM (the SDK's default shutdown signals) or `options.stop`:
 * it finishes the tasks in hand and closes its connections (graceful shutdown).
 * @example await runWorker(readWorkerSettings());
 */
export async function runWorker(settings: WorkerSettings, options: RunWorkerOptions = {}): Promise<void> {
  // Before any connection: the Runtime is the process's, and the first connection would install a default one.
  const runtime = await installRuntime({ logLevel: options.logLevel, sdkMetrics: settings.healthPort !== undefined });
  if (runtime.problem) Runtime.instance().logger.warn(`the worker's /metrics serves no Temporal SDK metrics: ${runtime.problem}`);
  const heap = heapAdvice({ heapLimitMb: getHeapStatistics().heap_size_limit / 2 ** 20, maxCachedWorkflows: settings.tuning.maxCachedWorkflows ?? 0 });
  if (heap) Runtime.instance().logger[heap.level](heap.message);
  const metrics = createWorkerMetrics();
  const aws = createAwsClients({ endpointUrl: settings.endpointUrl, onAttempt: (attempt) => metrics.awsAttempt(attempt) });
  const connection = await NativeConnection.connect(connectionOptions(settings.temporal, readFileSync));
  // A client of its own: the drift sweep lists, queries and signals environment workflows, and the worker keeps the schedule.
  const temporal = await connectClient(settings.temporal);
  try {
    const worker = await Worker.create({
      connection,
      namespace: settings.temporal.namespace,
      taskQueue: settings.temporal.taskQueue,
      ...workflowSource(),
      activities: createActivities({
        aws,
        policy: settings.policy,
        timing: settings.poll,
        defaultRegion: settings.region,
        temporal: temporal.client,
        driftConcurrency: settings.driftConcurrency,
        installation: settings.installation,
      }),
      sinks: metrics.sinks,
      shutdownGraceTime: '10s',
      ...tuningOptions(settings.tuning),
    });
    metrics.watch(worker);
    // Deployments do not depend on the schedule: a refusal (e.g. no permission on schedules) is logged, not fatal.
    await ensureDriftSchedule(temporal.client, { taskQueue: settings.temporal.taskQueue, intervalMs: settings.driftIntervalMs }).then(
      (outcome) => Runtime.instance().logger.info(`drift schedule ${outcome}`, { intervalMs: settings.driftIntervalMs }),
      (error: unknown) => Runtime.instance().logger.error(`drift schedule not ensured: ${(error as Error).message}`),
    );
    void options.stop?.then(() => worker.shutdown());
    const running = worker.run();
    const health =
      settings.healthPort === undefined
        ? undefined
        : await startHealthServer({ worker, registry: metrics.registry, sdkMetricsUrl: runtime.sdkMetricsUrl, sdkMetricsProblem: runtime.problem, port: settings.healthPort });
    options.onReady?.();
    try {
      await running;
    } finally {
      await health?.close();
    }
  } finally {
    await temporal.close();
    await connection.close();
    aws.destroy();
  }
}
