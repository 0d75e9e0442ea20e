/**
 * The deploy path at scale: a synthetic GitOps repo with 2,000 environment folders and a push
 * that changes 500 of them. Prints the plan time, the time for `start` to launch the 500
 * workflows, and the time until all 500 pipeline executions have started in the emulator;
 * beside it, in the same run, the original design's approach: a shell loop calling
 * `aws codepipeline start-pipeline-execution` once per changed environment, and the floor on
 * Temporal: one signal-with-start and one activity calling StartPipelineExecution per environment
 * (bench/support.ts `measureStartFloor`, which `npm run bench:scale` uses too).
 *
 *   npm run bench:deploy                 # 2,000 environments, 500 changed, the whole shell loop
 *   BENCH_ENVIRONMENTS=400 BENCH_CHANGED=100 BENCH_SHELL_SAMPLE=25 BENCH_START_CONCURRENCY=128 npm run bench:deploy
 *
 * BENCH_SHELL_SAMPLE and BENCH_FLOOR_SAMPLE run the shell loop and the floor over that many
 * environments and scale the time to all of them (said so in the output).
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { plan } from '../common/plan';
import { connectClient } from '../starter/client';
import { createGitReader, readPush } from '../starter/git';
import { startPush } from '../starter/start';
import { findTool, freePort, startDevServer } from '../worker/dev-server';
import { readTemporalSettings } from '../common/temporal-settings';
import { awsEnv, control, cpuSeconds, deployFirstPush, createSyntheticRepo, measureStartFloor, pipelinesIdle, seconds, startEmulatorProcess, startWorkerProcess, waitForExecutions } from './support';

const TOTAL = Number(process.env.BENCH_ENVIRONMENTS ?? 2000);
const CHANGED = Number(process.env.BENCH_CHANGED ?? 500);
const SHELL_SAMPLE = Math.min(CHANGED, Number(process.env.BENCH_SHELL_SAMPLE ?? CHANGED));
const FLOOR_SAMPLE = Math.min(CHANGED, Number(process.env.BENCH_FLOOR_SAMPLE ?? CHANGED));
const START_CONCURRENCY = Number(process.env.BENCH_START_CONCURRENCY ?? 32);

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(tmpdir(), 'cfn-gitops-bench-'));
  const children: ChildProcess[] = [];
  const server = await startDevServer({ port: await freePort(), uiPort: null });
  try {
    const emulatorPort = await freePort();
    const url = `http://127.0.0.1:${emulatorPort}`;
    children.push(await startEmulatorProcess(emulatorPort));
    await control(url, 'PUT', '/timing', { stackOperationMs: 50, actionMs: 50 });
    // The synthetic repo: TOTAL environments, then a push that bumps CHANGED of them; an earlier push created those.
    const synthetic = createSyntheticRepo(path.join(work, 'repo'), TOTAL, CHANGED);
    const { dir: repo, before, after, changed } = synthetic;
    await deployFirstPush({ address: server.address, url, repo: synthetic, concurrency: START_CONCURRENCY });
    console.log(`setup: ${TOTAL} environments in git, ${CHANGED} changed by the push, ${CHANGED} pipelines in the emulator`);

    // 1. Plan.
    const reader = createGitReader(repo);
    const planStart = performance.now();
    const planned = plan(await readPush(reader, { before, after }));
    const planMs = performance.now() - planStart;
    if (planned.environments.length !== CHANGED) throw new Error(`plan has ${planned.environments.length} environments, want ${CHANGED}`);

    // 2. The floor: signal-with-start plus one StartPipelineExecution activity per environment.
    const floorSample = changed.slice(0, FLOOR_SAMPLE);
    const floor = await measureStartFloor({ address: server.address, url, pipelines: floorSample.map((e) => `cfn-gitops-${e}`), concurrency: START_CONCURRENCY });
    const floorMs = (floor.ms * CHANGED) / floor.count;
    await pipelinesIdle(url);

    // 3. start: launch the workflows (a worker runs as its own process).
    const env = { ...process.env, TEMPORAL_ADDRESS: server.address, ...awsEnv(url), CFN_GITOPS_POLL_MIN: '200ms', CFN_GITOPS_POLL_MAX: '2s', CFN_GITOPS_PROTECTED_ENVIRONMENTS: '', CFN_GITOPS_LOG_LEVEL: 'WARN', CFN_GITOPS_DRIFT_INTERVAL: '0' };
    const worker = await startWorkerProcess(env);
    children.push(worker.child);
    const settings = readTemporalSettings(env);
    const temporal = await connectClient(settings);
    // CPU of each process over the push, to see where a CPU-bound run spends (2 cores here).
    const processes = { 'Temporal dev server': server.process.pid!, worker: worker.child.pid!, emulator: children[0]!.pid!, 'start (this process)': process.pid };
    const cpuBefore = Object.fromEntries(Object.entries(processes).map(([name, pid]) => [name, cpuSeconds(pid)]));
    const t0 = Date.now();
    const startStart = performance.now();
    const { report } = await startPush({ client: temporal.client, git: reader, taskQueue: settings.taskQueue, push: { before, after }, concurrency: START_CONCURRENCY });
    const startMs = performance.now() - startStart;
    const accepted = report.environments.filter((e) => e.status === 'accepted').length;
    if (accepted !== CHANGED) throw new Error(`start accepted ${accepted} of ${CHANGED}`);

    // 4. Until every pipeline execution has started in the emulator.
    const started = (await waitForExecutions(url, t0, CHANGED, Math.max(300_000, CHANGED * 1000))).length;
    const executionsMs = Date.now() - t0;
    const cpu = Object.entries(processes).map(([name, pid]) => `${name} ${(cpuSeconds(pid) - cpuBefore[name]!).toFixed(1)} s (${(((cpuSeconds(pid) - cpuBefore[name]!) * 1000) / CHANGED).toFixed(0)} ms each)`);
    await temporal.close();
    await worker.stop();

    // 5. The original design: a shell loop over the changed folders, one AWS CLI call each.
    const aws_ = findTool('aws');
    const sample = changed.slice(0, SHELL_SAMPLE);
    const script = `for env in ${sample.join(' ')}; do "${aws_}" --endpoint-url ${url} codepipeline start-pipeline-execution --name "cfn-gitops-$env" --variables name=AppVersion,value=1.0.2 >/dev/null || exit 1; done`;
    const shellStart = performance.now();
    execFileSync('bash', ['-c', script], { env: { ...process.env, AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench', AWS_DEFAULT_REGION: 'us-east-1' }, stdio: 'inherit' });
    const shellMeasuredMs = performance.now() - shellStart;
    const shellMs = (shellMeasuredMs * CHANGED) / sample.length;

    console.log('');
    console.log(`plan (git read + plan of ${TOTAL} folders, ${CHANGED} changed)        ${seconds(planMs)}`);
    console.log(`start: ${CHANGED} workflows launched (update-with-start, ${START_CONCURRENCY} at a time)  ${seconds(startMs)}`);
    console.log(`push → all ${started} pipeline executions started in the emulator      ${seconds(executionsMs)}`);
    console.log(`  CPU meanwhile: ${cpu.join(', ')}`);
    console.log(`floor: signal-with-start + one StartPipelineExecution activity (${CHANGED})  ${seconds(floorMs)}${floor.count < CHANGED ? ` (measured on ${floor.count}: ${seconds(floor.ms)}, scaled)` : ''}`);
    console.log(`cfn-gitops / floor (push → executions started)                    ${(executionsMs / floorMs).toFixed(1)}×`);
    console.log(`shell loop of aws codepipeline start-pipeline-execution (${CHANGED})      ${seconds(shellMs)}${sample.length < CHANGED ? ` (measured on ${sample.length}: ${seconds(shellMeasuredMs)}, scaled)` : ''}`);
    console.log(`ratio: shell loop / cfn-gitops (push → executions started)           ${(shellMs / executionsMs).toFixed(1)}×`);
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
