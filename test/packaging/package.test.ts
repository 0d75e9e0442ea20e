import { execFile, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CloudFormationClient, ListStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetPipelineCommand } from '@aws-sdk/client-codepipeline';
import { GetBucketVersioningCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { parse } from 'yaml';
import { pushEvent, runActionStep, stepInputs } from '../support/actions-runner';
import { startTestAws, TEST_CREDENTIALS, TEST_REGION, type TestAws } from '../support/aws';
import { createTestRepo, type TestRepo } from '../support/gitops-repo';
import { TEST_NAMESPACES } from '../support/namespaces';
import { workerEnv, ZEROS } from '../support/scenario';
import { uniqueTaskQueue } from '../support/temporal';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..');
/** What a checkout holds that `npm pack` needs: sources, build settings and the lock file; no dist/. */
const CHECKOUT = ['bin', 'common', 'workflows', 'activities', 'worker', 'starter', 'server', 'emulator', 'examples', 'scripts', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md'];

/** The test's environment without its Temporal, AWS, cfn-gitops and GitHub settings: each step gets only its own. */
function bareEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(TEMPORAL_|CFN_GITOPS_|AWS_|GITHUB_|INPUT_|RUNNER_)/.test(key)));
}

/** Runs a long-lived command until its output matches `ready`; returns the match and the child. */
function startUntil(command: string, args: string[], env: NodeJS.ProcessEnv, ready: RegExp) {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const matched = new Promise<RegExpExecArray>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`${args.join(' ')}: no ${ready} within 60 s:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk;
      const match = ready.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(' ')} exited with ${code}:\n${output}`));
    });
  });
  return { child, matched, stop: () => (child.kill('SIGTERM'), exited) };
}

/**
 * The package as a user gets it: `npm pack` in a checkout without dist/ (prepack builds), then
 * `npm install <tarball>` into an empty folder, and the installed `cfn-gitops` run from there.
 */
