import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startWorkerProcess, type CliResult, type WorkerProcess } from '../support/cli';
import { startTestAws, type TestAws } from '../support/aws';
import { createTestRepo, type TestRepo } from '../support/gitops-repo';
import { TEST_NAMESPACES } from '../support/namespaces';
import { workerEnv, ZEROS } from '../support/scenario';
import { uniqueTaskQueue } from '../support/temporal';

/** The committed bundle that action.yml runs. */
const ACTION = path.resolve(__dirname, '..', '..', 'dist-action', 'index.js');

/** Reads a GITHUB_OUTPUT file as the runner does: `name=value` lines and `name<<DELIMITER` blocks. */
function parseOutputs(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const heredoc = /^([^=<]+)<<(.+)$/.exec(lines[i]!);
    if (heredoc) {
      const end = lines.indexOf(heredoc[2]!, i + 1);
      outputs[heredoc[1]!] = lines.slice(i + 1, end).join('\n');
      i = end;
    } else if (lines[i]!.includes('=')) {
      const at = lines[i]!.indexOf('=');
      outputs[lines[i]!.slice(0, at)] = lines[i]!.slice(at + 1);
    }
  }
  return outputs;
}

/**
 * The GitHub Action as the runner runs it: `node dist-action/index.js` with the step's inputs as
 * INPUT_* variables (hyphens kept), a real push event, the outputs and summary files, and a real
 * git checkout as the workspace; Temporal, a worker process and the emulator behind it.
 */
