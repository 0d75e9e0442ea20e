/**
 * Many long deployments on one worker: N environments (default 1,000) whose pipelines run a long
 * time (default 10 minutes) are pushed at once to ONE `cfn-gitops worker` process with the
 * project's default settings, run by Node as the image runs it (the Dockerfile's NODE_OPTIONS,
 * bench/support.ts `imageNodeEnv`), against a Temporal dev server and the emulator this bench
 * starts. Once every execution runs and a few poll cycles have passed, it prints, each beside its
 * floor or target measured in the same run:
 *
 * - time until every pipeline execution has started, beside the floor (signal-with-start plus
 *   one StartPipelineExecution activity per environment, bench/support.ts `measureStartFloor`);
 * - the worker's activity slots in use while all N wait (its /metrics on CFN_GITOPS_HEALTH_PORT,
 *   sampled every second), and the activity backlog `temporal task-queue describe` reports;
 * - the worker's RSS with all N in flight (/proc/<pid>/status VmRSS), target ≤ 300 MB;
 * - AWS calls per deployment from the emulator's call log, so far and projected to the end of
 *   the pipeline, target ≤ 15.
 *
 * It does not wait for the pipelines to end: it tears everything down after the measurement.
 *
 *   npm run bench:scale                                                  # 1,000 environments, 10-minute pipelines
 *   BENCH_ENVIRONMENTS=50 BENCH_PIPELINE_SECONDS=120 BENCH_SAMPLE_SECONDS=30 npm run bench:scale
 *
 * BENCH_SAMPLE_SECONDS: how long to watch the waiting deployments (default 60: four polls at the
 * default CFN_GITOPS_POLL_MAX of 15 s). BENCH_FLOOR_SAMPLE: environments the floor is measured on
 * (default min(N, 200)), scaled to N. BENCH_START_CONCURRENCY: as `start --concurrency` (default 32).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readTemporalSettings } from '../common/temporal-settings';
import { connectClient } from '../starter/client';
import { createGitReader } from '../starter/git';
import { startPush } from '../starter/start';
import { findTool, freePort, startDevServer, waitForPort } from '../worker/dev-server';
import { readWorkerSettings } from '../worker/settings';
import { awsEnv, control, deployFirstPush, createSyntheticRepo, imageNodeEnv, measureStartFloor, pipelineOperations, pipelinesIdle, seconds, startEmulatorProcess, startWorkerProcess, waitForExecutions } from './support';

const N = Number(process.env.BENCH_ENVIRONMENTS ?? 1000);
const PIPELINE_SECONDS = Number(process.env.BENCH_PIPELINE_SECONDS ?? 600);
const SAMPLE_SECONDS = Number(process.env.BENCH_SAMPLE_SECONDS ?? 60);
const FLOOR_SAMPLE = Math.min(N, Number(process.env.BENCH_FLOOR_SAMPLE ?? 200));
const START_CONCURRENCY = Number(process.env.BENCH_START_CONCURRENCY ?? 32);
/** The SDK's default maxConcurrentActivityTaskExecutions: the slots the worker has. */
const SDK_ACTIVITY_SLOTS = 100;
const RSS_TARGET_MB = 300;
const CALLS_TARGET = 15;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One entry of the emulator's call log. */
interface Call {
  time: string;
  operation: string;
  target?: string;
}

/** Per pipeline, the seconds between its last two polls: the interval its wait polls at now. */
function currentPollIntervals(calls: Call[]): number[] {
  const times = new Map<string, number[]>();
  for (const call of calls) if (call.operation === 'GetPipelineExecution' && call.target) times.set(call.target, [...(times.get(call.target) ?? []), Date.parse(call.time)]);
  return [...times.values()].filter((t) => t.length >= 2).map((t) => (t[t.length - 1]! - t[t.length - 2]!) / 1000);
}

/** The worker's own gauges, from its /metrics. */
async function workerGauges(port: number): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const gauges: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const match = /^(cfn_gitops_worker_\w+) (\S+)$/.exec(line);
    if (match) gauges[match[1]!] = Number(match[2]);
  }
  return gauges;
}

/** VmRSS of a process, in MB. */
function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

/** Polls until `seconds` have passed, when the delay is `interval` now and doubles up to `max`. */
function pollsFor(seconds: number, interval: number, max: number): number {
  let polls = 0;
  for (let waited = 0, delay = interval; waited < seconds; polls++) {
    delay = Math.min(max, delay * 2);
    waited += delay;
  }
  return polls;
}

/** The activity task queue's backlog as the Temporal CLI reports it. */
function activityBacklog(address: string, taskQueue: string): string {
  try {
    const out = execFileSync(findTool('temporal'), ['task-queue', 'describe', '--address', address, '--task-queue', taskQueue, '--task-queue-type', 'activity', '--output', 'json'], { encoding: 'utf8' });
    const found = /"approximateBacklogCount":\s*"?(\d+)"?/.exec(out);
    return found ? found[1]! : '0 (none reported)';
  } catch (error) {
    return `unknown (${(error as Error).message.split('\n')[0]})`;
  }
}

