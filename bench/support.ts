/**
 * What the deploy benches share: the emulator as a process of its own, a synthetic GitOps repo
 * with many environments, an earlier push that created them through cfn-gitops, and the floor
 * that "push → pipeline executions started" is measured against.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CodePipelineClient, StartPipelineExecutionCommand } from '@aws-sdk/client-codepipeline';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { mapLimit } from '../common/concurrency';
import { readTemporalSettings } from '../common/temporal-settings';
import { connectClient } from '../starter/client';
import { createGitReader } from '../starter/git';
import { startPush } from '../starter/start';
import { waitForPort } from '../worker/dev-server';
import { floorSignal, floorWorkflow, type FloorActivities } from './floor-workflow';

const ROOT = path.resolve(__dirname, '..');
/** The built CLI the benches run as child processes. */
export const CLI = path.join(ROOT, 'dist', 'bin', 'cfn-gitops.js');
const EXAMPLE = path.join(ROOT, 'examples', 'gitops-repo', 'common');
/** The artifact bucket the synthetic repo names. */
const ARTIFACT_BUCKET = 'cfn-gitops-artifacts';
const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };

/** The environment folder of number `i`. */
export const envName = (i: number) => `env-${String(i).padStart(5, '0')}`;
/**
 * CPU seconds a process has used so far (user + system, from /proc/<pid>/stat), to tell what a
 * CPU-bound run spends where.
 */
export function cpuSeconds(pid: number): number {
  // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Milliseconds as seconds, for the printed figures. */
export const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** The AWS SDK settings of a client on the emulator at `url`. */
export function awsOn(url: string) {
  return { region: 'us-east-1', endpoint: url, credentials };
}

/** What a worker or the CLI needs in its environment to use the emulator at `url`. */
export function awsEnv(url: string): NodeJS.ProcessEnv {
  return { AWS_ENDPOINT_URL: url, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench' };
}

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=Bench', '-c', 'user.email=bench@example.com', ...args], { cwd: dir, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).trim();
}

/** Starts `cfn-gitops emulator` as a child process (so it does not share the bench's CPU time) and waits for its port. */
export async function startEmulatorProcess(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, 'emulator', '--port', String(port)], { stdio: 'ignore' });
  await waitForPort('127.0.0.1', port, 30_000);
  return child;
}

/** A `cfn-gitops worker` process the bench started. */
export interface BenchWorker {
  child: ChildProcess;
  /** SIGTERM, then SIGKILL if it has not exited after the worker's grace time. */
  stop(): Promise<void>;
}

/** What the image sets for Node, in the Dockerfile's `ENV`: V8's heap sizes. */
const IMAGE_NODE_SETTINGS = ['NODE_OPTIONS'] as const;

/**
 * The Node settings the image runs the worker with, read from the Dockerfile's `ENV` lines, so a
 * bench measures the worker as it ships (`npx cfn-gitops worker` has them only if they are set
 * in its environment). A NODE_OPTIONS already in `env` comes first, so a bench run can add its
 * own (e.g. `--require` of a probe) and the image's still apply.
 * @throws Error if the Dockerfile sets none of them.
 */
export function imageNodeEnv(env: NodeJS.ProcessEnv = {}): Record<string, string> {
  const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  const found: Record<string, string> = {};
  for (const line of dockerfile.split('\n').filter((l) => l.startsWith('ENV '))) {
    for (const [, name, quoted, bare] of line.matchAll(/(\w+)=(?:"([^"]*)"|(\S+))/g)) {
      if ((IMAGE_NODE_SETTINGS as readonly string[]).includes(name!)) found[name!] = quoted ?? bare!;
    }
  }
  if (Object.keys(found).length === 0) throw new Error(`the Dockerfile sets none of ${IMAGE_NODE_SETTINGS.join(', ')}`);
  if (found.NODE_OPTIONS && env.NODE_OPTIONS) found.NODE_OPTIONS = `${env.NODE_OPTIONS} ${found.NODE_OPTIONS}`;
  return found;
}

