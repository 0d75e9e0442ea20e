import { readFileSync } from 'node:fs';
import path from 'node:path';
import { GetTemplateCommand } from '@aws-sdk/client-cloudformation';
import type { temporal } from '@temporalio/proto';
import { startWorkerProcess, type WorkerProcess } from '../support/cli';
import { startTestAws, type TestAws } from '../support/aws';
import type { TestRepo } from '../support/gitops-repo';
import { TEST_NAMESPACES } from '../support/namespaces';
import { cliStart, configYaml, connectTemporal, createRepoWith, environmentState, recordHistories, scheduledActivities, workerEnv, ZEROS } from '../support/scenario';
import { uniqueTaskQueue } from '../support/temporal';

/**
 * Templates travel by content hash: `cfn-gitops start` stores the push's `common/` templates in
 * the artifact bucket once, and desired states, activity inputs and histories carry only the
 * hashes. A pipeline template of about 900 KB (TemplateBody takes 51,200 bytes) deploys through
 * the CLI, and a deployment's histories stay under 20 KB of payloads, with one patch marker and
 * no upsert of a phase that its own task replaces. A push that only moves the version starts the
 * pipeline in the environment workflow's task that takes it, before the deployment workflow runs.
 */

const namespace = TEST_NAMESPACES.templates;
/** A line no history may hold: it is only in the template's body. */
const MARKER = '# cfn-gitops templates test: this line lives in S3, never in a history';
/** Payload budget of one deployment: its own history and the environment workflow's events for it. */
const PAYLOAD_BUDGET = 20 * 1024;

/** Bytes of every payload in a history (inputs, results, signals, updates, markers, search attributes, memos). */
function payloadBytes(history: temporal.api.history.v1.IHistory): number {
  let bytes = 0;
  const walk = (value: unknown): void => {
    if (!value || typeof value !== 'object') return;
    if (value instanceof Uint8Array) return;
    const record = value as Record<string, unknown>;
    if (record.data instanceof Uint8Array && 'metadata' in record) {
      bytes += record.data.length;
      return;
    }
    for (const child of Object.values(record)) walk(child);
  };
  walk(history.events);
  return bytes;
}

/** The DeployPhase values a history upserted, in order: what visibility (list filters, the Temporal UI) saw. */
function upsertedPhases(history: temporal.api.history.v1.IHistory): string[] {
  return (history.events ?? []).flatMap((e) => {
    const phase = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.DeployPhase?.data;
    return phase ? [JSON.parse(Buffer.from(phase).toString()) as string] : [];
  });
}

/** The activity types of the local activities among `events`, in order. */
function localActivities(events: temporal.api.history.v1.IHistoryEvent[]): string[] {
  return events.flatMap((e) => {
    const marker = e.markerRecordedEventAttributes;
    if (marker?.markerName !== 'core_local_activity') return [];
    const data = marker.details?.data?.payloads?.[0]?.data;
    return [data ? (JSON.parse(Buffer.from(data).toString()) as { activity_type: string }).activity_type : '?'];
  });
}

/** The value of a keyword search attribute a workflow started with. */
function startedWith(history: temporal.api.history.v1.IHistory, key: string): string | undefined {
  const data = history.events?.[0]?.workflowExecutionStartedEventAttributes?.searchAttributes?.indexedFields?.[key]?.data;
  return data ? (JSON.parse(Buffer.from(data).toString()) as string) : undefined;
}

/**
 * The events of an environment workflow's history from the Update that took `commit` to the
 * start of the deployment child it led to.
 */
function fromRequestToChild(history: temporal.api.history.v1.IHistory, commit: string): temporal.api.history.v1.IHistoryEvent[] {
  const events = history.events ?? [];
  const taken = events.findIndex((e) => Buffer.from(e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.args?.payloads?.[0]?.data ?? []).toString().includes(commit));
  const child = events.findIndex((e, i) => i > taken && e.startChildWorkflowExecutionInitiatedEventAttributes);
  expect(taken).toBeGreaterThanOrEqual(0);
  expect(child).toBeGreaterThan(taken);
  return events.slice(taken, child + 1);
}

/** A history's patch markers, and its upserts of the TemporalChangeVersion search attribute that come with them. */
function patchEvents(history: temporal.api.history.v1.IHistory): { markers: number; changeVersionUpserts: number } {
  const events = history.events ?? [];
  return {
    markers: events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch').length,
    changeVersionUpserts: events.filter((e) => e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.TemporalChangeVersion).length,
  };
}

