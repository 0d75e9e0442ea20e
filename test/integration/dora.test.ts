import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { DoraFigures, DoraReport } from '../../common/dora';
import type { DeploymentRecord } from '../../common/types';
import { startTestAws, type TestAws } from '../support/aws';
import { runCli, startWorkerProcess, type WorkerProcess } from '../support/cli';
import { createTestRepo, type TestRepo } from '../support/gitops-repo';
import { TEST_NAMESPACES } from '../support/namespaces';
import { cliStart, configYaml, connectTemporal, environmentState, waitForState, workerEnv, ZEROS, type StartRun } from '../support/scenario';
import { uniqueTaskQueue } from '../support/temporal';
import { startServerProcess, until, type ServerProcess } from '../server/harness';

const MINUTE = 60;
const HOUR = 3600;
const DAY_MS = 86_400_000;
/** Where the figures are kept after the run, as a user would see them. */
const ARTIFACTS = path.resolve(__dirname, '..', '..', 'test-artifacts');

/** The middle sample, or the mean of the two middle ones; in seconds. */
function median(samplesMs: number[]): number {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const n = sorted.length;
  return (n % 2 === 1 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2) / 1000;
}

/**
 * The DORA figures of a scripted history, through the public interface: real pushes to a real git
 * repo deployed by `cfn-gitops start` through a worker process against the AWS emulator, failures
 * made by the emulator's pipeline outcomes, a deployment cancelled while its pipeline runs, a
 * rejected request; then `cfn-gitops dora --json` and `GET /api/dora` of `cfn-gitops server` both
 * give exactly the figures worked out from the commits' dates and the deployments' close times.
 */
