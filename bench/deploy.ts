/**
 * The deploy path at scale: a synthetic GitOps repo with 2,000 environment folders and a push
 * that changes 500 of them. Prints the plan time, the time for `start` to launch the 500
 * workflows, and the time until all 500 pipeline executions have started in the emulator;
 * beside it, in the same run, the original design's approach: a shell loop calling
 * `aws codepipeline start-pipeline-execution` once per changed environment.
 *
 *   npm run bench:deploy                 # 2,000 environments, 500 changed, the whole shell loop
 *   BENCH_ENVIRONMENTS=400 BENCH_CHANGED=100 BENCH_SHELL_SAMPLE=25 BENCH_START_CONCURRENCY=128 npm run bench:deploy
 *
 * BENCH_SHELL_SAMPLE runs the shell loop over that many environments and scales the time to
 * all of them (said so in the output).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CloudFormationClient, CreateStackCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { plan } from '../common/plan';
import { connectClient } from '../starter/client';
import { createGitReader, readPush } from '../starter/git';
import { startPush } from '../starter/start';
import { findTool, freePort, startDevServer, waitForPort } from '../worker/dev-server';
import { readTemporalSettings } from '../common/temporal-settings';

const ROOT = path.resolve(__dirname, '..');
const CLI = path.join(ROOT, 'dist', 'bin', 'cfn-gitops.js');
const EXAMPLE = path.join(ROOT, 'examples', 'gitops-repo', 'common');
const TOTAL = Number(process.env.BENCH_ENVIRONMENTS ?? 2000);
const CHANGED = Number(process.env.BENCH_CHANGED ?? 500);
const SHELL_SAMPLE = Math.min(CHANGED, Number(process.env.BENCH_SHELL_SAMPLE ?? CHANGED));
const START_CONCURRENCY = Number(process.env.BENCH_START_CONCURRENCY ?? 32);
const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };
const name = (i: number) => `env-${String(i).padStart(4, '0')}`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: dir, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).trim();
}

/** Starts `cfn-gitops emulator` as a child process and waits for its port. */
async function startEmulatorProcess(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, 'emulator', '--port', String(port)], { stdio: 'ignore' });
  await waitForPort('127.0.0.1', port, 30_000);
  return child;
}

