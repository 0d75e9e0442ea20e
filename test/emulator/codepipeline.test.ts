import { CreateStackCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DuplicatedStopRequestException,
  GetPipelineExecutionCommand,
  GetPipelineStateCommand,
  ListActionExecutionsCommand,
  ListPipelineExecutionsCommand,
  PipelineExecutionNotStoppableException,
  PipelineNotFoundException,
  StartPipelineExecutionCommand,
  StopPipelineExecutionCommand,
  ValidationException,
} from '@aws-sdk/client-codepipeline';
import type { OperationRecord, RunningEmulator } from '../../emulator';
import {
  clients,
  control,
  ENVIRONMENT_TEMPLATE,
  executionSettled,
  PIPELINE_TEMPLATE,
  pipelineParameters,
  stackSettled,
  startTestEmulator,
  uploadSource,
  waitFor,
  type Clients,
} from './helpers';

const BUCKET = 'pipeline-tests';

describe('CodePipeline over JSON 1.1', () => {
  let emulator: RunningEmulator;
  let aws: Clients;

  beforeAll(async () => {
    emulator = await startTestEmulator();
    aws = clients(emulator.url);
  });
  afterAll(async () => {
    await emulator.close();
  });

  /** Creates an environment's pipeline stack and waits for the execution the pipeline starts by itself. */
  async function environment(env: string, options: { mode?: string; upload?: boolean } = {}): Promise<string> {
    if (options.upload !== false) await uploadSource(aws.s3, BUCKET, env, ENVIRONMENT_TEMPLATE);
    const template = options.mode ? PIPELINE_TEMPLATE.replace('ExecutionMode: SUPERSEDED', `ExecutionMode: ${options.mode}`) : PIPELINE_TEMPLATE;
    await aws.cfn.send(
      new CreateStackCommand({
        StackName: `cfn-gitops-${env}-pipeline`,
        TemplateBody: template,
        Parameters: pipelineParameters(env, BUCKET),
        Capabilities: ['CAPABILITY_IAM'],
      }),
    );
    expect((await stackSettled(aws.cfn, `cfn-gitops-${env}-pipeline`)).StackStatus).toBe('CREATE_COMPLETE');
    const pipelineName = `cfn-gitops-${env}`;
    const list = await aws.cp.send(new ListPipelineExecutionsCommand({ pipelineName }));
    const initial = list.pipelineExecutionSummaries?.[0]?.pipelineExecutionId as string;
    await executionSettled(aws.cp, pipelineName, initial);
    return pipelineName;
  }

  async function start(pipelineName: string, version: string): Promise<string> {
    const out = await aws.cp.send(new StartPipelineExecutionCommand({ name: pipelineName, variables: [{ name: 'AppVersion', value: version }] }));
    return out.pipelineExecutionId as string;
  }

  async function appVersion(env: string): Promise<string | undefined> {
    const stack = (await aws.cfn.send(new DescribeStacksCommand({ StackName: `cfn-gitops-${env}-env` }))).Stacks?.[0];
    return stack?.Parameters?.find((p) => p.ParameterKey === 'AppVersion')?.ParameterValue;
  }

  it('answers with the typed exceptions of the SDK', async () => {
    await expect(aws.cp.send(new GetPipelineStateCommand({ name: 'nope' }))).rejects.toThrow(PipelineNotFoundException);
    await expect(aws.cp.send(new StartPipelineExecutionCommand({ name: 'nope' }))).rejects.toMatchObject({
      name: 'PipelineNotFoundException',
      message: "Account '123456789012' does not have a pipeline with name 'nope'",
      $metadata: { httpStatusCode: 400 },
    });
    const pipelineName = await environment('typed');
    await expect(
      aws.cp.send(new StartPipelineExecutionCommand({ name: pipelineName, variables: [{ name: 'Colour', value: 'blue' }] })),
    ).rejects.toThrow(ValidationException);
  });

  it('fails an execution at the named action with the planned message, leaving the stack as it was', async () => {
    const pipelineName = await environment('failing');
    expect(await appVersion('failing')).toBe('1.0.0');
    await control(emulator.url, 'POST', `/pipelines/${pipelineName}/next-executions`, {
      outcome: 'Failed',
      action: 'DeployEnvironment',
      message: 'Deployment blocked by policy',
    });
    const id = await start(pipelineName, '3.0.0');
    const done = await executionSettled(aws.cp, pipelineName, id);
    expect(done.status).toBe('Failed');
    const actions = (await aws.cp.send(new ListActionExecutionsCommand({ pipelineName, filter: { pipelineExecutionId: id } }))).actionExecutionDetails;
    expect(actions?.map((a) => [a.stageName, a.actionName, a.status])).toEqual([
      ['Deploy', 'DeployEnvironment', 'Failed'],
      ['Source', 'Templates', 'Succeeded'],
    ]);
    expect(actions?.[0].output?.executionResult?.errorDetails?.message).toBe('Deployment blocked by policy');
    expect(await appVersion('failing')).toBe('1.0.0');
    const state = await aws.cp.send(new GetPipelineStateCommand({ name: pipelineName }));
    expect(state.stageStates?.[1].latestExecution?.status).toBe('Failed');
    expect(state.stageStates?.[1].actionStates?.[0].latestExecution?.errorDetails?.message).toBe('Deployment blocked by policy');
  });

  it('holds a planned execution and a stack operation in progress until each is released', async () => {
    const pipelineName = await environment('held');
    await control(emulator.url, 'POST', `/pipelines/${pipelineName}/next-executions`, { outcome: 'Succeeded', durationMs: 200, hold: true });
    await control(emulator.url, 'POST', '/stacks/next-operations', { stackName: 'cfn-gitops-held-env', operation: 'UPDATE', hold: true });
    const id = await start(pipelineName, '2.0.0');
    // Held: the execution runs no action however long it waits.
    await new Promise((r) => setTimeout(r, 500));
    expect((await aws.cp.send(new GetPipelineExecutionCommand({ pipelineName, pipelineExecutionId: id }))).pipelineExecution?.status).toBe('InProgress');
    expect((await aws.cp.send(new ListActionExecutionsCommand({ pipelineName, filter: { pipelineExecutionId: id } }))).actionExecutionDetails).toEqual([]);
    expect(await control(emulator.url, 'POST', `/pipelines/${pipelineName}/release`)).toEqual({ pipelineName, released: [id] });
    // Released, it reaches its deploy, whose stack update is held in turn.
    const envStatus = async () => (await aws.cfn.send(new DescribeStacksCommand({ StackName: 'cfn-gitops-held-env' }))).Stacks?.[0].StackStatus;
    await waitFor(envStatus, (status) => status === 'UPDATE_IN_PROGRESS');
    await new Promise((r) => setTimeout(r, 500));
    expect(await envStatus()).toBe('UPDATE_IN_PROGRESS');
    expect(await control(emulator.url, 'POST', '/stacks/cfn-gitops-held-env/release')).toMatchObject({ stackName: 'cfn-gitops-held-env', operationId: expect.any(String) });
    expect((await executionSettled(aws.cp, pipelineName, id)).status).toBe('Succeeded');
    expect(await appVersion('held')).toBe('2.0.0');
    // Nothing left to release: a clear 404 names what is missing.
    await expect(control(emulator.url, 'POST', '/stacks/cfn-gitops-held-env/release')).rejects.toThrow(/cfn-gitops-held-env has no held operation/);
    expect(await control(emulator.url, 'POST', `/pipelines/${pipelineName}/release`)).toEqual({ pipelineName, released: [] });
  });

  it('fails the deploy action when its stack update rolls back', async () => {
    const pipelineName = await environment('rollback');
    await control(emulator.url, 'POST', '/stacks/next-operations', {
      stackName: 'cfn-gitops-rollback-env',
      operation: 'UPDATE',
      failAt: { logicalResourceId: 'Environment', reason: 'Environment health is Severe' },
    });
    const id = await start(pipelineName, '2.0.0');
    expect((await executionSettled(aws.cp, pipelineName, id)).status).toBe('Failed');
    const deploy = (await aws.cp.send(new ListActionExecutionsCommand({ pipelineName, filter: { pipelineExecutionId: id } }))).actionExecutionDetails?.[0];
    expect(deploy?.output?.executionResult?.errorDetails?.message).toBe(
      'Stack cfn-gitops-rollback-env is in UPDATE_ROLLBACK_COMPLETE state: Environment health is Severe',
    );
    expect(await appVersion('rollback')).toBe('1.0.0');
  });

  it('fails the source action when the source object is missing', async () => {
    const pipelineName = await environment('ghost', { upload: false });
    const list = await aws.cp.send(new ListPipelineExecutionsCommand({ pipelineName }));
    expect(list.pipelineExecutionSummaries?.map((e) => [e.status, e.trigger?.triggerType])).toEqual([['Failed', 'CreatePipeline']]);
    const source = (await aws.cp.send(new ListActionExecutionsCommand({ pipelineName }))).actionExecutionDetails?.[0];
    expect(source?.actionName).toBe('Templates');
    expect(source?.output?.executionResult?.errorDetails?.message).toBe(
      `The object with key 'cfn-gitops/ghost/source.zip' does not exist in bucket '${BUCKET}'.`,
    );
    await expect(aws.cfn.send(new DescribeStacksCommand({ StackName: 'cfn-gitops-ghost-env' }))).rejects.toMatchObject({ name: 'ValidationError' });
  });

  it('supersedes an execution that waits for a stage when a newer one arrives (SUPERSEDED)', async () => {
    const pipelineName = await environment('superseded');
    await control(emulator.url, 'POST', `/pipelines/${pipelineName}/next-executions`, {
      executions: [1, 2, 3].map(() => ({ outcome: 'Succeeded', durationMs: 800 })),
    });
    const a = await start(pipelineName, '2.0.0');
    const b = await start(pipelineName, '2.1.0');
    const state = await aws.cp.send(new GetPipelineStateCommand({ name: pipelineName }));
    expect(state.stageStates?.[0].latestExecution).toMatchObject({ pipelineExecutionId: a, status: 'InProgress' });
    expect(state.stageStates?.[0].inboundExecution).toMatchObject({ pipelineExecutionId: b, status: 'InProgress' });
    const c = await start(pipelineName, '2.2.0');
    expect((await aws.cp.send(new GetPipelineExecutionCommand({ pipelineName, pipelineExecutionId: b }))).pipelineExecution?.status).toBe('Superseded');
    expect((await executionSettled(aws.cp, pipelineName, a)).status).toBe('Succeeded');
    expect((await executionSettled(aws.cp, pipelineName, c)).status).toBe('Succeeded');
    expect(await appVersion('superseded')).toBe('2.2.0');
    const summaries = (await aws.cp.send(new ListPipelineExecutionsCommand({ pipelineName }))).pipelineExecutionSummaries;
    expect(summaries?.map((e) => e.status)).toEqual(['Succeeded', 'Superseded', 'Succeeded', 'Succeeded']);
    await expectNoOverlap('cfn-gitops-superseded-env');
  });

  it('runs executions one after another (QUEUED)', async () => {
    const pipelineName = await environment('queued', { mode: 'QUEUED' });
    await control(emulator.url, 'POST', `/pipelines/${pipelineName}/next-executions`, [1, 2, 3].map(() => ({ outcome: 'Succeeded', durationMs: 300 })));
    const ids = [await start(pipelineName, '2.0.0'), await start(pipelineName, '2.1.0'), await start(pipelineName, '2.2.0')];
    const statuses = [];
    for (const id of ids) statuses.push((await executionSettled(aws.cp, pipelineName, id)).status);
    expect(statuses).toEqual(['Succeeded', 'Succeeded', 'Succeeded']);
    expect(await appVersion('queued')).toBe('2.2.0');
    await expectNoOverlap('cfn-gitops-queued-env');
  });

  it('runs executions side by side (PARALLEL), so two deploys of one stack collide as on AWS', async () => {
    const pipelineName = await environment('parallel', { mode: 'PARALLEL' });
    const [a, b] = await Promise.all([start(pipelineName, '2.0.0'), start(pipelineName, '2.1.0')]);
    const results = [await executionSettled(aws.cp, pipelineName, a), await executionSettled(aws.cp, pipelineName, b)];
    expect(results.map((r) => r.status).sort()).toEqual(['Failed', 'Succeeded']);
    const failed = results.find((r) => r.status === 'Failed');
    const deploy = (
      await aws.cp.send(new ListActionExecutionsCommand({ pipelineName, filter: { pipelineExecutionId: failed?.pipelineExecutionId } }))
    ).actionExecutionDetails?.[0];
    expect(deploy?.output?.executionResult?.errorDetails?.message).toMatch(/is in UPDATE_IN_PROGRESS state and can not be updated\.$/);
  });

  it('stops an execution at once when abandoned, and after the running action when graceful', async () => {
    const pipelineName = await environment('stopping');
    await control(emulator.url, 'POST', `/pipelines/${pipelineName}/next-executions`, [
      { outcome: 'Succeeded', durationMs: 4000 },
      { outcome: 'Succeeded', durationMs: 600 },
    ]);
    const abandoned = await start(pipelineName, '2.0.0');
    await aws.cp.send(new StopPipelineExecutionCommand({ pipelineName, pipelineExecutionId: abandoned, abandon: true, reason: 'environment deleted' }));
    const stopped = (await aws.cp.send(new GetPipelineExecutionCommand({ pipelineName, pipelineExecutionId: abandoned }))).pipelineExecution;
    expect(stopped?.status).toBe('Stopped');
    expect(stopped?.statusSummary).toBe('environment deleted');
    const abandonedActions = (await aws.cp.send(new ListActionExecutionsCommand({ pipelineName, filter: { pipelineExecutionId: abandoned } }))).actionExecutionDetails;
    expect(abandonedActions?.map((a) => a.status)).toEqual(['Abandoned']);

    const graceful = await start(pipelineName, '2.1.0');
    await aws.cp.send(new StopPipelineExecutionCommand({ pipelineName, pipelineExecutionId: graceful }));
    expect((await aws.cp.send(new GetPipelineExecutionCommand({ pipelineName, pipelineExecutionId: graceful }))).pipelineExecution?.status).toBe('Stopping');
    await expect(aws.cp.send(new StopPipelineExecutionCommand({ pipelineName, pipelineExecutionId: graceful }))).rejects.toThrow(DuplicatedStopRequestException);
    expect((await executionSettled(aws.cp, pipelineName, graceful)).status).toBe('Stopped');
    const gracefulActions = (await aws.cp.send(new ListActionExecutionsCommand({ pipelineName, filter: { pipelineExecutionId: graceful } }))).actionExecutionDetails;
    expect(gracefulActions?.map((a) => [a.actionName, a.status])).toEqual([['Templates', 'Succeeded']]);
    await expect(aws.cp.send(new StopPipelineExecutionCommand({ pipelineName, pipelineExecutionId: graceful }))).rejects.toThrow(
      PipelineExecutionNotStoppableException,
    );
    const list = (await aws.cp.send(new ListPipelineExecutionsCommand({ pipelineName }))).pipelineExecutionSummaries;
    expect(list?.[1].stopTrigger?.reason).toBe('environment deleted');
    expect(await appVersion('stopping')).toBe('1.0.0');
  });

  /** No two operations on one stack overlapped in time. */
  async function expectNoOverlap(stackName: string): Promise<void> {
    const { operations } = await control<{ operations: OperationRecord[] }>(emulator.url, 'GET', `/operations?kind=stack&target=${stackName}`);
    expect(operations.length).toBeGreaterThan(1);
    const sorted = [...operations].sort((x, y) => x.startedAt.localeCompare(y.startedAt));
    for (let i = 1; i < sorted.length; i++) {
      expect(sorted[i - 1].endedAt).toBeDefined();
      expect((sorted[i - 1].endedAt as string) <= sorted[i].startedAt).toBe(true);
    }
  }

  it('records every pipeline execution in the operations log', async () => {
    const { operations } = await control<{ operations: OperationRecord[] }>(emulator.url, 'GET', '/operations?kind=pipeline&target=cfn-gitops-typed');
    expect(operations).toEqual([expect.objectContaining({ operation: 'PIPELINE_EXECUTION', status: 'Succeeded', endedAt: expect.any(String) })]);
    await waitFor(
      () => aws.cp.send(new GetPipelineStateCommand({ name: 'cfn-gitops-typed' })),
      (s) => s.stageStates?.every((st) => st.latestExecution?.status === 'Succeeded') ?? false,
    );
  });
});