describe('DORA figures of a scripted history', () => {
  const namespace = TEST_NAMESPACES.dora;
  let aws: TestAws;
  let repo: TestRepo;
  let worker: WorkerProcess;
  let server: ServerProcess;
  let temporal: Awaited<ReturnType<typeof connectTemporal>>;
  let env: NodeJS.ProcessEnv;
  /** Author date (ms) of each commit pushed, by SHA. */
  const commitDates = new Map<string, number>();

  /** Commits `files` (null removes) with an author date `secondsAgo` in the past. */
  const commitDated = async (message: string, files: Record<string, string | null>, secondsAgo: number): Promise<string> => {
    const date = Math.floor(Date.now() / 1000) - secondsAgo;
    for (const [file, content] of Object.entries(files)) {
      const full = path.join(repo.dir, file);
      if (content === null) rmSync(full, { recursive: true, force: true });
      else {
        mkdirSync(path.dirname(full), { recursive: true });
        writeFileSync(full, content);
      }
    }
    await repo.git.add(['-A']);
    await repo.git.commit(message, { '--date': `@${date} +0000` });
    const sha = await repo.head();
    commitDates.set(sha, date * 1000);
    return sha;
  };
  /** Commits new versions, dated `secondsAgo`, and runs `cfn-gitops start --wait` on the push. */
  const push = async (versions: Record<string, string>, secondsAgo: number, wait = true): Promise<{ sha: string; run: StartRun }> => {
    const before = await repo.head();
    const files = Object.fromEntries(Object.entries(versions).map(([environment, version]) => [`${environment}/config.yaml`, configYaml(version)]));
    const sha = await commitDated(Object.entries(versions).map(([e, v]) => `${e}: app ${v}`).join(', '), files, secondsAgo);
    return { sha, run: await cliStart(env, repo, before, sha, { wait }) };
  };
  const statuses = (run: StartRun) => run.report.environments.map((e) => [e.environment, e.status]);
  /** The next execution of the environment's pipeline fails in its deploy action. */
  const failNext = (environment: string) =>
    aws.control('POST', `/pipelines/cfn-gitops-${environment}/next-executions`, { outcome: 'Failed', action: 'DeployEnvironment', message: `${environment} health is Severe` });
  const api = async (query = '') => {
    const response = await fetch(`${server.url}/api/dora${query}`);
    return { status: response.status, body: (await response.json()) as DoraReport & { error?: string } };
  };

  beforeAll(async () => {
    [aws, repo] = await Promise.all([startTestAws(), createTestRepo()]);
    env = workerEnv(aws, namespace, uniqueTaskQueue('dora'), { CFN_GITOPS_PROTECTED_ENVIRONMENTS: 'gamma' });
    [worker, server, temporal] = await Promise.all([startWorkerProcess(env), startServerProcess(env), connectTemporal(namespace)]);
  });

  afterAll(async () => {
    await Promise.all([worker?.stop(), server?.stop(), temporal?.close()]);
    await aws?.close();
    repo?.remove();
  });

  it('deploys, fails, restores, cancels and rejects; the CLI and the API give exactly the figures of that history', async () => {
    const { client } = temporal;
    // 1. Three environments, from a commit made three hours ago; gamma is protected and approved by a second person.
    const created = await commitDated(
      'alpha, beta and gamma',
      { development: null, featureX: null, prod: null, 'alpha/config.yaml': configYaml('1.0.0'), 'beta/config.yaml': configYaml('1.0.0'), 'gamma/config.yaml': configYaml('1.0.0') },
      3 * HOUR,
    );
    const first = cliStart(env, repo, ZEROS, created, { wait: true });
    await waitForState(client, 'gamma', (s) => s.phase === 'WaitingForApproval', 'waiting for approval');
    expect((await runCli(['approve', 'gamma', '--by', 'Avery Approver'], { env })).code).toBe(0);
    expect(statuses(await first)).toEqual([
      ['alpha', 'Succeeded'],
      ['beta', 'Succeeded'],
      ['gamma', 'Succeeded'],
    ]);

    // 2-3. alpha's pipeline fails twice in a row, beta's once.
    await Promise.all([failNext('alpha'), failNext('beta')]);
    expect(statuses((await push({ alpha: '1.1.0', beta: '2.0.0' }, 2 * HOUR)).run)).toEqual([
      ['alpha', 'Failed'],
      ['beta', 'Failed'],
    ]);
    await failNext('alpha');
    expect(statuses((await push({ alpha: '1.2.0' }, 90 * MINUTE)).run)).toEqual([['alpha', 'Failed']]);
    // The window of the last check starts here: after alpha's failures, before its restore.
    const mark = new Date();
    await new Promise((resolve) => setTimeout(resolve, 20));

    // 4. alpha restored by a fix committed half an hour ago.
    expect(statuses((await push({ alpha: '1.3.0' }, 30 * MINUTE)).run)).toEqual([['alpha', 'Succeeded']]);

    // 5. beta's next deployment is cancelled while its pipeline runs: neither a failure nor a restore.
    await aws.control('POST', '/pipelines/cfn-gitops-beta/next-executions', { outcome: 'Succeeded', durationMs: 60_000 });
    const slow = await push({ beta: '2.1.0' }, 25 * MINUTE, false);
    expect(statuses(slow.run)).toEqual([['beta', 'accepted']]);
    await waitForState(client, 'beta', (s) => s.phase === 'RunningPipeline' && s.current?.commit === slow.sha && s.current.pipelineExecutionId !== undefined, 'running its pipeline');
    expect((await runCli(['cancel', 'beta', '--by', 'Avery Approver'], { env })).code).toBe(0);
    await waitForState(client, 'beta', (s) => s.lastResult?.commit === slow.sha && s.lastResult.result === 'Cancelled', 'cancelled');

    // 6. beta restored.
    expect(statuses((await push({ beta: '2.2.0' }, 20 * MINUTE)).run)).toEqual([['beta', 'Succeeded']]);

    // 7. gamma's next change is rejected: no deployment runs, nothing is counted.
    const rejected = await push({ gamma: '1.1.0' }, 15 * MINUTE, false);
    await waitForState(client, 'gamma', (s) => s.phase === 'WaitingForApproval' && s.approval?.commit.sha === rejected.sha, 'waiting for approval');
    expect((await runCli(['reject', 'gamma', '--by', 'Avery Approver', '--comment', 'not this one'], { env })).code).toBe(0);
    await waitForState(client, 'gamma', (s) => s.lastResult?.result === 'Rejected', 'rejected');

    // 8. beta fails again, and stays failed.
    await failNext('beta');
    expect(statuses((await push({ beta: '2.3.0' }, 10 * MINUTE)).run)).toEqual([['beta', 'Failed']]);

    // What happened, as each environment workflow recorded it, and each deployment's close time as Temporal holds it.
    const records = async (environment: string): Promise<(DeploymentRecord & { closedAt?: number })[]> => {
      const history = [...(await environmentState(client, environment)).history].reverse();
      return Promise.all(
        history.map(async (r) => {
          if (!r.workflowId) return r;
          const described = await client.workflow.getHandle(r.workflowId).describe();
          expect(described.status.name).toBe({ Succeeded: 'COMPLETED', Failed: 'FAILED', Cancelled: 'CANCELLED' }[r.result as string]);
          return { ...r, closedAt: described.closeTime!.getTime() };
        }),
      );
    };
    const [alpha, beta, gamma] = await Promise.all([records('alpha'), records('beta'), records('gamma')]);
    expect(alpha.map((r) => r.result)).toEqual(['Succeeded', 'Failed', 'Failed', 'Succeeded']);
    expect(beta.map((r) => r.result)).toEqual(['Succeeded', 'Failed', 'Cancelled', 'Succeeded', 'Failed']);
    expect(gamma.map((r) => [r.result, r.workflowId === undefined])).toEqual([
      ['Succeeded', false],
      ['Rejected', true],
    ]);
    const closed = (r: { closedAt?: number }) => r.closedAt!;
    const lead = (r: DeploymentRecord & { closedAt?: number }) => closed(r) - commitDates.get(r.commit)!;
    // Lead times run from the commits' dates: hours for the first push, half an hour for alpha's fix.
    expect(lead(alpha[0]!) / 1000).toBeGreaterThanOrEqual(3 * HOUR);
    expect(lead(alpha[3]!) / 1000).toBeGreaterThanOrEqual(30 * MINUTE);
    expect(lead(alpha[3]!) / 1000).toBeLessThan(40 * MINUTE);

    const expected: DoraReport['environments'] = [
      {
        environment: 'alpha',
        deployments: 4,
        succeeded: 2,
        failed: 2,
        cancelled: 0,
        deploymentsPerDay: 2 / 30,
        leadTime: { count: 2, medianSeconds: median([lead(alpha[0]!), lead(alpha[3]!)]) },
        changeFailureRate: 0.5,
        // From the end of the first failure of the run to the end of the fix.
        timeToRestore: { count: 1, medianSeconds: median([closed(alpha[3]!) - closed(alpha[1]!)]), open: 0 },
      },
      {
        environment: 'beta',
        deployments: 5,
        succeeded: 2,
        failed: 2,
        cancelled: 1,
        deploymentsPerDay: 2 / 30,
        leadTime: { count: 2, medianSeconds: median([lead(beta[0]!), lead(beta[3]!)]) },
        changeFailureRate: 0.5,
        // The cancel in between restores nothing; the last failure is still open.
        timeToRestore: { count: 1, medianSeconds: median([closed(beta[3]!) - closed(beta[1]!)]), open: 1 },
      },
      {
        environment: 'gamma',
        deployments: 1,
        succeeded: 1,
        failed: 0,
        cancelled: 0,
        deploymentsPerDay: 1 / 30,
        leadTime: { count: 1, medianSeconds: median([lead(gamma[0]!)]) },
        changeFailureRate: 0,
        timeToRestore: { count: 0, medianSeconds: null, open: 0 },
      },
    ];
    const overall: DoraFigures = {
      deployments: 10,
      succeeded: 5,
      failed: 4,
      cancelled: 1,
      deploymentsPerDay: 5 / 30,
      leadTime: { count: 5, medianSeconds: median([alpha[0]!, alpha[3]!, beta[0]!, beta[3]!, gamma[0]!].map(lead)) },
      changeFailureRate: 4 / 9,
      timeToRestore: { count: 2, medianSeconds: median([closed(alpha[3]!) - closed(alpha[1]!), closed(beta[3]!) - closed(beta[1]!)]), open: 1 },
    };

    // Visibility may take a moment to list the last deployment.
    const fromApi = (await until(() => api('?since=30d'), (a) => a.status === 200 && a.body.overall?.deployments === 10, 'every deployment listed', 20_000)).body;
    const cli = await runCli(['dora', '--since', '30d', '--json'], { env });
    expect(cli.code).toBe(0);
    const fromCli = JSON.parse(cli.stdout) as DoraReport;
    for (const report of [fromCli, fromApi]) {
      expect(report.days).toBe(30);
      expect(Date.parse(report.until) - Date.parse(report.since)).toBe(30 * DAY_MS);
      expect(report.environments).toEqual(expected);
      expect(report.overall).toEqual(overall);
      expect(report.warnings).toEqual([]);
    }
    // The default window is the last 30 days.
    expect((await api()).body.overall).toEqual(overall);

    // The terminal table says the same.
    const table = await runCli(['dora'], { env });
    expect(table.code).toBe(0);
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(path.join(ARTIFACTS, 'dora-table.txt'), table.stdout);
    writeFileSync(path.join(ARTIFACTS, 'dora.json'), `${JSON.stringify(fromApi, null, 2)}\n`);
    const rows = table.stdout.trimEnd().split('\n');
    expect(rows[1]).toMatch(/^ENVIRONMENT\s+SUCCEEDED\/DEPLOYED\s+PER DAY\s+LEAD TIME \(MEDIAN\)\s+CHANGE FAILURE RATE\s+TIME TO RESTORE \(MEDIAN\)$/);
    expect(rows.slice(2).map((r) => r.split(/\s{2,}/).slice(0, 3))).toEqual([
      ['alpha', '2/4', '0.07'],
      ['beta', '2/5 (1 cancelled)', '0.07'],
      ['gamma', '1/1', '0.03'],
      ['(all)', '5/10 (1 cancelled)', '0.17'],
    ]);
    expect(rows[5]).toContain('44.4% (4/9)');
    expect(rows[5]).toContain('(2 restored, 1 open)');

    // A window from a moment: alpha's and beta's first failures came before it and are not counted, so their fixes restore
    // nothing in it; beta's last failure is open; gamma had no deployment in it.
    const since = mark.toISOString();
    const windowed = (await api(`?since=${encodeURIComponent(since)}`)).body;
    expect(windowed.since).toBe(since);
    expect(windowed.days).toBe((Date.parse(windowed.until) - mark.getTime()) / DAY_MS);
    expect(windowed.environments).toEqual([
      {
        environment: 'alpha',
        deployments: 1,
        succeeded: 1,
        failed: 0,
        cancelled: 0,
        deploymentsPerDay: 1 / windowed.days,
        leadTime: { count: 1, medianSeconds: median([lead(alpha[3]!)]) },
        changeFailureRate: 0,
        timeToRestore: { count: 0, medianSeconds: null, open: 0 },
      },
      {
        environment: 'beta',
        deployments: 3,
        succeeded: 1,
        failed: 1,
        cancelled: 1,
        deploymentsPerDay: 1 / windowed.days,
        leadTime: { count: 1, medianSeconds: median([lead(beta[3]!)]) },
        changeFailureRate: 1 / 2,
        timeToRestore: { count: 0, medianSeconds: null, open: 1 },
      },
    ]);
    const cliWindowed = JSON.parse((await runCli(['dora', '--since', since, '--json'], { env })).stdout) as DoraReport;
    expect(cliWindowed.environments.map((e) => [e.environment, e.deployments, e.succeeded, e.failed, e.cancelled, e.timeToRestore])).toEqual(
      windowed.environments.map((e) => [e.environment, e.deployments, e.succeeded, e.failed, e.cancelled, e.timeToRestore]),
    );

    // A since that is no window: 400 from the API, exit 2 from the CLI, each naming the forms it takes.
    const bad = await api('?since=30');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('since: "30" is not a duration back from now (30d, 12h, 90m) or an ISO-8601 date or time (2024-05-01, 2024-05-01T12:00:00Z)');
    const badCli = await runCli(['dora', '--since', 'tomorrow'], { env });
    expect(badCli.code).toBe(2);
    expect(badCli.stderr).toContain('cfn-gitops: --since: "tomorrow" is not a duration back from now');
  }, 400_000);
});
