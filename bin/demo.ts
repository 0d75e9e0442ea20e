import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CodePipelineClient, ListPipelineExecutionsCommand } from '@aws-sdk/client-codepipeline';
import { simpleGit } from 'simple-git';
import { cpSync, writeFileSync, readFileSync } from 'node:fs';
import { stateQuery } from '../common/messages';
import { environmentWorkflowId } from '../common/names';
import { renderStartReport } from '../common/render';
import { readTemporalSettings } from '../common/temporal-settings';
import { startEmulator } from '../emulator';
import { bootstrap } from '../starter/bootstrap';
import { connectClient, workflowUrl } from '../starter/client';
import { approve } from '../starter/decide';
import { createGitReader } from '../starter/git';
import { startPush, type StartReport } from '../starter/start';
import { startDevServer, waitForPort } from '../worker/dev-server';
import { runWorker } from '../worker';
import { readWorkerSettings } from '../worker/settings';

/** Options of the demo. */
export interface DemoOptions {
  /** Exit after the three pushes instead of keeping the services up. */
  once: boolean;
  /** Temporal gRPC port (7233) and Web UI port (8233). */
  temporalPort: number;
  uiPort: number;
  /** Emulator port (4566). */
  emulatorPort: number;
  /** Folder for the demo's git repo (recreated on each run). */
  workDir: string;
}

const EXAMPLE = path.resolve(__dirname, '..', '..', 'examples', 'gitops-repo');
const CREDENTIALS = { accessKeyId: 'demo', secretAccessKey: 'demo' };

/** A check the demo makes against what AWS holds; the demo fails if any is false. */
interface Check {
  what: string;
  ok: boolean;
  detail: string;
}

/**
 * The main job on local defaults: Temporal dev server, the AWS emulator and a worker; an example
 * GitOps repo; three pushes (all environments created, development's version changed,
 * featureX removed), each handed to the starter as GitHub Actions would. prod is protected,
 * so the demo approves it as a second person would. Returns the exit code.
 * @example await runDemo({ once: true, temporalPort: 7233, uiPort: 8233, emulatorPort: 4566, workDir: '.demo' })
 */
export async function runDemo(options: DemoOptions): Promise<number> {
  const say = (text: string) => console.log(text);
  const stops: (() => Promise<void>)[] = [];
  try {
    say(`▶ Temporal dev server on 127.0.0.1:${options.temporalPort} (Web UI http://localhost:${options.uiPort})`);
    const server = await startDevServer({ port: options.temporalPort, uiPort: options.uiPort });
    stops.push(() => server.stop());
    const emulator = await startEmulator({ port: options.emulatorPort });
    stops.push(() => emulator.close());
    say(`▶ AWS emulator on ${emulator.url}`);
    const region = 'us-east-1';
    const aws = { region, endpoint: emulator.url, credentials: CREDENTIALS };
    // As a user starts: `cfn-gitops bootstrap` makes the artifact bucket the example repo relies on.
    const bootstrapClient = new CloudFormationClient(aws);
    const bootstrapped = await bootstrap({ cloudFormation: bootstrapClient, region, wait: { minDelay: 0.25, maxDelay: 1 } }).finally(() => bootstrapClient.destroy());
    say(`▶ cfn-gitops bootstrap: stack ${bootstrapped.stackName} ${bootstrapped.status}, artifact bucket ${bootstrapped.bucket}`);

    const env = {
      ...process.env,
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_UI_URL: `http://localhost:${options.uiPort}`,
      AWS_ENDPOINT_URL: emulator.url,
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      CFN_GITOPS_POLL_MIN: '250ms',
      CFN_GITOPS_POLL_MAX: '2s',
    };
    // The worker runs in this process and reads the standard AWS credential chain from it.
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: env.AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: env.AWS_SECRET_ACCESS_KEY, AWS_REGION: region });
    const workerSettings = readWorkerSettings(env);
    let stopWorker!: () => void;
    const workerStopped = new Promise<void>((resolve) => (stopWorker = resolve));
    const workerReady = new Promise<void>((resolve) => {
      const running = runWorker(workerSettings, { stop: workerStopped, onReady: resolve, logLevel: 'WARN' });
      stops.unshift(async () => {
        stopWorker();
        await running;
      });
    });
    await workerReady;
    say(`▶ worker polling task queue ${workerSettings.temporal.taskQueue}`);

    const repoDir = path.resolve(options.workDir, 'gitops-repo');
    rmSync(repoDir, { recursive: true, force: true });
    mkdirSync(path.dirname(repoDir), { recursive: true });
    cpSync(EXAMPLE, repoDir, { recursive: true });
    const git = simpleGit(repoDir);
    await git.init(['--initial-branch=main']);
    await git.addConfig('user.name', 'Dana Developer').addConfig('user.email', 'dana@example.com').addConfig('commit.gpgsign', 'false');
    say(`▶ example GitOps repo at ${repoDir}`);

    const settings = readTemporalSettings(env);
    const temporal = await connectClient(settings);
    stops.unshift(() => temporal.close());
    const link = (id: string) => workflowUrl(settings, id);
    const reader = createGitReader(repoDir);
    const commit = async (message: string) => {
      await git.add(['-A']);
      await git.commit(message);
      return (await git.revparse(['HEAD'])).trim();
    };
    const push = async (title: string, before: string | undefined, after: string): Promise<StartReport> => {
      say(`\n━━ ${title} (${after.slice(0, 7)})`);
      const run = startPush({
        client: temporal.client,
        git: reader,
        taskQueue: settings.taskQueue,
        push: { before: before ?? '0'.repeat(40), after },
        wait: true,
        pollMs: 500,
        onProgress: (environment, phase, detail) => say(`  ${environment}: ${phase}${detail ? ` (${detail})` : ''}`),
      });
      const approving = approveWhenWaiting(temporal.client, 'prod', run, say);
      const { report } = await run;
      await approving;
      say(renderStartReport(report.environments, link));
      return report;
    };

    const first = await commit('Add development, prod and featureX');
    const r1 = await push('push 1: every environment is new', undefined, first);
    const devConfig = path.join(repoDir, 'development', 'config.yaml');
    const newVersion = '1.5.0';
    writeFileSync(devConfig, readFileSync(devConfig, 'utf8').replace(/appVersion:.*/, `appVersion: "${newVersion}"`));
    const second = await commit(`development: app ${newVersion}`);
    const r2 = await push(`push 2: development → ${newVersion}`, first, second);
    rmSync(path.join(repoDir, 'featureX'), { recursive: true, force: true });
    const third = await commit('Remove featureX');
    const r3 = await push('push 3: featureX removed', second, third);

    const checks = await verify({ cloudFormation: new CloudFormationClient(aws), codePipeline: new CodePipelineClient(aws), newVersion, reports: [r1, r2, r3] });
    say('\n━━ what AWS holds now');
    for (const check of checks) say(`  ${check.ok ? '✔' : '✘'} ${check.what}: ${check.detail}`);
    say(`\nTemporal UI: http://localhost:${options.uiPort}/namespaces/default/workflows`);
    for (const environment of ['development', 'prod', 'featureX']) say(`  ${environment}: ${link(environmentWorkflowId(environment))}`);
    const ok = checks.every((c) => c.ok);
    say(ok ? '\n✔ every step did what it should' : '\n✘ some steps did not do what they should');
    if (!options.once) {
      say('\nServices stay up: Temporal UI, emulator and worker. Ctrl-C stops them.');
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
    }
    return ok ? 0 : 1;
  } finally {
    for (const stop of stops) await stop().catch(() => undefined);
  }
}