describe('GitHub Action (dist-action/index.js)', () => {
  let aws: TestAws;
  let worker: WorkerProcess;
  let repo: TestRepo;
  let runner: string;
  let taskQueue: string;

  /** Runs the action for a push from `before` to `after`; returns its output and the files it wrote. */
  async function runAction(before: string, after: string): Promise<CliResult & { outputs: Record<string, string>; summary: string }> {
    const step = mkdtempSync(path.join(runner, 'step-'));
    const files = { event: path.join(step, 'event.json'), output: path.join(step, 'output'), summary: path.join(step, 'summary.md') };
    writeFileSync(
      files.event,
      JSON.stringify({
        ref: 'refs/heads/main',
        before,
        after,
        created: before === ZEROS,
        deleted: false,
        forced: false,
        repository: { name: 'infra', full_name: 'acme/infra', default_branch: 'main', owner: { login: 'acme' } },
        pusher: { name: 'pat-pusher', email: 'pat@example.com' },
        sender: { login: 'pat-pusher', type: 'User' },
        head_commit: { id: after, message: 'a change' },
      }),
    );
    // The runner creates both files empty before the step starts.
    writeFileSync(files.output, '');
    writeFileSync(files.summary, '');
    // Nothing of Temporal's or AWS's from the test's own environment: the inputs alone say where Temporal is.
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(TEMPORAL_|CFN_GITOPS_|AWS_|GITHUB_|INPUT_)/.test(key)));
    const env: NodeJS.ProcessEnv = {
      ...inherited,
      GITHUB_ACTIONS: 'true',
      GITHUB_EVENT_NAME: 'push',
      GITHUB_EVENT_PATH: files.event,
      GITHUB_OUTPUT: files.output,
      GITHUB_STEP_SUMMARY: files.summary,
      GITHUB_WORKSPACE: repo.dir,
      GITHUB_SHA: after,
      GITHUB_REF: 'refs/heads/main',
      GITHUB_ACTOR: 'pat-pusher',
      'INPUT_TEMPORAL-ADDRESS': process.env.TEMPORAL_ADDRESS,
      'INPUT_TEMPORAL-NAMESPACE': TEST_NAMESPACES.action,
      'INPUT_TEMPORAL-API-KEY': '',
      'INPUT_TASK-QUEUE': taskQueue,
      'INPUT_TEMPORAL-UI-URL': 'https://temporal.example.com',
      INPUT_WAIT: 'true',
      INPUT_REPO: repo.dir,
    };
    const result = await new Promise<CliResult>((resolve, reject) => {
      const child = spawn(process.execPath, [ACTION], { cwd: repo.dir, env });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.stderr.on('data', (chunk) => (stderr += chunk));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
    return { ...result, outputs: parseOutputs(readFileSync(files.output, 'utf8')), summary: readFileSync(files.summary, 'utf8') };
  }

  beforeAll(async () => {
    runner = mkdtempSync(path.join(tmpdir(), 'cfn-gitops-runner-'));
    aws = await startTestAws();
    taskQueue = uniqueTaskQueue('action');
    worker = await startWorkerProcess(workerEnv(aws, TEST_NAMESPACES.action, taskQueue));
    repo = await createTestRepo();
  });

  afterAll(async () => {
    await worker?.stop();
    await aws?.close();
    repo?.remove();
    rmSync(runner, { recursive: true, force: true });
  });

  it('deploys the push, sets the outputs and writes the step summary', async () => {
    const first = await repo.head();
    const run = await runAction(ZEROS, first);
    expect(run.stdout).not.toMatch(/::error/);
    expect(run.code).toBe(0);

    expect(JSON.parse(run.outputs.environments!)).toEqual(['development', 'featureX', 'prod']);
    expect(JSON.parse(run.outputs.failed!)).toEqual([]);
    expect(JSON.parse(run.outputs.result!)).toEqual(
      ['development', 'featureX', 'prod'].map((environment) => ({ environment, action: 'sync', status: 'Succeeded', workflowId: `cfn-gitops/${environment}` })),
    );
    expect(run.summary).toContain('### cfn-gitops deployments');
    const prodRow = run.summary.split('\n').find((line) => line.startsWith('| prod |'));
    expect(prodRow).toMatch(/^\| prod \| sync \| 1\.4\.1 \| Succeeded \| .+ \| \[cfn-gitops\/prod\]\(https:\/\/temporal\.example\.com\/namespaces\/it-action\/workflows\/cfn-gitops%2Fprod\) \|$/);
    // The phases stream into the step's log.
    expect(run.stdout).toMatch(/prod: /);

    for (const environment of ['development', 'featureX', 'prod']) {
      expect((await aws.stack(`cfn-gitops-${environment}-pipeline`))?.StackStatus).toBe('CREATE_COMPLETE');
      const executions = await aws.executions(`cfn-gitops-${environment}`);
      expect(executions.map((e) => e.status)).toEqual(['Succeeded']);
    }
    expect(await aws.appVersion('cfn-gitops-prod')).toBe('1.4.1');
  });

  it('fails the step on an invalid config with an annotation on its file and line, and deploys the others', async () => {
    const before = await repo.head();
    const after = await repo.commit('break prod, bump development', {
      'prod/config.yaml': 'appVersion: "1.4.1"\nparameters:\n  InstanceType: [t3.micro]\n',
      'development/config.yaml': 'appVersion: "1.6.0"\nparameters:\n  InstanceType: t3.micro\n',
    });
    const run = await runAction(before, after);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^::error title=cfn-gitops prod,file=prod\/config\.yaml,line=3::prod\/config\.yaml:3.*InstanceType/m);
    expect(run.stdout).toMatch(/^::error::cfn-gitops: an environment's config is invalid; the annotation names its file and line/m);
    expect(JSON.parse(run.outputs.environments!)).toEqual(['development', 'prod']);
    expect(JSON.parse(run.outputs.failed!)).toEqual(['prod']);
    expect(run.summary).toMatch(/\| development \| sync \| 1\.6\.0 \| Succeeded \|/);
    expect(run.summary).toMatch(/\| prod \| sync \| - \| invalid \| prod\/config\.yaml:3/);

    expect(await aws.appVersion('cfn-gitops-development')).toBe('1.6.0');
    expect(await aws.executions('cfn-gitops-prod')).toHaveLength(1);
  });
});