/** Starts `cfn-gitops worker` with `env` and resolves once it polls; rejects with its output if it exits first. */
export async function startWorkerProcess(env: NodeJS.ProcessEnv): Promise<BenchWorker> {
  // BENCH_WORKER_PROFILE=<dir>: the worker writes a V8 CPU profile there when it stops (open it in Chrome DevTools).
  const profile = process.env.BENCH_WORKER_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_WORKER_PROFILE}`] : [];
  const child = spawn(process.execPath, [...profile, CLI, 'worker'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      // Only the start is kept; the pipe is drained for as long as the worker runs.
      if (output.length < 20_000) output += chunk.toString();
      if (output.includes('worker polling')) resolve();
    });
    void exited.then(() => reject(new Error(`the worker exited with ${child.exitCode} before polling:\n${output}`)));
  });
  return {
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** One call of the emulator's control API. */
export async function control<T>(url: string, method: string, route: string, body?: unknown): Promise<T> {
  const response = await fetch(`${url}/_emulator${route}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!response.ok) throw new Error(`emulator ${method} ${route}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** One entry of the emulator's operations log. */
export interface Operation {
  kind: string;
  target: string;
  startedAt: string;
  endedAt?: string;
  status: string;
}

/** Pipeline executions the emulator holds. */
export async function pipelineOperations(url: string): Promise<Operation[]> {
  return (await control<{ operations: Operation[] }>(url, 'GET', '/operations?kind=pipeline')).operations;
}

/**
 * The pipeline executions started at or after `since` (epoch ms), once there are `count` of them.
 * @throws Error after `timeoutMs` without them (deployments that failed start none), with the count.
 */
export async function waitForExecutions(url: string, since: number, count: number, timeoutMs: number, meanwhile: () => void = () => undefined): Promise<Operation[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const started = (await pipelineOperations(url)).filter((o) => Date.parse(o.startedAt) >= since);
    if (started.length >= count) return started;
    if (Date.now() > deadline) throw new Error(`${started.length} of ${count} pipeline executions started after ${timeoutMs / 1000} s; see the deployments' failures in the Temporal UI`);
    meanwhile();
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Resolves once no pipeline execution runs in the emulator. */
export async function pipelinesIdle(url: string): Promise<void> {
  while ((await pipelineOperations(url)).some((o) => o.endedAt === undefined)) await new Promise((r) => setTimeout(r, 250));
}

/** The synthetic repo: its folder, the push that made the changed environments, and the push the bench measures. */
export interface SyntheticRepo {
  dir: string;
  /** The commit holding only the changed environments, at app 1.0.0: what an earlier push created. */
  first: string;
  /** All environments at app 1.0.0. */
  before: string;
  /** `changed` of them bumped to app 1.0.1. */
  after: string;
  /** The environments the push changes. */
  changed: string[];
}

const config = (version: string) => `appVersion: "${version}"\nparameters:\n  InstanceType: t3.micro\n`;

/**
 * A git repo with `total` environment folders at app 1.0.0, then a commit that bumps `changed`
 * of them (spread evenly) to 1.0.1. Its first commit holds only those, so that setup deploys
 * just the environments the measured push touches.
 */
export function createSyntheticRepo(dir: string, total: number, changed: number): SyntheticRepo {
  mkdirSync(path.join(dir, 'common'), { recursive: true });
  for (const file of ['pipeline.yaml', 'environment.yaml']) writeFileSync(path.join(dir, 'common', file), readFileSync(path.join(EXAMPLE, file)));
  // The bucket the setup makes, named: no bootstrap stack needed.
  writeFileSync(path.join(dir, 'common', 'gitops.yaml'), `artifactBucket: ${ARTIFACT_BUCKET}\n`);
  const bumped = Array.from({ length: changed }, (_, k) => envName(Math.floor((k * total) / changed) + 1));
  const write = (env: string, version: string) => {
    mkdirSync(path.join(dir, env), { recursive: true });
    writeFileSync(path.join(dir, env, 'config.yaml'), config(version));
  };
  for (const env of bumped) write(env, '1.0.0');
  git(dir, 'init', '-q', '--initial-branch=main');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', `${changed} environments`);
  const first = git(dir, 'rev-parse', 'HEAD');
  for (let i = 1; i <= total; i++) write(envName(i), '1.0.0');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '--allow-empty', '-m', `${total} environments`);
  const before = git(dir, 'rev-parse', 'HEAD');
  for (const env of bumped) write(env, '1.0.1');
  git(dir, 'commit', '-qam', `bump ${changed}`);
  return { dir, first, before, after: git(dir, 'rev-parse', 'HEAD'), changed: bumped };
}