async function control<T>(url: string, method: string, route: string, body?: unknown): Promise<T> {
  const response = await fetch(`${url}/_emulator${route}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return (await response.json()) as T;
}

async function pipelineExecutionsSince(url: string, since: number): Promise<number> {
  const { operations } = await control<{ operations: { kind: string; startedAt: string }[] }>(url, 'GET', '/operations?kind=pipeline');
  return operations.filter((o) => Date.parse(o.startedAt) >= since).length;
}

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(tmpdir(), 'cfn-gitops-bench-'));
  const children: ChildProcess[] = [];
  const server = await startDevServer({ port: await freePort(), uiPort: null });
  try {
    const emulatorPort = await freePort();
    const url = `http://127.0.0.1:${emulatorPort}`;
    children.push(await startEmulatorProcess(emulatorPort));
    await control(url, 'PUT', '/timing', { stackOperationMs: 50, actionMs: 50 });
    const aws = { region: 'us-east-1', endpoint: url, credentials };
    await new S3Client({ ...aws, forcePathStyle: true }).send(new CreateBucketCommand({ Bucket: 'cfn-gitops-artifacts' }));

    // The synthetic repo: TOTAL environments, then a push that bumps CHANGED of them.
    const repo = path.join(work, 'repo');
    mkdirSync(path.join(repo, 'common'), { recursive: true });
    for (const file of ['pipeline.yaml', 'environment.yaml']) writeFileSync(path.join(repo, 'common', file), readFileSync(path.join(EXAMPLE, file)));
    for (let i = 1; i <= TOTAL; i++) {
      mkdirSync(path.join(repo, name(i)));
      writeFileSync(path.join(repo, name(i), 'config.yaml'), 'appVersion: "1.0.0"\nparameters:\n  InstanceType: t3.micro\n');
    }
    git(repo, 'init', '-q', '--initial-branch=main');
    git(repo, '-c', 'user.name=Bench', '-c', 'user.email=bench@example.com', 'add', '-A');
    git(repo, '-c', 'user.name=Bench', '-c', 'user.email=bench@example.com', 'commit', '-qm', 'environments');
    const before = git(repo, 'rev-parse', 'HEAD');
    const changed = Array.from({ length: CHANGED }, (_, k) => name(Math.floor((k * TOTAL) / CHANGED) + 1));
    for (const env of changed) writeFileSync(path.join(repo, env, 'config.yaml'), 'appVersion: "1.0.1"\nparameters:\n  InstanceType: t3.micro\n');
    git(repo, '-c', 'user.name=Bench', '-c', 'user.email=bench@example.com', 'commit', '-qam', `bump ${CHANGED}`);
    const after = git(repo, 'rev-parse', 'HEAD');

    // The changed environments already exist in AWS: their pipeline stacks are created directly.
    const cloudFormation = new CloudFormationClient({ ...aws, maxAttempts: 10 });
    const pipelineTemplate = readFileSync(path.join(EXAMPLE, 'pipeline.yaml'), 'utf8');
    const parameters = (env: string) =>
      Object.entries({ EnvironmentName: env, PipelineName: `cfn-gitops-${env}`, EnvironmentStackName: `cfn-gitops-${env}`, AppVersion: '1.0.0', ArtifactBucket: 'cfn-gitops-artifacts', InstanceType: 't3.micro' }).map(
        ([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue }),
      );
    for (let i = 0; i < changed.length; i += 50) {
      await Promise.all(
        changed.slice(i, i + 50).map((env) =>
          cloudFormation.send(new CreateStackCommand({ StackName: `cfn-gitops-${env}-pipeline`, TemplateBody: pipelineTemplate, Parameters: parameters(env), Capabilities: ['CAPABILITY_IAM'] })),
        ),
      );
    }
    for (const env of changed) {
      for (;;) {
        const status = (await cloudFormation.send(new DescribeStacksCommand({ StackName: `cfn-gitops-${env}-pipeline` }))).Stacks?.[0]?.StackStatus;
        if (status === 'CREATE_COMPLETE') break;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    console.log(`setup: ${TOTAL} environments in git, ${CHANGED} changed by the push, ${CHANGED} pipelines in the emulator`);

    // 1. Plan.
    const reader = createGitReader(repo);
    const planStart = performance.now();
    const planned = plan(await readPush(reader, { before, after }));
    const planMs = performance.now() - planStart;
    if (planned.environments.length !== CHANGED) throw new Error(`plan has ${planned.environments.length} environments, want ${CHANGED}`);

    // 2. start: launch the workflows (a worker runs as its own process).
    const env = { ...process.env, TEMPORAL_ADDRESS: server.address, AWS_ENDPOINT_URL: url, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench', CFN_GITOPS_POLL_MIN: '200ms', CFN_GITOPS_POLL_MAX: '2s', CFN_GITOPS_PROTECTED_ENVIRONMENTS: '', CFN_GITOPS_LOG_LEVEL: 'WARN', CFN_GITOPS_DRIFT_INTERVAL: '0' };
    const worker = spawn(process.execPath, [CLI, 'worker'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(worker);
    await new Promise<void>((resolve) => worker.stderr!.on('data', (chunk: Buffer) => chunk.toString().includes('worker polling') && resolve()));
    const settings = readTemporalSettings(env);
    const temporal = await connectClient(settings);
    const t0 = Date.now();
    const startStart = performance.now();
    const { report } = await startPush({ client: temporal.client, git: reader, taskQueue: settings.taskQueue, push: { before, after }, concurrency: START_CONCURRENCY });
    const startMs = performance.now() - startStart;
    const accepted = report.environments.filter((e) => e.status === 'accepted').length;
    if (accepted !== CHANGED) throw new Error(`start accepted ${accepted} of ${CHANGED}`);

    // 3. Until every pipeline execution has started in the emulator.
    let started = 0;
    while ((started = await pipelineExecutionsSince(url, t0)) < CHANGED) await new Promise((r) => setTimeout(r, 250));
    const executionsMs = Date.now() - t0;
    await temporal.close();
    worker.kill('SIGTERM');

    // 4. The original design: a shell loop over the changed folders, one AWS CLI call each.
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
