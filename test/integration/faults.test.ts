import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { UpdateStackCommand } from '@aws-sdk/client-cloudformation';
import { startTestAws, type TestAws } from '../support/aws';
import { startWorkerProcess, type WorkerProcess } from '../support/cli';
import type { TestRepo } from '../support/gitops-repo';
import { TEST_NAMESPACES } from '../support/namespaces';
import { uniqueTaskQueue } from '../support/temporal';
import {
  callLog,
  cliStart,
  configYaml,
  connectTemporal,
  createRepoWith,
  environmentState,
  operationsLog,
  operationsOf,
  overlaps,
  recordHistories,
  scheduledActivities,
  workerEnv,
  ZEROS,
} from '../support/scenario';

/**
 * AWS failing: throttling and 5xx on a good share of calls (retried with backoff, never doubled),
 * errors no retry can fix (one attempt, then a message naming the environment, the call, the
 * stack or pipeline and AWS's reason), and stacks stuck in states that need recovering.
 */
describe('AWS faults', () => {
  let aws: TestAws;
  let worker: WorkerProcess;
  let env: NodeJS.ProcessEnv;
  let temporal: { client: Client; close(): Promise<void> };
  const taskQueue = uniqueTaskQueue('faults');
  const repos: TestRepo[] = [];

  /** A repo with these environments, created in AWS by its first push (which must succeed unless `expectFailure`). */
  async function createEnvironments(environments: Record<string, string>) {
    const repo = await createRepoWith(environments);
    repos.push(repo);
    const head = await repo.head();
    const run = await cliStart(env, repo, ZEROS, head, { wait: true });
    return { repo, head, run };
  }
  const bump = async (repo: TestRepo, environment: string, version: string, instanceType?: string) => {
    const before = await repo.head();
    const after = await repo.commit(`${environment}: app ${version}`, { [`${environment}/config.yaml`]: configYaml(version, instanceType) });
    return cliStart(env, repo, before, after, { wait: true });
  };
  const remove = async (repo: TestRepo, ...environments: string[]) => {
    const before = await repo.head();
    const after = await repo.commit(`remove ${environments.join(', ')}`, Object.fromEntries(environments.map((e) => [e, null])));
    return cliStart(env, repo, before, after, { wait: true });
  };
  const stackPlan = (plan: object) => aws.control('POST', '/stacks/next-operations', plan);

  beforeAll(async () => {
    aws = await startTestAws();
    env = workerEnv(aws, TEST_NAMESPACES.faults, taskQueue);
    [worker, temporal] = await Promise.all([startWorkerProcess(env), connectTemporal(TEST_NAMESPACES.faults)]);
  });

  afterAll(async () => {
    if (temporal) await recordHistories(temporal.client, 'faults', taskQueue, ['noisy1', 'denied', 'phoenix', 'stuck', 'sticky', 'throttled']);
    await worker?.stop();
    await temporal?.close();
    await aws?.close();
    for (const repo of repos) repo.remove();
  });

  afterEach(async () => {
    await aws.control('DELETE', '/faults');
  });

  it('with throttling and 5xx on a good share of calls, and lost responses to the creating calls, deployments complete without doing anything twice', async () => {
    await aws.control('POST', '/faults', [
      { throttleRate: 0.25, serverErrorRate: 0.15, seed: 7 },
      // The call takes effect, the answer is lost: only the ClientRequestToken keeps the retry from creating twice.
      { operation: 'CreateStack', error: { code: 'ServiceUnavailable', message: 'Service is unable to handle request.', status: 503 }, count: 2, when: 'after' },
      { operation: 'StartPipelineExecution', error: { code: 'InternalFailure', message: 'internal failure', status: 500 }, count: 1, when: 'after' },
    ]);
    const { repo, run } = await createEnvironments({ noisy1: '1.0.0', noisy2: '1.0.0' });
    expect(run.report.environments.map((e) => [e.environment, e.status])).toEqual([
      ['noisy1', 'Succeeded'],
      ['noisy2', 'Succeeded'],
    ]);
    expect((await bump(repo, 'noisy1', '1.1.0')).entry('noisy1').status).toBe('Succeeded');
    expect((await remove(repo, 'noisy2')).entry('noisy2').status).toBe('Succeeded');

    const { faults } = await aws.control<{ faults: { matched: number; injected: number }[] }>('GET', '/faults');
    expect(faults[0]!.injected).toBeGreaterThanOrEqual(10);
    expect(faults[0]!.injected / faults[0]!.matched).toBeGreaterThan(0.25);
    expect(faults.slice(1).map((f) => f.injected)).toEqual([2, 1]);

    expect(await aws.appVersion('cfn-gitops-noisy1')).toBe('1.1.0');
    expect(await aws.stack('cfn-gitops-noisy2')).toBeUndefined();
    expect(await aws.stack('cfn-gitops-noisy2-pipeline')).toBeUndefined();
    const ops = await operationsLog(aws);
    for (const environment of ['noisy1', 'noisy2']) {
      const mine = operationsOf(ops, environment);
      expect(mine.filter((op) => op.operation === 'CREATE_STACK' && op.target.endsWith('-pipeline'))).toHaveLength(1);
    }
    expect((await aws.executions('cfn-gitops-noisy1')).map((e) => [e.appVersion, e.status])).toEqual([
      ['1.0.0', 'Succeeded'],
      ['1.1.0', 'Succeeded'],
    ]);
    // The lost answers were retried: more CreateStack calls than stacks created.
    expect((await callLog(aws, 'CreateStack')).filter((c) => c.target?.startsWith('cfn-gitops-noisy')).length).toBeGreaterThan(2);
    expect(overlaps(ops)).toEqual([]);
  });

  it("a start the environment workflow's task could not make (throttled on each call of both its attempts) is made by the deployment: one execution, of the new version", async () => {
    const { repo } = await createEnvironments({ throttled: '1.0.0' });
    // The worker's AWS clients make 4 attempts per call; the environment workflow's task tries the step twice.
    const throttles = 4 * 2;
    await aws.control('POST', '/faults', { operation: 'StartPipelineExecution', error: { code: 'ThrottlingException', message: 'Rate exceeded', status: 400 }, count: throttles });
    const run = await bump(repo, 'throttled', '1.1.0');
    expect(run.entry('throttled').status).toBe('Succeeded');
    const { faults } = await aws.control<{ faults: { injected: number }[] }>('GET', '/faults');
    expect(faults.map((f) => f.injected)).toEqual([throttles]);
    expect((await aws.executions('cfn-gitops-throttled')).map((e) => [e.appVersion, e.status])).toEqual([
      ['1.0.0', 'Succeeded'],
      ['1.1.0', 'Succeeded'],
    ]);
    // The environment workflow's two attempts were throttled; the deployment's own first step started the execution.
    const state = await environmentState(temporal.client, 'throttled');
    const history = await temporal.client.workflow.getHandle(state.lastResult!.workflowId!).fetchHistory();
    expect(scheduledActivities(history)).toEqual(['beginSync', 'waitForPipelineExecution']);
  });

  it('access denied fails the deployment at once: one call, one attempt, and a message naming environment, call, stack and reason', async () => {
    const reason = 'User: arn:aws:iam::123456789012:user/ci is not authorized to perform: cloudformation:CreateStack on resource: cfn-gitops-denied-pipeline';
    await aws.control('POST', '/faults', { operation: 'CreateStack', error: { code: 'AccessDenied', message: reason, status: 403 } });
    const started = Date.now();
    const { run } = await createEnvironments({ denied: '1.0.0' });
    const elapsed = Date.now() - started;
    const message = `denied: CreateStack cfn-gitops-denied-pipeline: ${reason}`;
    expect(run.code).toBe(1);
    expect(run.entry('denied')).toEqual(expect.objectContaining({ status: 'Failed', error: message }));
    expect(elapsed).toBeLessThan(15_000);
    expect((await callLog(aws, 'CreateStack')).filter((c) => c.target === 'cfn-gitops-denied-pipeline')).toHaveLength(1);

    // The deployment workflow failed with that message after a single attempt of the activity.
    const state = await environmentState(temporal.client, 'denied');
    expect(state.lastResult).toEqual(expect.objectContaining({ result: 'Failed', message }));
    const deployment = temporal.client.workflow.getHandle(state.lastResult!.workflowId!);
    // What the Temporal UI shows first for the failed deployment.
    await expect(deployment.result()).rejects.toMatchObject({ cause: { message, type: 'AccessDenied', nonRetryable: true } });
    const history = await deployment.fetchHistory();
    const attempts = (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!.attempt);
    expect(attempts.every((attempt) => attempt === 1)).toBe(true);
  });

  it('a parameter the template does not declare, or one it needs and nobody gives, fails at once with the reason CloudFormation gave', async () => {
    const repo = await createRepoWith({ typo: '1.0.0' });
    repos.push(repo);
    const before = await repo.head();
    const after = await repo.commit('typo: a misspelt parameter', { 'typo/config.yaml': 'appVersion: "1.0.0"\nparameters:\n  InstanceTyp: t3.micro\n' });
    const run = await cliStart(env, repo, before, after, { wait: true });
    expect(run.entry('typo')).toEqual(
      expect.objectContaining({ status: 'Failed', error: 'typo: CreateStack cfn-gitops-typo-pipeline: Parameters: [InstanceTyp] do not exist in the template' }),
    );
    expect((await callLog(aws, 'CreateStack')).filter((c) => c.target === 'cfn-gitops-typo-pipeline')).toHaveLength(1);
    expect(await aws.stack('cfn-gitops-typo-pipeline')).toBeUndefined();

    // The config is fixed, but the shared template now asks for a parameter no config gives.
    const template = readFileSync(path.join(repo.dir, 'common', 'pipeline.yaml'), 'utf8').replace(/^Parameters:\n/m, 'Parameters:\n  CostCenter:\n    Type: String\n');
    const fixed = await repo.commit('typo: fixed; pipelines need a cost center', { 'typo/config.yaml': configYaml('1.0.0'), 'common/pipeline.yaml': template });
    const missing = await cliStart(env, repo, after, fixed, { wait: true });
    expect(missing.entry('typo')).toEqual(
      expect.objectContaining({ status: 'Failed', error: 'typo: CreateStack cfn-gitops-typo-pipeline: Parameters: [CostCenter] must have values' }),
    );
    expect((await callLog(aws, 'CreateStack')).filter((c) => c.target === 'cfn-gitops-typo-pipeline')).toHaveLength(2);
  });

  it('a failed pipeline execution fails the deployment with the failing action and its message, and the next push deploys', async () => {
    const { repo } = await createEnvironments({ health: '1.0.0' });
    await aws.control('POST', '/pipelines/cfn-gitops-health/next-executions', {
      outcome: 'Failed',
      action: 'DeployEnvironment',
      message: 'Environment health has transitioned from Ok to Severe. 100.0 % of the requests are failing with HTTP 5xx.',
    });
    const failed = await bump(repo, 'health', '1.1.0');
    expect(failed.code).toBe(1);
    const [execution] = (await aws.executions('cfn-gitops-health')).slice(-1);
    expect(failed.entry('health').status).toBe('Failed');
    expect(failed.entry('health').error).toBe(
      `health: pipeline cfn-gitops-health execution ${execution!.id} Failed: Deploy.DeployEnvironment failed: Environment health has transitioned from Ok to Severe. 100.0 % of the requests are failing with HTTP 5xx.`,
    );
    expect(await aws.appVersion('cfn-gitops-health')).toBe('1.0.0');

    const next = await bump(repo, 'health', '1.1.1');
    expect(next.entry('health').status).toBe('Succeeded');
    expect(await aws.appVersion('cfn-gitops-health')).toBe('1.1.1');
  });

  it('a failed pipeline stack update names the resource and the reason of the failing stack event', async () => {
    const { repo } = await createEnvironments({ events: '1.0.0' });
    await stackPlan({ stackName: 'cfn-gitops-events-pipeline', operation: 'UPDATE', failAt: { logicalResourceId: 'Pipeline', reason: 'Pipeline role is not authorized to perform AssumeRole on role arn:aws:iam::123456789012:role/x' } });
    const run = await bump(repo, 'events', '1.1.0', 't3.large');
    expect(run.entry('events').error).toBe(
      'events: stack cfn-gitops-events-pipeline ended in UPDATE_ROLLBACK_COMPLETE: Pipeline (AWS::CodePipeline::Pipeline) UPDATE_FAILED: Pipeline role is not authorized to perform AssumeRole on role arn:aws:iam::123456789012:role/x',
    );
    expect((await aws.stack('cfn-gitops-events-pipeline'))?.StackStatus).toBe('UPDATE_ROLLBACK_COMPLETE');
    // The stack rolled back to a usable state: the next push updates it and deploys.
    expect((await bump(repo, 'events', '1.1.1', 't3.large')).entry('events').status).toBe('Succeeded');
    expect(await aws.appVersion('cfn-gitops-events')).toBe('1.1.1');
    const parameters = (await aws.stack('cfn-gitops-events-pipeline'))?.Parameters ?? [];
    expect(parameters.find((p) => p.ParameterKey === 'InstanceType')?.ParameterValue).toBe('t3.large');
  });

  it('a pipeline stack in ROLLBACK_COMPLETE after a failed create is deleted and created again by the next push', async () => {
    await stackPlan({ stackName: 'cfn-gitops-phoenix-pipeline', operation: 'CREATE', failAt: { logicalResourceId: 'PipelineRole', reason: 'Cannot exceed quota for RolesPerAccount: 1000' } });
    const { repo, run } = await createEnvironments({ phoenix: '1.0.0' });
    expect(run.entry('phoenix').error).toBe(
      'phoenix: stack cfn-gitops-phoenix-pipeline ended in ROLLBACK_COMPLETE: PipelineRole (AWS::IAM::Role) CREATE_FAILED: Cannot exceed quota for RolesPerAccount: 1000',
    );
    expect((await aws.stack('cfn-gitops-phoenix-pipeline'))?.StackStatus).toBe('ROLLBACK_COMPLETE');

    const next = await bump(repo, 'phoenix', '1.0.1');
    expect(next.entry('phoenix').status).toBe('Succeeded');
    expect((await aws.stack('cfn-gitops-phoenix-pipeline'))?.StackStatus).toBe('CREATE_COMPLETE');
    expect(await aws.appVersion('cfn-gitops-phoenix')).toBe('1.0.1');
    const ops = operationsOf(await operationsLog(aws), 'phoenix').filter((op) => op.target === 'cfn-gitops-phoenix-pipeline');
    expect(ops.map((op) => [op.operation, op.status])).toEqual([
      ['CREATE_STACK', 'ROLLBACK_COMPLETE'],
      ['DELETE_STACK', 'DELETE_COMPLETE'],
      ['CREATE_STACK', 'CREATE_COMPLETE'],
    ]);
  });

  it('a pipeline stack in UPDATE_ROLLBACK_FAILED gets ContinueUpdateRollback, then the update', async () => {
    const { repo } = await createEnvironments({ stuck: '1.0.0' });
    await stackPlan({ stackName: 'cfn-gitops-stuck-pipeline', operation: 'UPDATE', failAt: { logicalResourceId: 'Pipeline', reason: 'Internal error' }, endIn: 'UPDATE_ROLLBACK_FAILED' });
    const failed = await bump(repo, 'stuck', '1.1.0', 't3.large');
    expect(failed.entry('stuck').error).toMatch(/^stuck: stack cfn-gitops-stuck-pipeline ended in UPDATE_ROLLBACK_FAILED: .*Pipeline \(AWS::CodePipeline::Pipeline\) UPDATE_FAILED: Internal error/);
    expect((await aws.stack('cfn-gitops-stuck-pipeline'))?.StackStatus).toBe('UPDATE_ROLLBACK_FAILED');

    const next = await bump(repo, 'stuck', '1.1.1', 't3.large');
    expect(next.entry('stuck').status).toBe('Succeeded');
    expect(await aws.appVersion('cfn-gitops-stuck')).toBe('1.1.1');
    const parameters = (await aws.stack('cfn-gitops-stuck-pipeline'))?.Parameters ?? [];
    expect(parameters.find((p) => p.ParameterKey === 'InstanceType')?.ParameterValue).toBe('t3.large');
    const ops = operationsOf(await operationsLog(aws), 'stuck').filter((op) => op.target === 'cfn-gitops-stuck-pipeline');
    expect(ops.map((op) => [op.operation, op.status])).toEqual([
      ['CREATE_STACK', 'CREATE_COMPLETE'],
      ['UPDATE_STACK', 'UPDATE_ROLLBACK_FAILED'],
      ['CONTINUE_ROLLBACK', 'UPDATE_ROLLBACK_COMPLETE'],
      ['UPDATE_STACK', 'UPDATE_COMPLETE'],
    ]);
  });

  it('DELETE_FAILED is retried; when it persists, the resources that would not go are reported and the pipeline stack is kept', async () => {
    const { repo } = await createEnvironments({ flaky: '1.0.0', sticky: '1.0.0' });
    await stackPlan([
      { stackName: 'cfn-gitops-flaky', operation: 'DELETE', failAt: { logicalResourceId: 'Environment', reason: 'Environment is in an invalid state for this operation. Must be Ready.' }, endIn: 'DELETE_FAILED', count: 2 },
      { stackName: 'cfn-gitops-sticky', operation: 'DELETE', failAt: { logicalResourceId: 'InstanceRole', reason: 'Cannot delete entity, must detach all policies first.' }, count: 5 },
    ]);
    const run = await remove(repo, 'flaky', 'sticky');
    expect(run.entry('flaky').status).toBe('Succeeded');
    expect(await aws.stack('cfn-gitops-flaky')).toBeUndefined();
    expect(await aws.stack('cfn-gitops-flaky-pipeline')).toBeUndefined();

    expect(run.entry('sticky').status).toBe('Failed');
    expect(run.entry('sticky').error).toBe(
      'sticky: stack cfn-gitops-sticky ended in DELETE_FAILED: InstanceRole (AWS::IAM::Role) DELETE_FAILED: Cannot delete entity, must detach all policies first.',
    );
    expect((await aws.stack('cfn-gitops-sticky'))?.StackStatus).toBe('DELETE_FAILED');
    expect((await aws.stack('cfn-gitops-sticky-pipeline'))?.StackStatus).toBe('CREATE_COMPLETE');
    const deletes = (ops: Awaited<ReturnType<typeof operationsLog>>, stack: string) => ops.filter((op) => op.operation === 'DELETE_STACK' && op.target === stack).map((op) => op.status);
    const ops = await operationsLog(aws);
    expect(deletes(ops, 'cfn-gitops-flaky')).toEqual(['DELETE_FAILED', 'DELETE_FAILED', 'DELETE_COMPLETE']);
    expect(deletes(ops, 'cfn-gitops-sticky')).toEqual(['DELETE_FAILED', 'DELETE_FAILED', 'DELETE_FAILED']);
  });

  it("a push while someone else's operation runs on the pipeline stack waits for it", async () => {
    const { repo } = await createEnvironments({ busy: '1.0.0' });
    await stackPlan({ stackName: 'cfn-gitops-busy-pipeline', operation: 'UPDATE', delayMs: 4_000 });
    await aws.cloudFormation.send(
      new UpdateStackCommand({
        StackName: 'cfn-gitops-busy-pipeline',
        UsePreviousTemplate: true,
        Capabilities: ['CAPABILITY_IAM'],
        Parameters: ['EnvironmentName', 'PipelineName', 'EnvironmentStackName', 'AppVersion', 'ArtifactBucket', 'ApplicationBucket'].map((key) => ({ ParameterKey: key, UsePreviousValue: true })).concat([{ ParameterKey: 'InstanceType', ParameterValue: 't3.nano' } as never]),
      }),
    );
    expect((await aws.stack('cfn-gitops-busy-pipeline'))?.StackStatus).toBe('UPDATE_IN_PROGRESS');
    const run = await bump(repo, 'busy', '1.1.0');
    expect(run.entry('busy').status).toBe('Succeeded');
    expect(await aws.appVersion('cfn-gitops-busy')).toBe('1.1.0');
    const ops = operationsOf(await operationsLog(aws), 'busy');
    const foreign = ops.find((op) => op.operation === 'UPDATE_STACK' && op.target === 'cfn-gitops-busy-pipeline')!;
    const execution = ops.filter((op) => op.kind === 'pipeline').at(-1)!;
    expect(Date.parse(execution.startedAt)).toBeGreaterThanOrEqual(Date.parse(foreign.endedAt!));
    expect(overlaps(ops)).toEqual([]);
  });
});