/**
 * The changed environments as an earlier push left them: `cfn-gitops start` of the repo's first
 * commit, run to the end by a worker of its own with fast polls, so that their stacks carry
 * cfn-gitops's tags and their environment workflows exist. Needs the emulator's fast timing.
 */
export async function deployFirstPush(options: { address: string; url: string; repo: SyntheticRepo; concurrency: number }): Promise<void> {
  await new S3Client({ ...awsOn(options.url), forcePathStyle: true }).send(new CreateBucketCommand({ Bucket: ARTIFACT_BUCKET }));
  const env = { ...process.env, TEMPORAL_ADDRESS: options.address, ...awsEnv(options.url), CFN_GITOPS_POLL_MIN: '100ms', CFN_GITOPS_POLL_MAX: '500ms', CFN_GITOPS_PROTECTED_ENVIRONMENTS: '', CFN_GITOPS_LOG_LEVEL: 'WARN', CFN_GITOPS_DRIFT_INTERVAL: '0' };
  const worker = await startWorkerProcess(env);
  const temporal = await connectClient(readTemporalSettings(env));
  try {
    const settings = readTemporalSettings(env);
    const since = Date.now();
    const { report } = await startPush({ client: temporal.client, git: createGitReader(options.repo.dir), taskQueue: settings.taskQueue, push: { before: '0'.repeat(40), after: options.repo.first }, concurrency: options.concurrency });
    const accepted = report.environments.filter((e) => e.status === 'accepted').length;
    if (accepted !== options.repo.changed.length) throw new Error(`setup: start accepted ${accepted} of ${options.repo.changed.length}`);
    await waitForExecutions(options.url, since, accepted, Math.max(300_000, accepted * 2000));
    await pipelinesIdle(options.url);
    // Every deployment recorded, so the measured worker inherits idle environment workflows.
    while ((await temporal.client.workflow.count(`WorkflowType = 'deploymentWorkflow' AND ExecutionStatus = 'Running'`)).count > 0) await new Promise((r) => setTimeout(r, 500));
  } finally {
    await temporal.close();
    await worker.stop();
  }
}

/** What {@link measureStartFloor} needs. */
export interface FloorOptions {
  /** The Temporal frontend, e.g. 127.0.0.1:7233. */
  address: string;
  /** The emulator's URL. */
  url: string;
  /** Pipelines to start one execution of each. */
  pipelines: string[];
  /** Signal-with-starts in flight at once (as `start` runs its update-with-starts). */
  concurrency: number;
}

/** The floor of one run: how long `count` pipelines took to start. */
export interface Floor {
  ms: number;
  count: number;
}

/**
 * The floor of "push → every pipeline execution started" on this machine and this emulator:
 * per pipeline, one signal-with-start of a workflow that runs one activity calling
 * StartPipelineExecution, on a worker in this process with the SDK's default settings.
 * Measured from the first signal-with-start to the last StartPipelineExecution answer.
 */
export async function measureStartFloor(options: FloorOptions): Promise<Floor> {
  const taskQueue = `bench-floor-${Date.now()}`;
  try {
    // The floor's worker in this process: its lifecycle lines would bury the figures.
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // Installed already: keep it.
  }
  const codePipeline = new CodePipelineClient({ ...awsOn(options.url), maxAttempts: 10 });
  let lastStarted = 0;
  const activities: FloorActivities = {
    async startPipeline(pipelineName) {
      await codePipeline.send(new StartPipelineExecutionCommand({ name: pipelineName }));
      lastStarted = Math.max(lastStarted, performance.now());
    },
  };
  const nativeConnection = await NativeConnection.connect({ address: options.address });
  const connection = await Connection.connect({ address: options.address });
  try {
    const worker = await Worker.create({ connection: nativeConnection, taskQueue, workflowsPath: require.resolve('./floor-workflow'), activities });
    const running = worker.run();
    try {
      const client = new Client({ connection });
      const t0 = performance.now();
      const handles = await mapLimit(options.pipelines, options.concurrency, (pipeline) =>
        client.workflow.signalWithStart(floorWorkflow, { taskQueue, workflowId: `floor/${pipeline}/${taskQueue}`, args: [pipeline], signal: floorSignal }),
      );
      await Promise.all(handles.map((handle) => handle.result()));
      return { ms: lastStarted - t0, count: options.pipelines.length };
    } finally {
      worker.shutdown();
      await running;
    }
  } finally {
    await connection.close();
    await nativeConnection.close();
    codePipeline.destroy();
  }
}