describe('npm package', () => {
  let work: string;
  let tarball: string;
  let files: string[];
  let bin: string;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'cfn-gitops-package-'));
    const checkout = path.join(work, 'checkout');
    mkdirSync(checkout);
    for (const entry of CHECKOUT) cpSync(path.join(ROOT, entry), path.join(checkout, entry), { recursive: true });
    // The dev dependencies a build needs, as `npm ci` would have installed them.
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(checkout, 'node_modules'), 'dir');
    const packed = Date.now();
    await run('npm', ['pack', '--pack-destination', work], { cwd: checkout, maxBuffer: 64 * 1024 * 1024 });
    tarball = path.join(work, readdirSync(work).find((name) => name.endsWith('.tgz'))!);
    files = (await run('tar', ['-tzf', tarball], { maxBuffer: 16 * 1024 * 1024 })).stdout.split('\n').filter(Boolean).map((name) => name.replace(/^package\//, ''));

    const app = path.join(work, 'app');
    mkdirSync(app);
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }));
    const installed = Date.now();
    // --prefer-offline: the registry only for what the cache (filled by `npm ci`) lacks.
    await run('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund'], { cwd: app, maxBuffer: 64 * 1024 * 1024 });
    bin = path.join(app, 'node_modules', '.bin', 'cfn-gitops');
    console.log(`npm pack (with its build) ${((installed - packed) / 1000).toFixed(1)} s, tarball ${statSync(tarball).size} bytes, ${files.length} files; npm install ${((Date.now() - installed) / 1000).toFixed(1)} s`);
  }, 300_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('ships the built CLI, the workflow bundle and the example repo, and no sources, maps or tests', () => {
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'dist/bin/cfn-gitops.js', 'dist/workflow-bundle.js', 'dist/worker/index.js', 'dist/emulator/index.js', 'examples/gitops-repo/common/pipeline.yaml']));
    expect(files.filter((file) => !/^(dist\/.+\.js|examples\/gitops-repo\/.+|package\.json|README\.md)$/.test(file))).toEqual([]);
    expect(files.filter((file) => /^dist\/(test|bench)\//.test(file))).toEqual([]);
  });

  it('installs runtime dependencies only', () => {
    const modules = path.join(work, 'app', 'node_modules');
    expect(existsSync(path.join(modules, '@temporalio', 'worker'))).toBe(true);
    expect(['typescript', 'jest', 'esbuild', 'eslint', '@temporalio/testing'].filter((name) => existsSync(path.join(modules, name)))).toEqual([]);
  });

  it.each([
    [[], /Commands:[\s\S]*start[\s\S]*worker[\s\S]*server[\s\S]*emulator/],
    [['worker'], /Usage: cfn-gitops worker/],
    [['start'], /Usage: cfn-gitops start[\s\S]*--wait/],
    [['server'], /Usage: cfn-gitops server[\s\S]*--port/],
  ])('cfn-gitops %j --help', async (args, usage) => {
    const { stdout } = await run(bin, [...args, '--help']);
    expect(stdout).toMatch(usage);
  });

  it('cfn-gitops emulator answers the AWS SDK', async () => {
    const emulator = startUntil(bin, ['emulator', '--port', '0'], process.env, /AWS emulator on (http:\/\/\S+)/);
    try {
      const [, url] = await emulator.matched;
      const cloudFormation = new CloudFormationClient({ region: TEST_REGION, endpoint: url, credentials: TEST_CREDENTIALS });
      const stacks = await cloudFormation.send(new ListStacksCommand({}));
      expect(stacks.$metadata.httpStatusCode).toBe(200);
      expect(stacks.StackSummaries ?? []).toEqual([]);
      cloudFormation.destroy();
    } finally {
      await emulator.stop();
    }
  });

  it('cfn-gitops worker polls the Temporal server with the shipped workflow bundle', async () => {
    const env = { ...process.env, TEMPORAL_NAMESPACE: 'default', CFN_GITOPS_TASK_QUEUE: uniqueTaskQueue('package'), CFN_GITOPS_DRIFT_INTERVAL: '0', AWS_REGION: TEST_REGION };
    const worker = startUntil(bin, ['worker'], env, /worker polling/);
    try {
      await worker.matched;
    } finally {
      expect(await worker.stop()).toBe(0);
    }
  });

  /**
   * From zero to deployed environments with nothing but what a user gets: a bare AWS account
   * (the emulator, no bucket, no stack), `cfn-gitops bootstrap` and `cfn-gitops worker` from the
   * installed package, the installed example repo pushed as a repository of its own, and the
   * Action run by its action.yml exactly as the runner runs it from the example's workflow file.
   *
   * The Action ships from this git repository (`uses: OWNER/cfn-gitops@REF` fetches action.yml
   * and the committed dist-action/index.js), not from the npm package, which carries neither:
   * the step runs a copy of those two files in a folder of its own, away from any node_modules.
   */
  describe('from zero', () => {
    let aws: TestAws;
    let runner: string;
    let repo: TestRepo;
    let worker: ReturnType<typeof startUntil> | undefined;

    beforeAll(async () => {
      runner = mkdtempSync(path.join(tmpdir(), 'cfn-gitops-runner-'));
      aws = await startTestAws({ bootstrap: false });
    });

    afterAll(async () => {
      await worker?.stop();
      await aws?.close();
      repo?.remove();
      if (runner) rmSync(runner, { recursive: true, force: true });
    });

    it('cfn-gitops bootstrap, then cfn-gitops worker, from the installed package; the Action deploys the example repo to AWS', async () => {
      // A bare account: nothing but what the steps below make.
      expect(await aws.stack('cfn-gitops-bootstrap')).toBeUndefined();

      // 1. cfn-gitops bootstrap: the artifact bucket's stack.
      const bootstrapped = await run(bin, ['bootstrap', '--json'], { env: { ...bareEnv(), ...aws.env }, timeout: 120_000 });
      const { bucket, ...result } = JSON.parse(bootstrapped.stdout) as { bucket: string; stackName: string; region: string; status: string };
      expect(result).toEqual({ stackName: 'cfn-gitops-bootstrap', region: TEST_REGION, status: 'created' });
      expect((await aws.stack('cfn-gitops-bootstrap'))?.Outputs).toEqual([expect.objectContaining({ OutputKey: 'ArtifactBucket', OutputValue: bucket })]);
      expect((await aws.s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status).toBe('Enabled');

      // 2. cfn-gitops worker on the default task queue, which the example's workflow leaves to the Action's default.
      // prod deploys without an approval here: CFN_GITOPS_PROTECTED_ENVIRONMENTS is empty.
      const settings = workerEnv(aws, TEST_NAMESPACES.package, '');
      delete settings.CFN_GITOPS_TASK_QUEUE;
      worker = startUntil(bin, ['worker'], { ...bareEnv(), ...settings }, /worker polling (\S+)/);
      expect((await worker.matched)[1]).toBe('cfn-gitops');

      // 3. The GitOps repo: the example as installed, in a git repository of its own, relying on bootstrap's bucket.
      repo = await createTestRepo({ from: path.join(work, 'app', 'node_modules', 'cfn-gitops', 'examples', 'gitops-repo') });
      expect(parse(readFileSync(path.join(repo.dir, 'common', 'gitops.yaml'), 'utf8'))).not.toHaveProperty('artifactBucket');
      const versions = Object.fromEntries(
        ['development', 'featureX', 'prod'].map((environment) => [environment, (parse(readFileSync(path.join(repo.dir, environment, 'config.yaml'), 'utf8')) as { appVersion: string }).appVersion]),
      );

      // 4. The push's job: the deploy step of the example's workflow, its secrets and variables set as a user sets them.
      const actionDir = path.join(runner, '_actions', 'your-org', 'cfn-gitops', 'v1');
      mkdirSync(path.join(actionDir, 'dist-action'), { recursive: true });
      cpSync(path.join(ROOT, 'action.yml'), path.join(actionDir, 'action.yml'));
      cpSync(path.join(ROOT, 'dist-action', 'index.js'), path.join(actionDir, 'dist-action', 'index.js'));
      const inputs = stepInputs(path.join(repo.dir, '.github', 'workflows', 'deploy.yml'), 'your-org/cfn-gitops@v1', {
        secrets: { TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS!, TEMPORAL_NAMESPACE: TEST_NAMESPACES.package },
        vars: { TEMPORAL_UI_URL: 'https://temporal.example.com' },
      });
      expect(inputs).toEqual({
        'temporal-address': process.env.TEMPORAL_ADDRESS,
        'temporal-namespace': TEST_NAMESPACES.package,
        'temporal-api-key': '',
        'temporal-ui-url': 'https://temporal.example.com',
      });
      const head = await repo.head();
      const step = await runActionStep({ actionDir, with: inputs, workspace: repo.dir, event: pushEvent({ before: ZEROS, after: head, message: 'Initial commit' }), tempDir: runner });
      const errors = step.stdout.split('\n').filter((line) => line.startsWith('::error'));
      expect({ code: step.code, errors, log: step.code === 0 ? '' : `${step.stdout}\n${step.stderr}` }).toEqual({ code: 0, errors: [], log: '' });

      // 5. What the job shows: outputs, step summary, the phases in its log.
      const environments = ['development', 'featureX', 'prod'];
      expect(JSON.parse(step.outputs.environments ?? 'null')).toEqual(environments);
      expect(JSON.parse(step.outputs.failed ?? 'null')).toEqual([]);
      expect(JSON.parse(step.outputs.result ?? 'null')).toEqual(
        environments.map((environment) => ({ environment, action: 'sync', status: 'Succeeded', workflowId: `cfn-gitops/${environment}` })),
      );
      expect(step.summary).toContain('### cfn-gitops deployments');
      const rows = step.summary.split('\n').filter((line) => line.startsWith('| ') && !/^\| (Environment|---) \|/.test(line));
      // Cells split at the pipes the table draws, not at an escaped one inside a cell.
      expect(rows.map((row) => row.split(/(?<!\\)\|/).slice(1, -1).map((cell) => cell.trim()))).toEqual(
        environments.map((environment) => [
          environment,
          'sync',
          versions[environment],
          'Succeeded',
          expect.any(String),
          `[cfn-gitops/${environment}](https://temporal.example.com/namespaces/${TEST_NAMESPACES.package}/workflows/cfn-gitops%2F${environment})`,
        ]),
      );
      // The phases stream into the job's log.
      for (const environment of environments) expect(step.stdout).toMatch(new RegExp(`^${environment}: `, 'm'));

      // 6. What AWS holds, read with the SDK: each pipeline stack, its pipeline storing artifacts in bootstrap's
      // bucket, the source the worker uploaded there, one successful execution, and the environment stack at its version.
      for (const environment of environments) {
        expect((await aws.stack(`cfn-gitops-${environment}-pipeline`))?.StackStatus).toBe('CREATE_COMPLETE');
        const pipeline = await aws.codePipeline.send(new GetPipelineCommand({ name: `cfn-gitops-${environment}` }));
        expect(pipeline.pipeline?.artifactStore?.location).toBe(bucket);
        const source = await aws.s3.send(new GetObjectCommand({ Bucket: bucket, Key: `cfn-gitops/${environment}/source.zip` }));
        expect(source.ContentType).toBe('application/zip');
        expect((await aws.executions(`cfn-gitops-${environment}`)).map((e) => [e.status, e.appVersion])).toEqual([['Succeeded', versions[environment]]]);
        expect(await aws.appVersion(`cfn-gitops-${environment}`)).toBe(versions[environment]);
      }

      // The worker stops cleanly once the job is done.
      const stopping = worker;
      worker = undefined;
      expect(await stopping.stop()).toBe(0);
    }, 300_000);
  });
});