const stats = (values: number[]) => ({ max: Math.max(...values), mean: values.reduce((a, b) => a + b, 0) / values.length });
const row = (label: string, value: string, beside = '') => console.log(`${label.padEnd(64)}${value.padEnd(22)}${beside}`);

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(tmpdir(), 'cfn-gitops-bench-scale-'));
  // Torn down in reverse order at the end, on an error, or on Ctrl-C.
  const stops: (() => Promise<void> | void)[] = [() => rmSync(work, { recursive: true, force: true })];
  const teardown = async () => {
    for (const stop of stops.splice(0).reverse()) await Promise.resolve(stop()).catch((error: unknown) => console.error(error));
  };
  const interrupted = () => void teardown().finally(() => process.exit(130));
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  try {
    const server = await startDevServer({ port: await freePort(), uiPort: null });
    stops.push(() => server.stop());
    const emulatorPort = await freePort();
    const url = `http://127.0.0.1:${emulatorPort}`;
    const emulator = await startEmulatorProcess(emulatorPort);
    stops.push(() => void emulator.kill('SIGTERM'));
    // Setup at full speed: the environments exist in AWS, their pipelines idle.
    await control(url, 'PUT', '/timing', { stackOperationMs: 50, actionMs: 50 });
    const repo = createSyntheticRepo(path.join(work, 'repo'), N, N);
    await deployFirstPush({ address: server.address, url, repo, concurrency: START_CONCURRENCY });

    // The floor, on the same dev server and emulator, before the pipelines turn slow.
    const floor = await measureStartFloor({ address: server.address, url, pipelines: repo.changed.slice(0, FLOOR_SAMPLE).map((e) => `cfn-gitops-${e}`), concurrency: START_CONCURRENCY });
    const floorMs = (floor.ms * N) / floor.count;
    await pipelinesIdle(url);

    // From here a pipeline execution lasts PIPELINE_SECONDS: its source action, then its deploy's stack update.
    await control(url, 'PUT', '/timing', { actionMs: (PIPELINE_SECONDS * 1000) / 2, stackOperationMs: (PIPELINE_SECONDS * 1000) / 2 });
    console.log(`setup: ${N} environments in git and in the emulator, a push that changes all of them, pipelines of ${PIPELINE_SECONDS} s; Temporal on ${server.address}, emulator on ${url}`);

    // ONE worker, the project's defaults and Node as the image runs it; no drift sweep, so every AWS call is a deployment's.
    const healthPort = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, ...imageNodeEnv(process.env), TEMPORAL_ADDRESS: server.address, ...awsEnv(url), CFN_GITOPS_HEALTH_PORT: String(healthPort), CFN_GITOPS_LOG_LEVEL: 'WARN', CFN_GITOPS_DRIFT_INTERVAL: '0' };
    // Tuning and poll settings in the bench's own environment pass through, and are printed.
    const tuned = Object.keys(env).filter((name) => /^CFN_GITOPS_(MAX_|ACTIVITY_POLLERS|WORKFLOW_POLLERS|POLL_)/.test(name)).map((name) => `${name}=${env[name]}`);
    const worker = await startWorkerProcess(env);
    stops.push(() => worker.stop());
    const workerPid = worker.child.pid!;
    await waitForPort('127.0.0.1', healthPort, 10_000);
    const settings = readTemporalSettings(env);
    const temporal = await connectClient(settings);
    await sleep(2000);
    const idleRss = rssMb(workerPid);

    // The push.
    const t0 = Date.now();
    const since = new Date(t0).toISOString();
    const startBegan = performance.now();
    const push = () => startPush({ client: temporal.client, git: createGitReader(repo.dir), taskQueue: settings.taskQueue, push: { before: repo.before, after: repo.after }, concurrency: START_CONCURRENCY });
    const { report } = await push();
    // On a loaded machine a few submissions can miss their deadline; they are sent again, as a
    // person would re-run `start` (the same push: the ones that did arrive answer duplicate).
    let resent = 0;
    for (let round = 0; round < 3 && report.environments.some((e) => e.status === 'error'); round++) {
      resent += report.environments.filter((e) => e.status === 'error').length;
      const again = new Map((await push()).report.environments.map((e) => [e.environment, e]));
      report.environments = report.environments.map((e) => (e.status === 'error' ? (again.get(e.environment) ?? e) : e));
    }
    const startMs = performance.now() - startBegan;
    const accepted = report.environments.filter((e) => e.status === 'accepted' || e.status === 'duplicate').length;
    if (accepted !== N) throw new Error(`start accepted ${accepted} of ${N}: ${report.environments.find((e) => e.status !== 'accepted' && e.status !== 'duplicate')?.error ?? ''}`);
    await temporal.close();

    // Until every execution has started; the worker's RSS meanwhile.
    const rss: number[] = [];
    const executions = await waitForExecutions(url, t0, N, Math.max(300_000, N * 1000), () => rss.push(rssMb(workerPid)));
    const executionsMs = Date.now() - t0;

    // All N wait: sample the worker's slots and memory for a few poll cycles.
    const windowStart = new Date().toISOString();
    const slots: number[] = [];
    const activations: number[] = [];
    let cached = 0;
    for (const end = Date.now() + SAMPLE_SECONDS * 1000; Date.now() < end; await sleep(1000)) {
      const gauges = await workerGauges(healthPort);
      slots.push(gauges.cfn_gitops_worker_activities_in_flight ?? NaN);
      activations.push(gauges.cfn_gitops_worker_workflow_activations_in_flight ?? NaN);
      cached = gauges.cfn_gitops_worker_cached_workflows ?? cached;
      rss.push(rssMb(workerPid));
    }
    const windowEndMs = Date.now();
    const backlog = activityBacklog(server.address, settings.taskQueue);
    const running = (await pipelineOperations(url)).filter((o) => Date.parse(o.startedAt) >= t0 && o.endedAt === undefined).length;

    // AWS calls: all since the push, and the polls within the window.
    const calls = (await control<{ calls: Call[] }>(url, 'GET', `/calls?since=${encodeURIComponent(since)}`)).calls;
    const byOperation = new Map<string, number>();
    for (const call of calls) byOperation.set(call.operation, (byOperation.get(call.operation) ?? 0) + 1);
    const windowPolls = calls.filter((c) => c.time >= windowStart && c.operation === 'GetPipelineExecution').length;
    const windowSeconds = (windowEndMs - Date.parse(windowStart)) / 1000;
    const meanStartedAt = executions.reduce((sum, o) => sum + Date.parse(o.startedAt), 0) / executions.length;
    const remainingSeconds = Math.max(0, PIPELINE_SECONDS - (windowEndMs - meanStartedAt) / 1000);
    const soFar = calls.length / N;
    // The rest of the wait as the waits poll it (the delay doubles from its current value up to
    // CFN_GITOPS_POLL_MAX). The deployed version comes with the last poll (the execution's
    // AppVersion variable): no call after it.
    const interval = stats(currentPollIntervals(calls)).mean;
    const projected = soFar + pollsFor(remainingSeconds, interval, readWorkerSettings(env).poll.maxMs / 1000);

    const slotStats = stats(slots);
    const activationStats = stats(activations);
    const rssStats = stats(rss);
    const breakdown = [...byOperation.entries()].sort((a, b) => b[1] - a[1]).map(([op, n]) => `${op} ${(n / N).toFixed(1)}`).join(', ');
    console.log('');
    const nodeSettings = Object.entries(imageNodeEnv()).map(([name, value]) => `${name}="${value}"`).join(' ');
    console.log(`bench:scale  ${new Date().toISOString().slice(0, 10)}  N=${N}, pipelines ${PIPELINE_SECONDS} s, one worker, ${tuned.length ? tuned.join(' ') : 'default settings'}, node ${process.version} with the image's ${nodeSettings}`);
    row(`push → all ${N} pipeline executions started`, seconds(executionsMs), `floor ${seconds(floorMs)}${floor.count < N ? ` (measured on ${floor.count}: ${seconds(floor.ms)}, scaled)` : ''}, ${(executionsMs / floorMs).toFixed(1)}× the floor`);
    row(`  of which start (update-with-start, ${START_CONCURRENCY} at a time)`, seconds(startMs), resent ? `${resent} submissions missed their deadline and were sent again` : '');
    row(`activity slots in use while ${running} of ${N} wait (${slots.length} samples, ${windowSeconds.toFixed(0)} s)`, `max ${slotStats.max}, mean ${slotStats.mean.toFixed(2)}`, `of ${SDK_ACTIVITY_SLOTS} slots; target ~0`);
    row('  polls served meanwhile (GetPipelineExecution)', `${windowPolls} (${(windowPolls / windowSeconds).toFixed(1)}/s)`);
    row('  workflow activations in flight', `max ${activationStats.max}, mean ${activationStats.mean.toFixed(2)}`, `${cached} workflows cached`);
    row('  activity task backlog (temporal task-queue describe)', backlog);
    row(`worker RSS with all ${N} in flight`, `max ${rssStats.max.toFixed(0)} MB`, `target ≤ ${RSS_TARGET_MB} MB (mean ${rssStats.mean.toFixed(0)} MB; idle before the push ${idleRss.toFixed(0)} MB)`);
    row('AWS calls per deployment so far', soFar.toFixed(1), breakdown);
    row(`  projected to the end of a ${PIPELINE_SECONDS} s pipeline`, projected.toFixed(1), `target ≤ ${CALLS_TARGET} (polling every ${interval.toFixed(1)} s now, ${remainingSeconds.toFixed(0)} s to go)`);
  } finally {
    process.off('SIGINT', interrupted).off('SIGTERM', interrupted);
    await teardown();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
