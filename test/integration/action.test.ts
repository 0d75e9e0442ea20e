import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pushEvent, runActionStep, type ActionRun } from '../support/actions-runner';
import { startWorkerProcess, type WorkerProcess } from '../support/cli';
import { startTestAws, type TestAws } from '../support/aws';
import { createTestRepo, type TestRepo } from '../support/gitops-repo';
import { TEST_NAMESPACES } from '../support/namespaces';
import { workerEnv, ZEROS } from '../support/scenario';
import { uniqueTaskQueue } from '../support/temporal';

/** The repository root: its action.yml runs the committed dist-action/index.js. */
const ROOT = path.resolve(__dirname, '..', '..');

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

  /** Runs the action for a push from `before` to `after`; `wait` and `repo` keep action.yml's defaults. */
  function runAction(before: string, after: string): Promise<ActionRun> {
    return runActionStep({
      actionDir: ROOT,
      with: {
        'temporal-address': process.env.TEMPORAL_ADDRESS!,
        'temporal-namespace': TEST_NAMESPACES.action,
        'temporal-api-key': '',
        'task-queue': taskQueue,
        'temporal-ui-url': 'https://temporal.example.com',
      },
      workspace: repo.dir,
      event: pushEvent({ before, after }),
      tempDir: runner,
    });
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
