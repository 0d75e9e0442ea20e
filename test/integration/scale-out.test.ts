import { execFileSync } from 'node:child_process';
import { findTool } from '../../worker/dev-server';
import { startTestAws, type TestAws } from '../support/aws';
import { runCli, startWorkerProcess, type WorkerProcess } from '../support/cli';
import type { TestRepo } from '../support/gitops-repo';
import { TEST_NAMESPACES } from '../support/namespaces';
import { cliStart, connectTemporal, createRepoWith, operationsLog, workerEnv, ZEROS } from '../support/scenario';
import { uniqueTaskQueue } from '../support/temporal';

const ENVIRONMENTS = Array.from({ length: 10 }, (_, i) => `team${String(i + 1).padStart(2, '0')}`);

/**
 * Scale-out: more workers on one task queue share the work, with the same guarantees as one.
 * Two `cfn-gitops worker` processes, the real CLI, the dev server and the emulator.
 */
describe('two workers on one task queue', () => {
  let aws: TestAws;
  let env: NodeJS.ProcessEnv;
  let taskQueue: string;
  let workers: WorkerProcess[] = [];
  let repo: TestRepo;

  beforeAll(async () => {
    aws = await startTestAws();
    taskQueue = uniqueTaskQueue('scale-out');
    // Tuning as an operator of many workers sets it: few slots each, a rate limit for the whole queue.
    env = workerEnv(aws, TEST_NAMESPACES.scaleOut, taskQueue, { CFN_GITOPS_MAX_ACTIVITIES: '8', CFN_GITOPS_ACTIVITY_POLLERS: '4', CFN_GITOPS_MAX_ACTIVITIES_PER_SECOND: '250' });
    workers = [await startWorkerProcess(env), await startWorkerProcess(env)];
    repo = await createRepoWith(Object.fromEntries(ENVIRONMENTS.map((e) => [e, '1.0.0'])));
  });

  afterAll(async () => {
    for (const worker of workers) await worker.stop();
    await aws?.close();
    repo?.remove();
  });

  it('share a push of ten environments, and each is deployed exactly once', async () => {
    const run = await cliStart(env, repo, ZEROS, await repo.head(), { wait: true, timeoutMs: 240_000 });
    expect(run.code).toBe(0);
    expect(run.report.environments.map((e) => [e.environment, e.status])).toEqual(ENVIRONMENTS.map((e) => [e, 'Succeeded']));

    // AWS holds one pipeline stack and one pipeline execution per environment, each created once.
    const operations = await operationsLog(aws);
    for (const environment of ENVIRONMENTS) {
      expect(operations.filter((o) => o.target === `cfn-gitops-${environment}-pipeline` && o.operation === 'CREATE_STACK')).toHaveLength(1);
      const executions = await aws.executions(`cfn-gitops-${environment}`);
      expect(executions.map((e) => [e.status, e.appVersion])).toEqual([['Succeeded', '1.0.0']]);
    }

    // Who ran the activities: the worker identity (pid@host) in each deployment's history.
    const temporal = await connectTemporal(TEST_NAMESPACES.scaleOut);
    const ranBy = new Map<string, number>();
    try {
      for await (const execution of temporal.client.workflow.list({ query: `TaskQueue = '${taskQueue}' AND WorkflowType = 'deploymentWorkflow'` })) {
        const history = await temporal.client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
        for (const event of history.events ?? []) {
          const identity = event.activityTaskStartedEventAttributes?.identity;
          if (identity) ranBy.set(identity, (ranBy.get(identity) ?? 0) + 1);
        }
      }
    } finally {
      await temporal.close();
    }
    const byWorker = workers.map((w) => [...ranBy.entries()].filter(([identity]) => identity.startsWith(`${w.child.pid}@`)).reduce((n, [, count]) => n + count, 0));
    expect(byWorker.reduce((a, b) => a + b, 0)).toBe([...ranBy.values()].reduce((a, b) => a + b, 0));
    expect(byWorker[0]).toBeGreaterThan(0);
    expect(byWorker[1]).toBeGreaterThan(0);

    // Both poll the activity queue with the queue-wide rate limit they were given.
    const described = JSON.parse(
      execFileSync(findTool('temporal'), ['task-queue', 'describe', '--address', process.env.TEMPORAL_ADDRESS!, '--namespace', TEST_NAMESPACES.scaleOut, '--task-queue', taskQueue, '--task-queue-type', 'activity', '--output', 'json'], { encoding: 'utf8' }),
    ) as { pollers: { identity: string; ratePerSecond: number }[] };
    for (const worker of workers) {
      expect(described.pollers.filter((p) => p.identity.startsWith(`${worker.child.pid}@`)).map((p) => p.ratePerSecond)).toEqual([250]);
    }
  }, 300_000);

  it('a worker given more pollers than slots refuses to start, naming both settings and the fix', async () => {
    const result = await runCli(['worker'], { env: { ...env, CFN_GITOPS_MAX_ACTIVITIES: '2', CFN_GITOPS_ACTIVITY_POLLERS: '5' }, timeoutMs: 60_000 });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('CFN_GITOPS_ACTIVITY_POLLERS: 5 pollers cannot exceed CFN_GITOPS_MAX_ACTIVITIES, 2; lower CFN_GITOPS_ACTIVITY_POLLERS or raise CFN_GITOPS_MAX_ACTIVITIES');
  });
});
