import { execFile, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CloudFormationClient, ListStacksCommand } from '@aws-sdk/client-cloudformation';
import { TEST_CREDENTIALS, TEST_REGION } from '../support/aws';
import { uniqueTaskQueue } from '../support/temporal';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..');
/** What a checkout holds that `npm pack` needs: sources, build settings and the lock file; no dist/. */
const CHECKOUT = ['bin', 'common', 'workflows', 'activities', 'worker', 'starter', 'server', 'emulator', 'examples', 'scripts', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md'];

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
});
