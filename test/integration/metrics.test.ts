import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../../worker/dev-server';
import { startTestAws, type TestAws } from '../support/aws';
import { runCli, startWorkerProcess, type WorkerProcess } from '../support/cli';
import { createTestRepo, type TestRepo } from '../support/gitops-repo';
import { TEST_NAMESPACES } from '../support/namespaces';
import { metricNamesIn, parseScrape, samplesOf, valueOf, type Scrape } from '../support/prometheus';
import { callLog, cliStart, configYaml, connectTemporal, waitForState, workerEnv, ZEROS, type Call } from '../support/scenario';
import { uniqueTaskQueue } from '../support/temporal';
import { startServerProcess, until, type ServerProcess } from '../server/harness';

const DASHBOARD = path.resolve(__dirname, '..', '..', 'examples', 'grafana', 'cfn-gitops.json');
/** Where the last scrapes are kept, to read what Prometheus gets. */
const ARTIFACTS = path.resolve(__dirname, '..', '..', 'test-artifacts');

/** A Grafana panel as the dashboard's JSON model holds it. */
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource: { type: string; uid: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets: { refId: string; expr: string; datasource: { type: string; uid: string } }[];
}

/**
 * What a Prometheus server scrapes, after real deployments: the worker process's health port
 * (its own metrics and the Temporal SDK's, in one scrape) and the API server's /metrics, and
 * the example Grafana dashboard, whose every query reads a metric one of them exports.
 */
