/**
 * What it costs a worker to wake an environment workflow it does not hold in its cache
 * (`npm run bench:replay`; not part of the tests). Such a worker fetches the run's whole history
 * and replays it before it can answer the task: after a restart, and for most environments of a
 * wide push once there are more than CFN_GITOPS_MAX_CACHED_WORKFLOWS of them.
 *
 * Replays each recorded environment history of test/histories (real runs of real scenarios) with
 * the worker's own bundle and interceptors, BENCH_REPLAYS times, and prints the worker CPU per
 * replay beside the history's length; then the cost per event of a least-squares line through
 * them, and what it predicts for a run that reaches the limit the workflow continues as new at,
 * beside the limit before it (2,000 events). Run `npm run build` first: the bundle is dist's.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { WORKFLOW_INTERCEPTOR_MODULES } from '../worker/bundle';
import { WorkflowType } from '../common/messages';

const HISTORIES = path.join(__dirname, '..', 'test', 'histories');
const BUNDLE = path.join(__dirname, '..', 'dist', 'workflow-bundle.js');
const REPLAYS = Number(process.env.BENCH_REPLAYS ?? 20);
/** The limit of workflows/environment.ts and the one before it. */
const LIMITS = { now: 500, before: 2_000 };

interface Sample {
  file: string;
  events: number;
  cpuMs: number;
}

async function replayCost(file: string): Promise<Sample> {
  const json = JSON.parse(readFileSync(path.join(HISTORIES, file), 'utf8')) as { events: unknown[] };
  const history = temporal.api.history.v1.History.fromObject(json);
  const histories = async function* () {
    for (let i = 0; i < REPLAYS; i++) yield { workflowId: `bench-${i}`, history };
  };
  const before = process.cpuUsage();
  for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath: BUNDLE }, interceptors: { workflowModules: WORKFLOW_INTERCEPTOR_MODULES } }, histories())) {
    if (result.error) throw new Error(`${file} does not replay: ${String(result.error)}`);
  }
  const used = process.cpuUsage(before);
  return { file, events: json.events.length, cpuMs: (used.user + used.system) / 1000 / REPLAYS };
}

/** Least squares: cpuMs = fixed + perEvent × events. */
function fit(samples: Sample[]): { fixed: number; perEvent: number } {
  const n = samples.length;
  const mx = samples.reduce((s, x) => s + x.events, 0) / n;
  const my = samples.reduce((s, x) => s + x.cpuMs, 0) / n;
  const sxy = samples.reduce((s, x) => s + (x.events - mx) * (x.cpuMs - my), 0);
  const sxx = samples.reduce((s, x) => s + (x.events - mx) ** 2, 0);
  const perEvent = sxy / sxx;
  return { fixed: my - perEvent * mx, perEvent };
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const files = readdirSync(HISTORIES, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.json'))
    .filter((file) => (JSON.parse(readFileSync(path.join(HISTORIES, file), 'utf8')) as { events: { workflowExecutionStartedEventAttributes?: { workflowType?: { name?: string } } }[] }).events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name === WorkflowType.Environment)
    .sort();
  // One replay first, so that the bundle's load is not counted against the first history.
  await replayCost(files[0]!);
  const samples: Sample[] = [];
  for (const file of files) samples.push(await replayCost(file));
  samples.sort((a, b) => a.events - b.events);
  console.log(`bench:replay  ${new Date().toISOString().slice(0, 10)}  ${samples.length} recorded environment histories, ${REPLAYS} replays each, node ${process.version}`);
  for (const sample of samples) console.log(`${sample.file.padEnd(72)}${String(sample.events).padStart(5)} events  ${sample.cpuMs.toFixed(1).padStart(7)} ms CPU`);
  const { fixed, perEvent } = fit(samples);
  const at = (events: number) => fixed + perEvent * events;
  console.log('');
  console.log(`worker CPU to wake a run: ${fixed.toFixed(1)} ms + ${perEvent.toFixed(3)} ms per event of its history`);
  console.log(`a run at the limit, ${LIMITS.now} events (now)         ${at(LIMITS.now).toFixed(0).padStart(6)} ms`);
  console.log(`a run at the limit before, ${LIMITS.before} events   ${at(LIMITS.before).toFixed(0).padStart(6)} ms  (${(at(LIMITS.before) / at(LIMITS.now)).toFixed(1)}×)`);
  console.log(`a push waking 500 uncached environments, each halfway to the limit: ${((500 * at(LIMITS.now / 2)) / 1000).toFixed(0)} s of worker CPU now, ${((500 * at(LIMITS.before / 2)) / 1000).toFixed(0)} s before`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
