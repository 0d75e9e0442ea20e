import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { findTool } from '../../worker/dev-server';
import { startTestAws, eventually, type TestAws } from '../support/aws';
import { runCli, startWorkerProcess, type WorkerProcess } from '../support/cli';
import { createTestRepo, type TestRepo } from '../support/gitops-repo';
import { TEST_NAMESPACES } from '../support/namespaces';
import { configYaml, connectTemporal, recordHistories, workerEnv } from '../support/scenario';
import { uniqueTaskQueue } from '../support/temporal';
import { startServerProcess, type ServerProcess } from '../server/harness';

const run = promisify(execFile);

/**
 * The environment workflow's trust boundary, through the real CLI, the API server and the
 * Temporal CLI: who may approve, what a malformed message does, and "no going back" across a
 * force push.
 */
describe('trust boundary of the environment workflow', () => {
  let aws: TestAws;
  let worker: WorkerProcess;
  let repo: TestRepo;
  let env: NodeJS.ProcessEnv;
  const taskQueue = uniqueTaskQueue('trust');
  const zeros = '0'.repeat(40);
  const cli = (...args: string[]) => runCli(args, { env });
  const namespace = TEST_NAMESPACES.trust;
  /** `temporal ARGS` against the test namespace; resolves with exit code and output. */
  const temporal = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await run(findTool('temporal'), [...args, '--address', process.env.TEMPORAL_ADDRESS!, '--namespace', namespace], { maxBuffer: 16 * 1024 * 1024 });
      return { code: 0, output: stdout + stderr };
    } catch (error) {
      const failed = error as { code?: number; stdout?: string; stderr?: string };
      return { code: failed.code ?? 1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
    }
  };
  const pending = async () => JSON.parse((await cli('pending', '--json')).stdout) as { environment: string; newVersion?: string }[];
  const state = async (environment: string) => {
    const answer = await temporal('workflow', 'query', '--workflow-id', `cfn-gitops/${environment}`, '--type', 'state', '--output', 'json');
    expect(answer.code).toBe(0);
    return JSON.parse(answer.output).queryResult[0] as { phase: string; applied?: { commit: string } };
  };

  beforeAll(async () => {
    aws = await startTestAws();
    env = workerEnv(aws, namespace, taskQueue, { CFN_GITOPS_PROTECTED_ENVIRONMENTS: 'prod' });
    worker = await startWorkerProcess(env);
    // The repo's own git identity is the writer's: every commit below is committed by Wes Writer.
    repo = await createTestRepo({ author: { name: 'Wes Writer', email: 'wes@example.com' } });
    await repo.commit('only development and prod', { featureX: null, 'development/config.yaml': configYaml('1.0.0'), 'prod/config.yaml': configYaml('1.0.0') });
  });

  afterAll(async () => {
    // Histories of the new paths (refused approvals, ignored messages, compare-and-set) for the replay test.
    const temporalClient = await connectTemporal(namespace);
    try {
      await recordHistories(temporalClient.client, 'trust', taskQueue, ['development', 'prod']);
    } finally {
      await temporalClient.close();
    }
    await worker?.stop();
    await aws?.close();
    repo?.remove();
  });

  it('refuses approval by the committer behind a forged author, and by the pusher, through the CLI and the API', async () => {
    const first = await repo.head();
    // A writer commits prod's change in someone else's name, then pushes it.
    const forged = await repo.commit('prod: 2.0.0', { 'prod/config.yaml': configYaml('2.0.0') }, { name: 'Someone Else', email: 'else@example.com' });
    // In Actions the pusher is GITHUB_ACTOR (outside it, `--pushed-by`).
    const started = await runCli(['start', '--repo', repo.dir, '--before', zeros, '--after', forged, '--json'], { env: { ...env, GITHUB_ACTOR: 'Pat Pusher' } });
    expect(started.code).toBe(0);
    expect(first).not.toBe(forged);
    await eventually(async () => (await pending()).some((p) => p.environment === 'prod'), 'prod waits for approval');

    const byCommitter = await cli('approve', 'prod', '--by', 'Wes Writer');
    expect(byCommitter.code).toBe(1);
    expect(byCommitter.stdout).toMatch(/Wes Writer committed commit .* may not approve it; ask someone else/);
    const byPusher = await cli('approve', 'prod', '--by', 'pat pusher');
    expect(byPusher.code).toBe(1);
    expect(byPusher.stdout).toMatch(/pat pusher pushed commit .* may not approve it/);

    const server: ServerProcess = await startServerProcess({ ...env, CFN_GITOPS_API_TOKENS: 'wes-token-0123456789=Wes Writer,avery-token-0123456789=Avery Approver' });
    try {
      const post = (token: string) =>
        fetch(`${server.url}/api/environments/prod/approve`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' });
      const self = await post('wes-token-0123456789');
      expect(self.status).toBe(409);
      expect(((await self.json()) as { error: string }).error).toMatch(/^Wes Writer committed commit [0-9a-f]{7} and may not approve it/);
      expect(await aws.stack('cfn-gitops-prod-pipeline')).toBeUndefined();
      const other = await post('avery-token-0123456789');
      expect(other.status).toBe(200);
    } finally {
      await server.stop();
    }
    await eventually(async () => (await aws.appVersion('cfn-gitops-prod')) === '2.0.0', 'prod deployed once someone else approved');
  });

  it('ignores malformed signals and refuses malformed updates sent with the Temporal CLI, then deploys normally', async () => {
    await eventually(async () => (await aws.appVersion('cfn-gitops-development')) === '1.0.0', 'development deployed');
    const id = ['--workflow-id', 'cfn-gitops/development'];
    // Oversized: 10 KB of text in every field a handler reads (each limit is smaller), through a file.
    const huge = path.join(mkdtempSync(path.join(tmpdir(), 'cfn-gitops-huge-')), 'input.json');
    const text = 'x'.repeat(10_000);
    writeFileSync(huge, JSON.stringify({ reason: text, by: text, status: 'Synced', checkedAt: text, drifted: [], number: 1, phase: 'Idle', pipelineExecutionId: text }));
    const inputs = [['--input', 'null'], ['--input', '"text"'], ['--input', '42'], ['--input', '[]'], ['--input', '{"number":"one","status":7,"by":{}}'], ['--input-file', huge]];
    const signals = ['syncStatus', 'heal', 'deploymentProgress', 'desiredState', 'approve', 'reject', 'cancel'];
    for (const name of signals) {
      for (const input of inputs) {
        const sent = await temporal('workflow', 'signal', ...id, '--name', name, ...input);
        expect({ name, input: input[1]!.slice(0, 40), code: sent.code }).toEqual({ name, input: input[1]!.slice(0, 40), code: 0 });
      }
    }
    for (const name of ['submit', 'approve', 'reject', 'cancel', 'watchRequest']) {
      for (const input of [inputs[0]!, inputs[1]!, ['--input', '{"by":7}'], inputs[5]!]) {
        const refused = await temporal('workflow', 'update', 'execute', ...id, '--name', name, ...input);
        expect({ name, input: input[1]!.slice(0, 40), refused: refused.code !== 0 }).toEqual({ name, input: input[1]!.slice(0, 40), refused: true });
      }
    }
    // Still answering: the query works, the refusal is said, and a push deploys as usual.
    expect((await state('development')).phase).toBe('Idle');
    // The Temporal UI's current details say why the last message was ignored.
    const metadata = await temporal('workflow', 'metadata', ...id);
    expect(metadata.output.length).toBeLessThan(5_000);
    expect(metadata.output).toMatch(/note: .*ignored: invalid/);
    const before = await repo.head();
    const after = await repo.commit('development: 1.1.0', { 'development/config.yaml': configYaml('1.1.0') });
    const started = await cli('start', '--repo', repo.dir, '--before', before, '--after', after, '--wait', '--json');
    expect(started.code).toBe(0);
    expect(JSON.parse(started.stdout).environments).toEqual([expect.objectContaining({ environment: 'development', status: 'Succeeded' })]);
    expect(await aws.appVersion('cfn-gitops-development')).toBe('1.1.0');
  });

  it('follows a force push that rewrites main to fewer commits, and ignores a late run from the abandoned history', async () => {
    const base = await repo.head();
    const b = await repo.commit('development: 1.2.0', { 'development/config.yaml': configYaml('1.2.0') });
    const c = await repo.commit('development: 1.3.0', { 'development/config.yaml': configYaml('1.3.0') });
    for (const [before, after] of [[base, b], [b, c]] as const) {
      const started = await cli('start', '--repo', repo.dir, '--before', before, '--after', after, '--wait');
      expect(`${started.code}: ${started.stdout}${started.stderr}`).toMatch(/^0: /);
    }
    expect(await aws.appVersion('cfn-gitops-development')).toBe('1.3.0');
    // Pushed on the old history, its run not started yet.
    const lateCommit = await repo.commit('development: 1.4.0', { 'development/config.yaml': configYaml('1.4.0') });

    // Force push: main goes back to `base` and gets one new commit, so it holds fewer commits than before.
    await repo.git.raw(['reset', '--hard', base]);
    const d = await repo.commit('development: 1.2.5 (rewritten history)', { 'development/config.yaml': configYaml('1.2.5') });
    const rewritten = await cli('start', '--repo', repo.dir, '--before', c, '--after', d, '--wait', '--json');
    expect(rewritten.code).toBe(0);
    expect(JSON.parse(rewritten.stdout).environments).toEqual([expect.objectContaining({ environment: 'development', status: 'Succeeded' })]);
    expect(await aws.appVersion('cfn-gitops-development')).toBe('1.2.5');
    expect((await state('development')).applied?.commit).toBe(d);

    // A run for the abandoned history arrives late: nothing is deployed.
    const late = await cli('start', '--repo', repo.dir, '--before', c, '--after', lateCommit, '--json');
    expect(late.code).toBe(0);
    expect(JSON.parse(late.stdout).environments).toEqual([
      expect.objectContaining({ environment: 'development', status: 'stale', message: expect.stringMatching(/is not on main .* a run from a rewritten history; ignored/) }),
    ]);
    expect(await aws.appVersion('cfn-gitops-development')).toBe('1.2.5');
    expect((await state('development')).applied?.commit).toBe(d);
  });
});