describe('metrics: the worker and the server, as Prometheus scrapes them', () => {
  const namespace = TEST_NAMESPACES.metrics;
  const taskQueue = uniqueTaskQueue('metrics');
  const MAX_ACTIVITIES = 7;
  const HOUR = 3600;
  let aws: TestAws;
  let repo: TestRepo;
  let worker: WorkerProcess;
  let server: ServerProcess;
  let temporal: Awaited<ReturnType<typeof connectTemporal>>;
  let env: NodeJS.ProcessEnv;
  let healthPort: number;
  let workerStarted: string;
  const scrapes: { worker?: Scrape; server?: Scrape } = {};

  /** Scrapes `url`, keeping the text in test-artifacts/`file`. */
  const scrape = async (url: string, file: string) => {
    const text = await (await fetch(url)).text();
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(path.join(ARTIFACTS, file), text);
    return parseScrape(text);
  };
  const scrapeWorker = () => scrape(`http://127.0.0.1:${healthPort}/metrics`, 'metrics-worker.txt');
  const scrapeServer = () => scrape(`${server.url}/metrics`, 'metrics-server.txt');
  /** A commit whose author date is `secondsAgo` in the past: the lead time runs from it. */
  const commitDated = async (message: string, files: Record<string, string>, secondsAgo: number): Promise<{ sha: string; date: number }> => {
    const date = Math.floor(Date.now() / 1000) - secondsAgo;
    for (const [file, content] of Object.entries(files)) writeFileSync(path.join(repo.dir, file), content);
    await repo.git.add(Object.keys(files));
    await repo.git.commit(message, { '--date': `@${date}` });
    return { sha: await repo.head(), date };
  };
  /** The worker's AWS attempts by `service operation`, and the emulator's calls since the worker started, likewise. */
  const attempts = (scrape: Scrape) =>
    Object.fromEntries(samplesOf(scrape, 'cfn_gitops_aws_requests_total').map((s) => [`${s.labels.service} ${s.labels.operation}`, s.value]));
  /** The deployments counted, by labels, in a stable order. */
  const finished = (scrape: Scrape) =>
    samplesOf(scrape, 'cfn_gitops_deployments_finished_total')
      .map((s) => [s.labels.environment, s.labels.action, s.labels.result, s.value])
      .sort((a, b) => String(a).localeCompare(String(b)));
  const served = (calls: Call[]) => calls.reduce<Record<string, number>>((counts, c) => ({ ...counts, [`${c.service} ${c.operation}`]: (counts[`${c.service} ${c.operation}`] ?? 0) + 1 }), {});

  beforeAll(async () => {
    [aws, repo, healthPort] = await Promise.all([startTestAws(), createTestRepo(), freePort()]);
    env = workerEnv(aws, namespace, taskQueue, { CFN_GITOPS_PROTECTED_ENVIRONMENTS: 'prod', CFN_GITOPS_HEALTH_PORT: String(healthPort), CFN_GITOPS_MAX_ACTIVITIES: String(MAX_ACTIVITIES) });
    // Every AWS call from here on is the worker's: neither the CLI nor the server calls AWS.
    workerStarted = new Date().toISOString();
    [worker, server, temporal] = await Promise.all([startWorkerProcess(env), startServerProcess(env), connectTemporal(namespace)]);
  });

  afterAll(async () => {
    await Promise.all([worker?.stop(), server?.stop(), temporal?.close()]);
    await aws?.close();
    repo?.remove();
  });

  it('counts deployments by result with their lead time from the commit, AWS attempts and throttles, beside the SDK task metrics', async () => {
    // Three throttled answers to the worker's DescribeStacks calls; the SDK's own retries get through.
    await aws.control('POST', '/faults', { service: 'cloudformation', operation: 'DescribeStacks', error: { code: 'Throttling', message: 'Rate exceeded', status: 400 }, count: 3 });
    const commit = await commitDated('development: app 1.5.0', { 'development/config.yaml': configYaml('1.5.0') }, HOUR);
    const t0 = Date.now() / 1000;
    const started = await cliStart(env, repo, ZEROS, commit.sha);
    expect(started.report.environments.map((e) => [e.environment, e.status])).toEqual([
      ['development', 'accepted'],
      ['featureX', 'accepted'],
      ['prod', 'accepted'],
    ]);
    for (const environment of ['development', 'featureX']) await waitForState(temporal.client, environment, (s) => s.lastResult?.result === 'Succeeded', 'deployed');
    await waitForState(temporal.client, 'prod', (s) => s.phase === 'WaitingForApproval', 'waiting for approval');
    const t1 = Date.now() / 1000;

    // The worker's AWS attempts are what the emulator served, operation by operation (once the last answer is read).
    const scrape = await until(
      async () => ({ scrape: await scrapeWorker(), calls: await callLog(aws) }),
      ({ scrape, calls }) => JSON.stringify(attempts(scrape)) === JSON.stringify(served(calls.filter((c) => c.time >= workerStarted))),
      'the worker counted every AWS call the emulator served',
      15_000,
    ).then(({ scrape }) => scrape);
    expect(scrape.problems).toEqual([]);
    expect(valueOf(scrape, 'cfn_gitops_aws_requests_total', { service: 'cloudformation', operation: 'CreateStack' })).toBe(2);
    const { faults } = await aws.control<{ faults: { injected: number }[] }>('GET', '/faults');
    expect(faults[0]!.injected).toBe(3);
    expect(samplesOf(scrape, 'cfn_gitops_aws_throttled_total').map((s) => [s.labels, s.value])).toEqual([[{ service: 'cloudformation', operation: 'DescribeStacks' }, 3]]);
    expect(valueOf(scrape, 'cfn_gitops_aws_errors_total', { service: 'cloudformation', operation: 'DescribeStacks', code: 'Throttling' })).toBe(3);

    // Deployments by result: two succeeded, prod has not run; the SDK counted the same two deployment workflows.
    expect(finished(scrape)).toEqual([
      ['development', 'sync', 'Succeeded', 1],
      ['featureX', 'sync', 'Succeeded', 1],
    ]);
    expect(valueOf(scrape, 'temporal_workflow_completed_total', { namespace, task_queue: taskQueue, workflow_type: 'deploymentWorkflow' })).toBe(2);

    // Lead time runs from the commit's time, an hour ago, not from the push.
    const lead = { environment: 'development' };
    expect(valueOf(scrape, 'cfn_gitops_deployment_lead_time_seconds_count', lead)).toBe(1);
    expect(valueOf(scrape, 'cfn_gitops_deployment_lead_time_seconds_bucket', { ...lead, le: '3600' })).toBe(0);
    expect(valueOf(scrape, 'cfn_gitops_deployment_lead_time_seconds_bucket', { ...lead, le: '7200' })).toBe(1);
    const seconds = valueOf(scrape, 'cfn_gitops_deployment_lead_time_seconds_sum', lead);
    expect(seconds).toBeGreaterThanOrEqual(t0 - commit.date);
    expect(seconds).toBeLessThanOrEqual(t1 - commit.date + 2);

    // The Temporal SDK's metrics, in the same scrape, for this worker's namespace and task queue.
    const queue = { namespace, task_queue: taskQueue };
    const scheduleToStart = valueOf(scrape, 'temporal_workflow_task_schedule_to_start_latency_seconds_count', queue);
    expect(scheduleToStart).toBeGreaterThanOrEqual(6);
    expect(valueOf(scrape, 'temporal_workflow_task_schedule_to_start_latency_seconds_sum', queue) / scheduleToStart).toBeLessThan(10);
    const activitySlots = { ...queue, worker_type: 'ActivityWorker' };
    expect(valueOf(scrape, 'temporal_worker_task_slots_used', activitySlots) + valueOf(scrape, 'temporal_worker_task_slots_available', activitySlots)).toBe(MAX_ACTIVITIES);
    expect(valueOf(scrape, 'temporal_activity_execution_latency_seconds_count', { ...queue, activity_type: 'createStack' })).toBe(2);
    expect(valueOf(scrape, 'temporal_activity_task_received_total', queue)).toBeGreaterThan(0);
    expect(valueOf(scrape, 'temporal_num_pollers', { ...queue, poller_type: 'activity_task' })).toBeGreaterThan(0);

    // The worker's state, as before, and its process.
    expect(valueOf(scrape, 'cfn_gitops_worker_running')).toBe(1);
    expect(valueOf(scrape, 'cfn_gitops_worker_cached_workflows')).toBeGreaterThanOrEqual(1);
    expect(valueOf(scrape, 'process_resident_memory_bytes')).toBeGreaterThan(10 * 1024 * 1024);
    scrapes.worker = scrape;

    // The server's view: one approval pending, two environments synced, prod out of sync. Its
    // metrics answer from a status snapshot up to 5 s old, so the scrape is asked until it has caught up.
    const fromServer = await until(
      scrapeServer,
      (s) => valueOf(s, 'cfn_gitops_pending_approvals') === 1 && valueOf(s, 'cfn_gitops_environments', { sync_status: 'Synced' }) === 2,
      'the server sees prod waiting and two environments synced',
      15_000,
    );
    expect(fromServer.problems).toEqual([]);
    expect(valueOf(fromServer, 'cfn_gitops_pending_approvals')).toBe(1);
    expect(valueOf(fromServer, 'cfn_gitops_environments', { sync_status: 'Synced' })).toBe(2);
    expect(valueOf(fromServer, 'cfn_gitops_environments', { sync_status: 'OutOfSync' })).toBe(1);
    expect(valueOf(fromServer, 'process_cpu_seconds_total')).toBeGreaterThan(0);
  });

  it('counts a failed deployment and an approved one; the server sees no approval left', async () => {
    await aws.control('DELETE', '/faults');
    expect((await runCli(['approve', 'prod', '--by', 'Alice Approver', '--version', '1.4.1'], { env })).code).toBe(0);
    await waitForState(temporal.client, 'prod', (s) => s.lastResult?.result === 'Succeeded', 'deployed after approval');
    await aws.control('POST', '/faults', { service: 'codepipeline', operation: 'StartPipelineExecution', error: { code: 'AccessDeniedException', message: 'not allowed', status: 400 }, count: 1 });
    const before = await repo.head();
    const broken = await repo.commit('featureX: app 1.6.0', { 'featureX/config.yaml': configYaml('1.6.0') });
    const run = await cliStart(env, repo, before, broken, { wait: true });
    expect(run.entry('featureX').status).toBe('Failed');

    const scrape = await scrapeWorker();
    expect(scrape.problems).toEqual([]);
    expect(finished(scrape)).toEqual([
      ['development', 'sync', 'Succeeded', 1],
      ['featureX', 'sync', 'Failed', 1],
      ['featureX', 'sync', 'Succeeded', 1],
      ['prod', 'sync', 'Succeeded', 1],
    ]);
    // The failure has no lead time; prod's runs from its commit an hour ago, through the approval wait.
    expect(valueOf(scrape, 'cfn_gitops_deployment_lead_time_seconds_count', { environment: 'featureX' })).toBe(1);
    expect(valueOf(scrape, 'cfn_gitops_deployment_lead_time_seconds_bucket', { environment: 'prod', le: '7200' })).toBe(1);
    expect(valueOf(scrape, 'cfn_gitops_aws_errors_total', { service: 'codepipeline', operation: 'StartPipelineExecution', code: 'AccessDeniedException' })).toBe(1);
    expect(valueOf(scrape, 'temporal_workflow_failed_total', { namespace, task_queue: taskQueue, workflow_type: 'deploymentWorkflow' })).toBe(1);
    scrapes.worker = scrape;

    const fromServer = await until(scrapeServer, (s) => valueOf(s, 'cfn_gitops_pending_approvals') === 0, 'no approval pending', 10_000);
    expect(valueOf(fromServer, 'cfn_gitops_deployments', { environment: 'featureX', result: 'Failed' })).toBe(1);
    scrapes.server = fromServer;
  });

  it('has a Grafana dashboard whose every query reads a metric the worker or the server exports', () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { uid: string; schemaVersion: number; panels: Panel[]; templating: { list: { name: string; type: string; query: unknown }[] } };
    expect(typeof dashboard.uid).toBe('string');
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    const variables = dashboard.templating.list;
    expect(variables.find((v) => v.name === 'datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    const panels = dashboard.panels;
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    expect(panels.map((p) => p.title)).toEqual([
      'Deployments by result',
      'Lead time, commit to Succeeded',
      'Pending approvals',
      'Environments by sync status',
      'Workflow task schedule-to-start latency',
      'Activity slots in use',
      'AWS throttling',
    ]);
    for (const panel of panels) {
      expect([panel.title, panel.datasource]).toEqual([panel.title, { type: 'prometheus', uid: '${datasource}' }]);
      expect(panel.targets.length).toBeGreaterThan(0);
      for (const target of panel.targets) expect(target.datasource).toEqual(panel.datasource);
    }

    const exported = new Set([...scrapes.worker!.samples, ...scrapes.server!.samples].map((s) => s.name));
    const queries = [
      ...panels.flatMap((p) => p.targets.map((t) => ({ where: p.title, expr: t.expr }))),
      ...variables.filter((v) => v.type === 'query').map((v) => ({ where: `variable ${v.name}`, expr: (v.query as { query: string }).query.replace(/^label_values\((.*),\s*\w+\)$/, '$1') })),
    ];
    const read = queries.flatMap(({ where, expr }) => metricNamesIn(expr).map((name) => ({ where, name })));
    expect(new Set(read.map((r) => r.name)).size).toBeGreaterThanOrEqual(9);
    expect(read.filter((r) => !exported.has(r.name))).toEqual([]);
  });
});
