/**
 * Benchmark of how the deployment waits poll (`npm run bench:polling`; not part of the tests).
 *
 * A Temporal dev server of its own, the local AWS emulator and a worker with the project's
 * polling defaults (CFN_GITOPS_POLL_MIN 1s, CFN_GITOPS_POLL_MAX 15s, or what the environment
 * sets) run real deployments: a new app version on an existing pipeline, whose execution lasts
 * ~2 s (short) or ~60 s (long, set through the emulator's next-execution outcomes). For each it
 * prints the AWS calls the deployment spent and the delay between the execution ending in AWS
 * (the emulator's operations log) and the workflow noticing it (the wait activity's completion
 * in the deployment's history), beside the AWS CLI waiters' fixed polling, computed from the
 * waiter config in botocore's waiters-2.json (CloudFormation's StackUpdateComplete; CodePipeline
 * ships no waiter, so scripts poll it the same way).
 *
 * Environment: BENCH_SHORT_MS (2000), BENCH_LONG_MS (60000), BENCH_SHORT_SAMPLES (5),
 * BENCH_LONG_SAMPLES (3), CFN_GITOPS_POLL_MIN / CFN_GITOPS_POLL_MAX.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { BACKOFF } from '../activities/poll';
import { stateQuery, submitUpdate, WorkflowType } from '../common/messages';
import { environmentWorkflowId } from '../common/names';
import type { DesiredState, EnvironmentState } from '../common/types';
import { startEmulator } from '../emulator';
import { createAwsClients } from '../worker/aws-clients';
import { createWorkerMetrics } from '../worker/metrics';
import { freePort, startDevServer } from '../worker/dev-server';
import { readWorkerSettings } from '../worker/settings';

const SHORT_MS = Number(process.env.BENCH_SHORT_MS ?? 2_000);
const LONG_MS = Number(process.env.BENCH_LONG_MS ?? 60_000);
const SHORT_SAMPLES = Number(process.env.BENCH_SHORT_SAMPLES ?? 5);
const LONG_SAMPLES = Number(process.env.BENCH_LONG_SAMPLES ?? 3);
const TASK_QUEUE = 'bench-polling';
const BUCKET = 'cfn-gitops-artifacts';
const ROOT = path.resolve(__dirname, '..');
const EXAMPLE = path.join(ROOT, 'examples', 'gitops-repo', 'common');
const TEMPLATES = { pipeline: readFileSync(path.join(EXAMPLE, 'pipeline.yaml'), 'utf8'), environment: readFileSync(path.join(EXAMPLE, 'environment.yaml'), 'utf8') };

interface CallRecord { time: string; operation: string; target?: string }
interface OperationRecord { operation: string; target: string; startedAt: string; endedAt?: string; pipelineExecutionId?: string }

/** One measured deployment. */
interface Sample {
  environment: string;
  /** How long the pipeline execution ran in AWS. */
  durationMs: number;
  /** AWS calls the deployment made, all services. */
  calls: number;
  /** GetPipelineExecution calls: the polling of the execution. */
  polls: number;
  /** From the execution's end in AWS to the wait activity's completion in the workflow's history. */
  delayMs: number;
  /** The calls besides the polls, by operation (ValidateTemplate shared out evenly). */
  others: Map<string, number>;
}

/** Sums `weight` of each item by `key`. */
function tally<T>(items: T[], key: (item: T) => string, weight: (item: T) => number): Map<string, number> {
  const sums = new Map<string, number>();
  for (const item of items) sums.set(key(item), (sums.get(key(item)) ?? 0) + weight(item));
  return sums;
}

/** The AWS CLI waiter's polling: delay and attempts from botocore's waiters-2.json. */
function cliWaiter(): { delayS: number; maxAttempts: number; source: string } {
  const candidates: string[] = [];
  const lib = path.join(ROOT, '.tools', 'venv', 'lib');
  if (existsSync(lib)) {
    for (const python of readdirSync(lib)) {
      for (const botocore of ['awscli/botocore', 'botocore']) {
        candidates.push(path.join(lib, python, 'site-packages', botocore, 'data', 'cloudformation', '2010-05-15', 'waiters-2.json'));
      }
    }
  }
  for (const file of candidates) {
    if (!existsSync(file)) continue;
    const waiter = (JSON.parse(readFileSync(file, 'utf8')) as { waiters: Record<string, { delay: number; maxAttempts: number }> }).waiters.StackUpdateComplete!;
    return { delayS: waiter.delay, maxAttempts: waiter.maxAttempts, source: path.relative(ROOT, file) };
  }
  // botocore's published value, for machines without the project-local AWS CLI.
  return { delayS: 30, maxAttempts: 120, source: 'botocore StackUpdateComplete (delay 30, maxAttempts 120; waiters-2.json not found locally)' };
}

