import { DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { GetPipelineExecutionCommand } from '@aws-sdk/client-codepipeline';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { strFromU8, unzipSync } from 'fflate';
import type { StackChange } from '../../activities/cloudformation';
import { requestToken } from '../../activities/tokens';
import { ENVIRONMENT_TEMPLATE, executionSettled, PIPELINE_TEMPLATE } from '../emulator/helpers';
import { BUCKET, CODEPIPELINE_ERRORS, failure, newAttempt, pipelineChange, REGION, S3_ERRORS, startTier, type Tier } from './harness';

/**
 * Activity tier, `beginSync`: the common sync in one activity (publish the source, inspect the
 * pipeline stack, start the execution only when the stack stands ready and needs no update), in a
 * mock activity context with the real SDK clients against the emulator, on pipeline stacks made
 * by the activities as a sync makes them; what it returns or throws, and what AWS holds afterwards.
 */

/** The environment template with another description: a source whose upload can be seen. */
const ENVIRONMENT_TEMPLATE_V2 = ENVIRONMENT_TEMPLATE.replace('Description: one environment', 'Description: one environment, second edition');

/** The pipeline template with another description: a template change alone. */
const PIPELINE_TEMPLATE_V2 = PIPELINE_TEMPLATE.replace('Description: cfn-gitops pipeline for one environment', 'Description: cfn-gitops pipeline, second edition');

type SyncInput = Parameters<Tier['activities']['beginSync']>[0];

describe('beginSync against the emulator', () => {
  let tier: Tier;

  beforeAll(async () => {
    tier = await startTier();
  });
  afterAll(async () => {
    await tier.close();
  });
  afterEach(async () => {
    await tier.clearFaults();
  });

  const pipelineName = (environment: string) => `cfn-gitops-${environment}`;
  const stackName = (environment: string) => `cfn-gitops-${environment}-pipeline`;

  /** beginSync's input as the deployment workflow passes it. */
  function sync(environment: string, key: string, appVersion: string, overrides: Partial<StackChange> = {}, environmentTemplate = ENVIRONMENT_TEMPLATE): SyncInput {
    return { change: pipelineChange(environment, key, appVersion, overrides), bucket: BUCKET, environmentTemplate, pipelineName: pipelineName(environment), appVersion };
  }

  const pipeline = (environment: string) => tier.firstSync(environment);
  const executions = (environment: string) => tier.executions(pipelineName(environment));

  async function stackOf(name: string): Promise<Stack> {
    return (await tier.aws.cfn.send(new DescribeStacksCommand({ StackName: name }))).Stacks![0]!;
  }

  /** The environment.yaml the pipeline's Source stage would read. */
  async function source(environment: string): Promise<string> {
    const object = await tier.aws.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `cfn-gitops/${environment}/source.zip` }));
    return strFromU8(unzipSync(await object.Body!.transformToByteArray())['environment.yaml']!);
  }

  async function count(operation: string, target: string): Promise<number> {
    return (await tier.calls({ operation, target })).length;
  }

  it('on a stack that stands ready with only a new version: uploads the source and starts one execution with it; a retried attempt gets the same execution', async () => {
    const first = await pipeline('ready');
    const input = sync('ready', '2-sync', '1.1.0', {}, ENVIRONMENT_TEMPLATE_V2);
    const result = await newAttempt().run(tier.activities.beginSync, input);
    expect(result).toEqual({
      // The stack still says 1.0.0: the new version travels as the execution's variable, not as an update.
      inspection: { stack: expect.objectContaining({ stackName: 'cfn-gitops-ready-pipeline', status: 'CREATE_COMPLETE', parameters: expect.objectContaining({ AppVersion: '1.0.0' }) }), needsUpdate: false },
      executionId: expect.any(String),
    });
    expect(result.executionId).not.toBe(first);
    expect(await source('ready')).toBe(ENVIRONMENT_TEMPLATE_V2);

    // The retry policy's next attempt (the first one's result lost): the same token, the same execution.
    const again = await newAttempt({ attempt: 2 }).run(tier.activities.beginSync, input);
    expect(again).toEqual(result);

    // AWS: the pipeline's own execution and ours, once, with the version as its variable and the desired state's token.
    expect((await executions('ready')).map((e) => [e.pipelineExecutionId, e.trigger?.triggerType])).toEqual([
      [result.executionId, 'StartPipelineExecution'],
      [first, 'CreatePipeline'],
    ]);
    const runs = await tier.operations({ kind: 'pipeline', target: 'cfn-gitops-ready' });
    expect(runs.find((o) => o.pipelineExecutionId === result.executionId)?.clientRequestToken).toBe(requestToken('cfn-gitops/ready/2-sync/start'));
    const settled = await executionSettled(tier.aws.cp, 'cfn-gitops-ready', result.executionId!);
    expect(settled).toMatchObject({ status: 'Succeeded', variables: [{ name: 'AppVersion', resolvedValue: '1.1.0' }] });
    // Nothing was written to the pipeline stack.
    expect((await tier.operations({ kind: 'stack', target: 'cfn-gitops-ready-pipeline' })).map((o) => o.operation)).toEqual(['CREATE_STACK']);
    expect(await count('UpdateStack', 'cfn-gitops-ready-pipeline')).toBe(0);
  });

  it('without a pipeline stack: uploads the source, returns the absent stack and starts nothing', async () => {
    const result = await newAttempt().run(tier.activities.beginSync, sync('new', '1-sync', '1.0.0'));
    expect(result).toEqual({ inspection: { stack: null, needsUpdate: false } });
    expect(result).not.toHaveProperty('executionId');
    expect(await source('new')).toBe(ENVIRONMENT_TEMPLATE);
    // The stack was only read; the pipeline was not touched at all.
    expect((await tier.calls({ target: 'cfn-gitops-new-pipeline' })).map((c) => c.operation)).toEqual(['DescribeStacks']);
    expect(await tier.calls({ service: 'codepipeline', target: 'cfn-gitops-new' })).toEqual([]);
  });

  it.each([
    { what: 'a changed parameter', environment: 'param', overrides: { parameters: { ...pipelineChange('param', 'x').parameters, InstanceType: 't3.small' } } },
    { what: 'a changed template', environment: 'template', overrides: { templateBody: PIPELINE_TEMPLATE_V2 } },
  ])('on a stack that needs an update ($what): uploads the source, returns needsUpdate and starts nothing', async ({ environment, overrides }) => {
    await pipeline(environment);
    const result = await newAttempt().run(tier.activities.beginSync, sync(environment, '2-sync', '2.0.0', overrides, ENVIRONMENT_TEMPLATE_V2));
    expect(result).toEqual({ inspection: { stack: expect.objectContaining({ status: 'CREATE_COMPLETE' }), needsUpdate: true } });
    expect(await source(environment)).toBe(ENVIRONMENT_TEMPLATE_V2);
    // The update is the workflow's: beginSync neither updates the stack nor starts the pipeline.
    expect(await count('UpdateStack', stackName(environment))).toBe(0);
    expect(await count('StartPipelineExecution', pipelineName(environment))).toBe(0);
    expect(await executions(environment)).toHaveLength(1);
    expect((await stackOf(stackName(environment))).Parameters).toContainEqual({ ParameterKey: 'InstanceType', ParameterValue: 't3.micro' });
  });

  it('on a stack with an update in progress: returns the stack as it stands and starts nothing; once the update is done, the same sync starts', async () => {
    await pipeline('busy');
    const larger = { parameters: { ...pipelineChange('busy', 'x').parameters, InstanceType: 't3.small' } };
    await tier.planStacks({ stackName: 'cfn-gitops-busy-pipeline', operation: 'UPDATE', delayMs: 1500 });
    expect(await newAttempt().run(tier.activities.updateStack, pipelineChange('busy', '2-sync', '1.0.0', larger))).toBe(true);

    const input = sync('busy', '3-sync', '3.0.0', larger);
    const busy = await newAttempt().run(tier.activities.beginSync, input);
    expect(busy).toEqual({ inspection: { stack: expect.objectContaining({ status: 'UPDATE_IN_PROGRESS' }), needsUpdate: false } });
    expect(await count('StartPipelineExecution', 'cfn-gitops-busy')).toBe(0);

    // The workflow waits for the stack and looks again; the update made the stack what is desired.
    await newAttempt().run(tier.activities.waitForStack, { environment: 'busy', region: REGION, stackName: 'cfn-gitops-busy-pipeline', operation: 'update' as const });
    const ready = await newAttempt().run(tier.activities.beginSync, input);
    expect(ready).toEqual({ inspection: { stack: expect.objectContaining({ status: 'UPDATE_COMPLETE' }), needsUpdate: false }, executionId: expect.any(String) });
    expect(await count('StartPipelineExecution', 'cfn-gitops-busy')).toBe(1);
    const detail = await tier.aws.cp.send(new GetPipelineExecutionCommand({ pipelineName: 'cfn-gitops-busy', pipelineExecutionId: ready.executionId }));
    expect(detail.pipelineExecution?.variables).toEqual([{ name: 'AppVersion', resolvedValue: '3.0.0' }]);
  });

  it('a rolled-back update (UPDATE_ROLLBACK_COMPLETE) leaves a stack that stands: the old desired state starts, the refused one needs an update; UPDATE_ROLLBACK_FAILED starts nothing', async () => {
    await pipeline('rolled');
    const larger = { parameters: { ...pipelineChange('rolled', 'x').parameters, InstanceType: 't3.small' } };
    await tier.planStacks({ stackName: 'cfn-gitops-rolled-pipeline', operation: 'UPDATE', failAt: { logicalResourceId: 'Pipeline', reason: 'Internal failure' } });
    await newAttempt().run(tier.activities.updateStack, pipelineChange('rolled', '2-sync', '1.0.0', larger));
    await failure(newAttempt().run(tier.activities.waitForStack, { environment: 'rolled', region: REGION, stackName: 'cfn-gitops-rolled-pipeline', operation: 'update' as const }));

    const refused = await newAttempt().run(tier.activities.beginSync, sync('rolled', '3-sync', '2.0.0', larger));
    expect(refused).toEqual({ inspection: { stack: expect.objectContaining({ status: 'UPDATE_ROLLBACK_COMPLETE' }), needsUpdate: true } });
    const old = await newAttempt().run(tier.activities.beginSync, sync('rolled', '4-sync', '2.0.0'));
    expect(old).toEqual({ inspection: { stack: expect.objectContaining({ status: 'UPDATE_ROLLBACK_COMPLETE' }), needsUpdate: false }, executionId: expect.any(String) });
    expect(await count('StartPipelineExecution', 'cfn-gitops-rolled')).toBe(1);
    await executionSettled(tier.aws.cp, 'cfn-gitops-rolled', old.executionId!);

    // A rollback that failed: inspectStack does not compare (needsUpdate false), and the stack is not ready.
    await tier.planStacks({ stackName: 'cfn-gitops-rolled-pipeline', operation: 'UPDATE', endIn: 'UPDATE_ROLLBACK_FAILED' });
    await newAttempt().run(tier.activities.updateStack, pipelineChange('rolled', '5-sync', '1.0.0', larger));
    await failure(newAttempt().run(tier.activities.waitForStack, { environment: 'rolled', region: REGION, stackName: 'cfn-gitops-rolled-pipeline', operation: 'update' as const }));
    const stuck = await newAttempt().run(tier.activities.beginSync, sync('rolled', '6-sync', '2.0.0'));
    expect(stuck).toEqual({ inspection: { stack: expect.objectContaining({ status: 'UPDATE_ROLLBACK_FAILED' }), needsUpdate: false } });
    expect(await count('StartPipelineExecution', 'cfn-gitops-rolled')).toBe(1);
  });

  it('a StartPipelineExecution whose response was lost fails as retryable AwsUnavailable; the retried attempt gets the same execution and AWS ran one', async () => {
    const first = await pipeline('lost');
    await tier.fault({ service: 'codepipeline', operation: 'StartPipelineExecution', error: { code: 'ServiceUnavailableException', message: 'Service Unavailable', status: 503 }, count: 1, when: 'after' });
    const input = sync('lost', '2-sync', '2.0.0');
    const lost = await failure(newAttempt().run(tier.activities.beginSync, input));
    expect(lost).toMatchObject({ type: 'AwsUnavailable', nonRetryable: false, message: 'lost: StartPipelineExecution cfn-gitops-lost: Service Unavailable' });
    const { executionId } = await newAttempt({ attempt: 2 }).run(tier.activities.beginSync, input);
    expect((await executions('lost')).map((e) => e.pipelineExecutionId)).toEqual([executionId, first]);
    expect(await count('StartPipelineExecution', 'cfn-gitops-lost')).toBe(2);
  });

  describe('each AWS error class', () => {
    beforeAll(async () => {
      await pipeline('errors');
    });

    it.each(CODEPIPELINE_ERRORS)('$code ($status) from StartPipelineExecution fails beginSync as $type (nonRetryable: $nonRetryable), and no execution starts', async (error) => {
      const before = (await executions('errors')).length;
      await tier.fault({ service: 'codepipeline', operation: 'StartPipelineExecution', error: { code: error.code, message: error.message, status: error.status }, count: 1 });
      const thrown = await failure(newAttempt().run(tier.activities.beginSync, sync('errors', error.code, '9.0.0')));
      const calls = await tier.calls({ operation: 'StartPipelineExecution', target: 'cfn-gitops-errors' });
      expect(thrown).toMatchObject({
        type: error.type,
        nonRetryable: error.nonRetryable,
        message: `errors: StartPipelineExecution cfn-gitops-errors: ${error.message}`,
        details: [{ environment: 'errors', call: 'StartPipelineExecution', target: 'cfn-gitops-errors', awsError: error.code, httpStatus: error.status, requestId: calls.at(-1)!.requestId }],
      });
      expect(calls.at(-1)).toMatchObject({ status: error.status, errorCode: error.code });
      expect(await executions('errors')).toHaveLength(before);
    });

    it.each(S3_ERRORS)('$code ($status) from the source upload fails beginSync as $type (nonRetryable: $nonRetryable) before the stack is read or the pipeline started', async (error) => {
      const described = await count('DescribeStacks', 'cfn-gitops-errors-pipeline');
      const started = await count('StartPipelineExecution', 'cfn-gitops-errors');
      await tier.fault({ service: 's3', operation: 'PutObject', error: { code: error.code, message: error.message, status: error.status }, count: 1 });
      const thrown = await failure(newAttempt().run(tier.activities.beginSync, sync('errors', `upload-${error.code}`, '9.0.0')));
      expect(thrown).toMatchObject({
        type: error.type,
        nonRetryable: error.nonRetryable,
        message: `errors: PutObject s3://${BUCKET}/cfn-gitops/errors/source.zip: ${error.message}`,
        details: [{ environment: 'errors', call: 'PutObject', awsError: error.code, httpStatus: error.status }],
      });
      expect((await tier.calls({ service: 's3', operation: 'PutObject' })).at(-1)).toMatchObject({ target: `${BUCKET}/cfn-gitops/errors/source.zip`, status: error.status, errorCode: error.code });
      expect(await count('DescribeStacks', 'cfn-gitops-errors-pipeline')).toBe(described);
      expect(await count('StartPipelineExecution', 'cfn-gitops-errors')).toBe(started);
    });
  });
});