/** Approves `environment` as a second person once it waits, until the push run ends. */
async function approveWhenWaiting(client: import('@temporalio/client').Client, environment: string, run: Promise<unknown>, say: (text: string) => void): Promise<void> {
  let done = false;
  void run.finally(() => (done = true));
  while (!done) {
    try {
      const state = await client.workflow.getHandle(environmentWorkflowId(environment)).query(stateQuery);
      if (state.approval) {
        say(`  ${environment}: waiting for approval of app ${state.approval.newVersion} → approving as demo-approver`);
        await approve(client, environment, { by: 'Avery Approver', version: state.approval.newVersion, comment: 'approved by the demo' });
      }
    } catch {
      // The workflow may not exist yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function verify(input: { cloudFormation: CloudFormationClient; codePipeline: CodePipelineClient; newVersion: string; reports: StartReport[] }): Promise<Check[]> {
  const checks: Check[] = [];
  const stack = async (name: string) => {
    try {
      return (await input.cloudFormation.send(new DescribeStacksCommand({ StackName: name }))).Stacks?.[0];
    } catch {
      return undefined;
    }
  };
  const appVersion = async (name: string) => (await stack(name))?.Parameters?.find((p) => p.ParameterKey === 'AppVersion')?.ParameterValue;
  const expectations: [string, string | undefined][] = [
    ['development', input.newVersion],
    ['prod', '1.4.1'],
    ['featureX', undefined],
  ];
  for (const [environment, version] of expectations) {
    const actual = await appVersion(`cfn-gitops-${environment}`);
    const pipeline = await stack(`cfn-gitops-${environment}-pipeline`);
    checks.push({
      what: `${environment} environment stack`,
      ok: actual === version,
      detail: version === undefined ? (actual === undefined ? 'deleted' : `still there with AppVersion ${actual}`) : `AppVersion ${actual ?? 'missing'} (want ${version})`,
    });
    checks.push({ what: `${environment} pipeline stack`, ok: version === undefined ? !pipeline : pipeline?.StackStatus?.endsWith('_COMPLETE') === true, detail: pipeline?.StackStatus ?? 'absent' });
  }
  const executions = await input.codePipeline.send(new ListPipelineExecutionsCommand({ pipelineName: 'cfn-gitops-development' }));
  checks.push({ what: 'development pipeline executions', ok: (executions.pipelineExecutionSummaries ?? []).length === 2, detail: `${(executions.pipelineExecutionSummaries ?? []).length} (want 2: the first run and ${input.newVersion})` });
  const results = input.reports.flatMap((r) => r.environments.map((e) => `${e.environment} ${e.action}: ${e.status}`));
  const failed = input.reports.flatMap((r) => r.environments).filter((e) => e.status !== 'Succeeded');
  checks.push({ what: 'deployments', ok: failed.length === 0, detail: results.join(', ') });
  return checks;
}

/** Waits for a port before the demo starts, so a second demo fails with a clear message. */
export async function assertPortFree(port: number): Promise<void> {
  const taken = await waitForPort('127.0.0.1', port, 0).then(() => true, () => false);
  if (taken) throw new Error(`port ${port} is in use: stop what runs there (another demo?) or pick other ports`);
}