/** The backoff the wait activities use (activities/poll.ts): polls at t = 0, then after min·BACKOFF^k, capped at max. */
function backoffPolls(durationMs: number, minMs: number, maxMs: number): { calls: number; delayMs: number } {
  let t = 0;
  let calls = 1;
  for (let k = 0; t < durationMs; k++) {
    t += Math.min(maxMs, minMs * BACKOFF ** Math.min(k, 30));
    calls++;
  }
  return { calls, delayMs: t - durationMs };
}

function desired(environment: string, appVersion: string, generation: number): DesiredState {
  return {
    environment,
    action: 'sync',
    commit: {
      sha: generation.toString(16).padStart(40, 'a'),
      generation,
      author: { name: 'Bench', email: 'bench@example.com' },
      message: `${environment}: app ${appVersion}`,
      date: new Date().toISOString(),
    },
    reason: 'config changed',
    settings: { stackPrefix: 'cfn-gitops-', region: 'us-east-1', artifactBucket: BUCKET, protectedEnvironments: [] },
    config: { appVersion, parameters: { InstanceType: 't3.micro' } },
    templates: TEMPLATES,
    repoProtected: false,
  };
}

async function submit(client: Client, state: DesiredState): Promise<void> {
  const result = await client.workflow.executeUpdateWithStart(submitUpdate, {
    args: [state],
    startWorkflowOperation: new WithStartWorkflowOperation(WorkflowType.Environment, {
      workflowId: environmentWorkflowId(state.environment),
      taskQueue: TASK_QUEUE,
      args: [{ environment: state.environment }],
      workflowIdConflictPolicy: 'USE_EXISTING',
    }),
  });
  if (result.outcome !== 'accepted') throw new Error(`${state.environment}: ${result.outcome}: ${result.message}`);
}