describe('templates by hash', () => {
  let aws: TestAws;
  let worker: WorkerProcess;
  let repo: TestRepo;
  let env: NodeJS.ProcessEnv;
  const taskQueue = uniqueTaskQueue('templates');

  beforeAll(async () => {
    aws = await startTestAws();
    env = workerEnv(aws, namespace, taskQueue);
    [worker, repo] = await Promise.all([startWorkerProcess(env), createRepoWith({ development: '1.0.0' })]);
  });
  afterAll(async () => {
    if (env) {
      const temporalClient = await connectTemporal(namespace);
      try {
        await recordHistories(temporalClient.client, 'templates', taskQueue, ['development']);
      } finally {
        await temporalClient.close();
      }
    }
    await worker?.stop();
    await aws?.close();
    repo?.remove();
  });

  it('a 900 KB pipeline template deploys through start; the bodies are stored once, and no history holds them', async () => {
    const first = await cliStart(env, repo, ZEROS, await repo.head(), { wait: true });
    expect(first.entry('development')).toMatchObject({ status: 'Succeeded' });

    const pipeline = readFileSync(path.join(repo.dir, 'common/pipeline.yaml'), 'utf8');
    const large = `${pipeline}${MARKER}\n${'# padding that grows the pipeline template towards the 1 MB CloudFormation reads from S3\n'.repeat(10_100)}`;
    expect(Buffer.byteLength(large)).toBeGreaterThan(900_000);
    const before = await repo.head();
    const after = await repo.commit('common: a large pipeline template; development 1.1.0', { 'common/pipeline.yaml': large, 'development/config.yaml': configYaml('1.1.0') });
    const second = await cliStart(env, repo, before, after, { wait: true });
    expect(second.code).toBe(0);
    expect(second.entry('development')).toMatchObject({ status: 'Succeeded', appVersion: '1.1.0' });

    // CloudFormation has the whole body, read from the bucket.
    const template = await aws.cloudFormation.send(new GetTemplateCommand({ StackName: 'cfn-gitops-development-pipeline', TemplateStage: 'Original' }));
    expect(template.TemplateBody).toBe(large);
    const creates = await aws.control<{ calls: { operation: string; target: string }[] }>('GET', '/calls?operation=PutObject');
    expect(creates.calls.filter((call) => call.target.includes('/_templates/'))).toHaveLength(3);

    // Only the version moves: the pipeline stack stands ready, so the task that takes the request starts the execution.
    const third = await repo.commit('development 1.2.0', { 'development/config.yaml': configYaml('1.2.0') });
    const bumped = await cliStart(env, repo, after, third, { wait: true });
    expect(bumped.code).toBe(0);
    expect(bumped.entry('development')).toMatchObject({ status: 'Succeeded', appVersion: '1.2.0' });

    const temporalClient = await connectTemporal(namespace);
    try {
      const { client } = temporalClient;
      const deployments: string[] = [];
      for await (const execution of client.workflow.list({ query: `TaskQueue = "${taskQueue}" AND WorkflowType = "deploymentWorkflow"` })) deployments.push(execution.workflowId);
      expect(deployments).toHaveLength(3);
      const environmentHistory = await client.workflow.getHandle('cfn-gitops/development').fetchHistory();
      expect(JSON.stringify(environmentHistory)).not.toContain('padding that grows');
      // Queued lasts while the policy is read, in the task that then sets PublishingSource: not upserted.
      expect(upsertedPhases(environmentHistory)).toContain('PublishingSource');
      expect(upsertedPhases(environmentHistory)).not.toContain('Queued');
      const perDeployment: number[] = [];
      for (const id of deployments) {
        const history = await client.workflow.getHandle(id).fetchHistory();
        expect(JSON.stringify(history)).not.toContain('padding that grows');
        // Every patch a deployment runs with is in one marker (each marker is also an upsert and a visibility write).
        expect(patchEvents(history)).toEqual({ markers: 1, changeVersionUpserts: 1 });
        perDeployment.push(payloadBytes(history));
      }
      // The version bump: one environment task took the request, started the pipeline (a local
      // activity) and started the deployment, which began in RunningPipeline and only waited.
      const request = fromRequestToChild(environmentHistory, third);
      expect(request.filter((e) => e.workflowTaskStartedEventAttributes)).toHaveLength(0);
      expect(localActivities(request)).toEqual(['getPolicy', 'beginSync']);
      const bumpedDeployment = deployments.find((id) => id.endsWith(`-sync-${third.slice(0, 12)}`))!;
      const bumpedHistory = await client.workflow.getHandle(bumpedDeployment).fetchHistory();
      expect(startedWith(bumpedHistory, 'DeployPhase')).toBe('RunningPipeline');
      expect(scheduledActivities(bumpedHistory)).toEqual(['waitForPipelineExecution']);
      // Through the CodePipeline API: the execution the environment records is the one that ran 1.2.0.
      const recorded = (await environmentState(client, 'development')).history[0]!;
      expect(recorded).toMatchObject({ number: 3, workflowId: bumpedDeployment, pipelineExecutionId: expect.any(String) });
      const executions = await aws.executions('cfn-gitops-development');
      expect(executions.find((e) => e.id === recorded.pipelineExecutionId)).toMatchObject({ status: 'Succeeded', appVersion: '1.2.0' });

      // The environment workflow's whole history covers every deployment.
      const environmentBytes = payloadBytes(environmentHistory);
      const total = perDeployment.reduce((a, b) => a + b, 0) + environmentBytes;
      console.log(`payloads: deployments ${perDeployment.join(', ')} bytes, environment workflow ${environmentBytes} bytes for all`);
      expect(total / deployments.length).toBeLessThan(PAYLOAD_BUDGET);
    } finally {
      await temporalClient.close();
    }
  });
});