async function deployed(client: Client, environment: string, commit: string): Promise<EnvironmentState> {
  for (;;) {
    const state = await client.workflow.getHandle(environmentWorkflowId(environment)).query(stateQuery);
    const record = state.history.find((r) => r.commit === commit);
    if (record?.result) {
      if (record.result !== 'Succeeded') throw new Error(`${environment}: ${record.result}: ${record.message}`);
      return state;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const emulator = await startEmulator({ port: 0, timing: { stackOperationMs: 1_000, actionMs: 500 } });
  const port = await freePort();
  const server = await startDevServer({ port, uiPort: null, namespaces: ['default'] });
  const credentials = { AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench', AWS_REGION: 'us-east-1' };
  Object.assign(process.env, credentials);
  const settings = readWorkerSettings({ ...process.env, AWS_ENDPOINT_URL: emulator.url, CFN_GITOPS_PROTECTED_ENVIRONMENTS: '' });
  const control = async <T>(method: string, route: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${emulator.url}/_emulator${route}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    return (await response.json()) as T;
  };
  const s3 = new S3Client({ region: 'us-east-1', endpoint: emulator.url, forcePathStyle: true, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  s3.destroy();

  const aws = createAwsClients({ endpointUrl: emulator.url });
  const workerConnection = await NativeConnection.connect({ address: server.address });
  const bundle = path.join(ROOT, 'dist', 'workflow-bundle.js');
  const worker = await Worker.create({
    connection: workerConnection,
    namespace: 'default',
    taskQueue: TASK_QUEUE,
    ...(existsSync(bundle) ? { workflowBundle: { codePath: bundle } } : { workflowsPath: require.resolve('../workflows') }),
    activities: createActivities({ aws, policy: settings.policy, timing: settings.poll, defaultRegion: 'us-east-1' }),
    // The prebuilt bundle's interceptors report each deployment's end to this sink.
    sinks: createWorkerMetrics().sinks,
  });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: 'default' });

  const { minMs, maxMs } = settings.poll;
  const waiter = cliWaiter();
  console.log(`polling of the deployment waits: ${seconds(minMs)} first, ×${BACKOFF} each poll, at most ${seconds(maxMs)} (CFN_GITOPS_POLL_MIN / CFN_GITOPS_POLL_MAX)`);
  console.log(`AWS CLI waiter: every ${waiter.delayS} s, at most ${waiter.maxAttempts} attempts (${waiter.source})\n`);

  let generation = 1;
  async function scenario(name: string, durationMs: number, samples: number): Promise<Sample[]> {
    const environments = Array.from({ length: samples }, (_, i) => `${name}${i + 1}`);
    // Create the environments first (not measured).
    await Promise.all(environments.map(async (environment) => {
      const state = desired(environment, '1.0.0', generation++);
      await submit(client, state);
      await deployed(client, environment, state.commit.sha);
    }));
    const since = new Date().toISOString();
    // Spread the durations a little so the samples meet the poll schedule at different phases.
    const durations = environments.map((_, i) => Math.round(durationMs * (1 + (i - (samples - 1) / 2) * 0.08)));
    await Promise.all(environments.map((environment, i) => control('POST', `/pipelines/cfn-gitops-${environment}/next-executions`, { outcome: 'Succeeded', durationMs: durations[i] })));
    const states = environments.map((environment) => desired(environment, '2.0.0', generation++));
    await Promise.all(states.map((state) => submit(client, state)));
    const finals = await Promise.all(states.map((state) => deployed(client, state.environment, state.commit.sha)));
    const { calls } = await control<{ calls: CallRecord[] }>('GET', `/calls?since=${encodeURIComponent(since)}`);
    const { operations } = await control<{ operations: OperationRecord[] }>('GET', '/operations?kind=pipeline');
    // ValidateTemplate names no stack: its calls are shared out evenly.
    const untargeted = calls.filter((c) => !c.target).length / samples;
    return Promise.all(finals.map(async (state, i) => {
      const environment = environments[i]!;
      const record = state.history.find((r) => r.commit === states[i]!.commit.sha)!;
      const execution = operations.find((op) => op.pipelineExecutionId === record.pipelineExecutionId)!;
      const mine = calls.filter((c) => c.target && (c.target.startsWith(`cfn-gitops-${environment}`) || c.target.includes(`cfn-gitops/${environment}/`)));
      const history = await client.workflow.getHandle(record.workflowId!).fetchHistory();
      const events = history.events ?? [];
      const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'waitForPipelineExecution')!;
      const completed = events.find((e) => e.activityTaskCompletedEventAttributes && String(e.activityTaskCompletedEventAttributes.scheduledEventId) === String(scheduled.eventId))!;
      const noticedAt = Number(completed.eventTime!.seconds) * 1000 + Math.floor((completed.eventTime!.nanos ?? 0) / 1e6);
      return {
        environment,
        durationMs: Date.parse(execution.endedAt!) - Date.parse(execution.startedAt),
        calls: mine.length + untargeted,
        polls: mine.filter((c) => c.operation === 'GetPipelineExecution').length,
        delayMs: noticedAt - Date.parse(execution.endedAt!),
        others: tally([...mine.filter((c) => c.operation !== 'GetPipelineExecution'), ...calls.filter((c) => !c.target)], (c) => c.operation, (c) => (c.target ? 1 : 1 / samples)),
      };
    }));
  }

  const running = worker.run();
  try {
    const results: [string, number, Sample[]][] = [];
    for (const [name, durationMs, samples] of [['short', SHORT_MS, SHORT_SAMPLES], ['long', LONG_MS, LONG_SAMPLES]] as const) {
      const measured = await scenario(name, durationMs, samples);
      results.push([name, durationMs, measured]);
      for (const s of measured) {
        console.log(`  ${s.environment.padEnd(7)} execution ${seconds(s.durationMs).padStart(7)}  AWS calls ${s.calls.toFixed(0).padStart(3)} (${s.polls} polls)  noticed ${seconds(s.delayMs)} after it ended`);
      }
    }
    console.log('');
    console.log('Means over the samples; the AWS CLI waiter is computed for the same executions (first poll when the execution starts), and over a random start phase.');
    console.log('| deployment | cfn-gitops: AWS calls (of which polls) | cfn-gitops: detection delay, mean / max | backoff model: polls, delay | AWS CLI waiter: polls | AWS CLI waiter: delay, these executions / random phase |');
    console.log('| --- | --- | --- | --- | --- | --- |');
    for (const [name, durationMs, measured] of results) {
      const model = measured.map((s) => backoffPolls(s.durationMs, minMs, maxMs));
      const waiterMs = waiter.delayS * 1000;
      const waiterPolls = measured.map((s) => Math.ceil(s.durationMs / waiterMs) + 1);
      const waiterDelay = measured.map((s) => Math.ceil(s.durationMs / waiterMs) * waiterMs - s.durationMs);
      console.log(
        `| ${name} (~${seconds(durationMs)}) | ${mean(measured.map((s) => s.calls)).toFixed(1)} (${mean(measured.map((s) => s.polls)).toFixed(1)}) | ` +
          `${seconds(mean(measured.map((s) => s.delayMs)))} / ${seconds(Math.max(...measured.map((s) => s.delayMs)))} | ` +
          `${mean(model.map((m) => m.calls)).toFixed(1)}, ${seconds(mean(model.map((m) => m.delayMs)))} | ` +
          `${mean(waiterPolls).toFixed(1)} (duration/${waiter.delayS} + 1) | ${seconds(mean(waiterDelay))} / ${seconds(waiterMs / 2)} |`,
      );
    }
    // What a deployment spends besides its polls, measured: the mean over every sample, by operation.
    const all = results.flatMap(([, , measured]) => measured);
    const besides = new Map<string, number>();
    for (const sample of all) for (const [operation, n] of sample.others) besides.set(operation, (besides.get(operation) ?? 0) + n / all.length);
    const listed = [...besides].map(([operation, n]) => `${operation} ${Number(n.toFixed(2))}`).join(', ');
    console.log(`\nBesides polling, a deployment made ${[...besides.values()].reduce((a, b) => a + b, 0).toFixed(1)} calls on average: ${listed}.`);
  } finally {
    worker.shutdown();
    await running;
    await connection.close();
    await workerConnection.close();
    aws.destroy();
    await server.stop();
    await emulator.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
