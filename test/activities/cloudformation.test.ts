import { CloudFormationClient, DescribeStacksCommand, ListChangeSetsCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { createCloudFormationActivities, type StackChange } from '../../activities/cloudformation';
import { requestToken } from '../../activities/tokens';
import { stackSettled } from '../emulator/helpers';
import { cancellation, failure, newAttempt, REGION, startTier, type ErrorCase, type Tier } from './harness';

/**
 * Activity tier, CloudFormation: each activity in a mock activity context with the real SDK
 * client against the emulator; what it returns or throws, and what AWS holds afterwards.
 */

const TEMPLATE = [
  "AWSTemplateFormatVersion: '2010-09-09'",
  'Parameters:',
  '  EnvironmentName: { Type: String }',
  '  AppVersion: { Type: String }',
  '  Size: { Type: String, Default: small, AllowedValues: [small, large] }',
  'Resources:',
  '  Topic:',
  '    Type: AWS::SNS::Topic',
  '    Properties:',
  "      DisplayName: !Sub '${EnvironmentName}-${Size}'",
  '  Queue:',
  '    Type: AWS::SQS::Queue',
  '    Properties:',
  "      QueueName: !Sub '${AWS::StackName}-q'",
  'Outputs:',
  '  TopicArn: { Value: !Ref Topic }',
  '',
].join('\n');

/** The same stack with one more resource: a template change. */
const TEMPLATE_V2 = TEMPLATE.replace('Outputs:', '  Dead:\n    Type: AWS::SQS::Queue\nOutputs:');

describe('CloudFormation activities against the emulator', () => {
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

  const stackName = (environment: string) => `cfn-gitops-${environment}`;

  /** A desired state as the deployment workflow passes it. */
  function change(environment: string, overrides: Partial<StackChange> = {}): StackChange {
    return {
      environment,
      region: REGION,
      stackName: stackName(environment),
      templateBody: TEMPLATE,
      // PipelineName is reserved and this template does not declare it: dropped.
      parameters: { EnvironmentName: environment, AppVersion: '1.0.0', PipelineName: `cfn-gitops-${environment}` },
      requiredParameters: [],
      requestKey: `cfn-gitops/${environment}/1-sync-abc`,
      ignoreForUpdate: ['AppVersion'],
      ...overrides,
    };
  }

  const ref = (environment: string) => ({ environment, region: REGION, stackName: stackName(environment) });

  async function describe(name: string): Promise<Stack> {
    return (await tier.aws.cfn.send(new DescribeStacksCommand({ StackName: name }))).Stacks![0]!;
  }

  async function count(operation: string, target: string): Promise<number> {
    return (await tier.calls({ operation, target })).length;
  }

  /** Creates a stack through the activities and waits for it. */
  async function created(environment: string, overrides: Partial<StackChange> = {}): Promise<void> {
    await newAttempt().run(tier.activities.createStack, change(environment, overrides));
    await newAttempt().run(tier.activities.waitForStack, { ...ref(environment), operation: 'create' as const });
  }

  it('createStack creates once per desired state, with the declared parameters and the environment tag; waitForStack returns the stack', async () => {
    const attempt = newAttempt();
    const stackId = await attempt.run(tier.activities.createStack, change('create'));
    expect(stackId).toMatch(/^arn:aws:cloudformation:us-east-1:\d+:stack\/cfn-gitops-create\//);
    // The same desired state again (a retried attempt): the same stack, no second operation.
    expect(await newAttempt({ attempt: 2 }).run(tier.activities.createStack, change('create'))).toBe(stackId);

    const stack = await newAttempt().run(tier.activities.waitForStack, { ...ref('create'), operation: 'create' as const });
    expect(stack).toMatchObject({
      stackName: 'cfn-gitops-create',
      stackId,
      status: 'CREATE_COMPLETE',
      parameters: { EnvironmentName: 'create', AppVersion: '1.0.0', Size: 'small' },
      outputs: { TopicArn: expect.stringContaining('cfn-gitops') },
    });
    expect(stack!.parameters).not.toHaveProperty('PipelineName');
    expect(await newAttempt().run(tier.activities.describeStack, ref('create'))).toEqual(stack);

    const aws = await describe('cfn-gitops-create');
    expect(aws.Tags).toEqual([{ Key: 'cfn-gitops:environment', Value: 'create' }]);
    const operations = await tier.operations({ kind: 'stack', target: 'cfn-gitops-create' });
    expect(operations.map((o) => [o.operation, o.status, o.clientRequestToken])).toEqual([
      ['CREATE_STACK', 'CREATE_COMPLETE', requestToken('cfn-gitops/create/1-sync-abc/create')],
    ]);
    expect(await newAttempt().run(tier.activities.describeStack, ref('nothing-here'))).toBeNull();
  });

  it('a CreateStack whose response was lost fails as retryable AwsUnavailable; the retried attempt gets the same stack and AWS ran one create', async () => {
    await tier.fault({ service: 'cloudformation', operation: 'CreateStack', error: { code: 'ServiceUnavailable', message: 'Service is unable to handle request.', status: 503 }, count: 1, when: 'after' });
    const lost = await failure(newAttempt().run(tier.activities.createStack, change('lost')));
    const [call] = await tier.calls({ operation: 'CreateStack', target: 'cfn-gitops-lost' });
    expect(lost).toMatchObject({
      type: 'AwsUnavailable',
      nonRetryable: false,
      message: 'lost: CreateStack cfn-gitops-lost: Service is unable to handle request.',
      details: [{ environment: 'lost', call: 'CreateStack', target: 'cfn-gitops-lost', awsError: 'ServiceUnavailable', httpStatus: 503, requestId: call!.requestId }],
    });

    const stackId = await newAttempt({ attempt: 2 }).run(tier.activities.createStack, change('lost'));
    expect(stackId).toBe((await describe('cfn-gitops-lost')).StackId);
    expect((await tier.calls({ operation: 'CreateStack', target: 'cfn-gitops-lost' })).map((c) => c.status)).toEqual([503, 200]);
    expect(await tier.operations({ kind: 'stack', target: 'cfn-gitops-lost' })).toHaveLength(1);
  });

  it('inspectStack: absent, unchanged, a new version alone (no update), a changed parameter or template (update)', async () => {
    expect(await newAttempt().run(tier.activities.inspectStack, change('inspect'))).toEqual({ stack: null, needsUpdate: false });
    await created('inspect');
    const run = (c: StackChange) => newAttempt().run(tier.activities.inspectStack, c);
    const same = await run(change('inspect'));
    expect(same).toMatchObject({ stack: { status: 'CREATE_COMPLETE', parameters: { AppVersion: '1.0.0' } }, needsUpdate: false });
    const version = change('inspect');
    expect((await run({ ...version, parameters: { ...version.parameters, AppVersion: '2.0.0' } })).needsUpdate).toBe(false);
    expect((await run({ ...version, parameters: { ...version.parameters, Size: 'large' } })).needsUpdate).toBe(true);
    expect((await run(change('inspect', { templateBody: TEMPLATE_V2 }))).needsUpdate).toBe(true);
    // Nothing was written.
    expect(await count('UpdateStack', 'cfn-gitops-inspect')).toBe(0);
  });

  it('inspectStack: a parameter taken out of the config goes back to its template default, so the stack needs an update', async () => {
    const withLarge = change('dropped', { parameters: { ...change('dropped').parameters, Size: 'large' } });
    await created('dropped', { parameters: withLarge.parameters });
    const run = (c: StackChange) => newAttempt().run(tier.activities.inspectStack, c);
    expect((await run(withLarge)).needsUpdate).toBe(false);
    // Size is no longer passed: the stack still says large, the template's default is small.
    expect((await run(change('dropped'))).needsUpdate).toBe(true);
    expect(await newAttempt().run(tier.activities.updateStack, change('dropped', { requestKey: 'cfn-gitops/dropped/2-sync' }))).toBe(true);
    await newAttempt().run(tier.activities.waitForStack, { ...ref('dropped'), operation: 'update' as const });
    expect((await describe('cfn-gitops-dropped')).Parameters?.find((p) => p.ParameterKey === 'Size')?.ParameterValue).toBe('small');
    expect((await run(change('dropped'))).needsUpdate).toBe(false);
  });

  it('updateStack applies a change (false when there is nothing to update); a busy stack fails UpdateStack and DeleteStack as retryable StackBusy', async () => {
    await created('busy');
    const large = change('busy', { parameters: { ...change('busy').parameters, Size: 'large' }, requestKey: 'cfn-gitops/busy/2-sync' });
    expect(await newAttempt().run(tier.activities.updateStack, change('busy'))).toBe(false);
    expect(await count('UpdateStack', 'cfn-gitops-busy')).toBe(1);

    await tier.planStacks({ stackName: 'cfn-gitops-busy', operation: 'UPDATE', delayMs: 1500 });
    expect(await newAttempt().run(tier.activities.updateStack, large)).toBe(true);
    expect((await describe('cfn-gitops-busy')).StackStatus).toBe('UPDATE_IN_PROGRESS');

    const another = change('busy', { templateBody: TEMPLATE_V2, requestKey: 'cfn-gitops/busy/3-sync' });
    const updating = await failure(newAttempt().run(tier.activities.updateStack, another));
    expect(updating).toMatchObject({ type: 'StackBusy', nonRetryable: false });
    expect(updating.message).toMatch(/^busy: UpdateStack cfn-gitops-busy: Stack:arn:aws:cloudformation:.* is in UPDATE_IN_PROGRESS state and can not be updated\.$/);
    const deleting = await failure(newAttempt().run(tier.activities.deleteStack, { ...ref('busy'), requestKey: 'cfn-gitops/busy/4-delete' }));
    expect(deleting).toMatchObject({ type: 'StackBusy', nonRetryable: false });
    expect(deleting.message).toMatch(/^busy: DeleteStack cfn-gitops-busy: Stack \[arn:.*\] cannot be deleted while in status UPDATE_IN_PROGRESS$/);

    const updated = await newAttempt().run(tier.activities.waitForStack, { ...ref('busy'), operation: 'update' as const });
    expect(updated).toMatchObject({ status: 'UPDATE_COMPLETE', parameters: { Size: 'large' } });
    // The refused calls changed nothing: one update ran, the stack is still there.
    expect((await tier.operations({ kind: 'stack', target: 'cfn-gitops-busy' })).map((o) => o.operation)).toEqual(['CREATE_STACK', 'UPDATE_STACK']);
  });

  it('waitForStack fails with StackFailed naming the resource that failed and why; a missing stack fails a create wait and ends a delete wait', async () => {
    await tier.planStacks({ stackName: 'cfn-gitops-failed', operation: 'CREATE', failAt: { logicalResourceId: 'Queue', reason: 'Resource limit exceeded' } });
    await newAttempt().run(tier.activities.createStack, change('failed'));
    const createFailed = await failure(newAttempt().run(tier.activities.waitForStack, { ...ref('failed'), operation: 'create' as const }));
    expect(createFailed).toMatchObject({
      type: 'StackFailed',
      nonRetryable: true,
      message: 'failed: stack cfn-gitops-failed ended in ROLLBACK_COMPLETE: Queue (AWS::SQS::Queue) CREATE_FAILED: Resource limit exceeded',
      details: [{ stackName: 'cfn-gitops-failed', status: 'ROLLBACK_COMPLETE', reasons: ['Queue (AWS::SQS::Queue) CREATE_FAILED: Resource limit exceeded'] }],
    });

    await created('rolled');
    await tier.planStacks({ stackName: 'cfn-gitops-rolled', operation: 'UPDATE', failAt: { logicalResourceId: 'Dead', reason: 'Queue limit reached' } });
    expect(await newAttempt().run(tier.activities.updateStack, change('rolled', { templateBody: TEMPLATE_V2 }))).toBe(true);
    const updateFailed = await failure(newAttempt().run(tier.activities.waitForStack, { ...ref('rolled'), operation: 'update' as const }));
    expect(updateFailed.message).toBe('rolled: stack cfn-gitops-rolled ended in UPDATE_ROLLBACK_COMPLETE: Dead (AWS::SQS::Queue) CREATE_FAILED: Queue limit reached');
    // The same end is what a rollback wait expects.
    expect(await newAttempt().run(tier.activities.waitForStack, { ...ref('rolled'), operation: 'rollback' as const })).toMatchObject({ status: 'UPDATE_ROLLBACK_COMPLETE' });

    const missing = await failure(newAttempt().run(tier.activities.waitForStack, { ...ref('never-made'), operation: 'create' as const }));
    expect(missing).toMatchObject({ type: 'StackFailed', nonRetryable: true, message: 'never-made: stack cfn-gitops-never-made does not exist' });
    expect(await newAttempt().run(tier.activities.waitForStack, { ...ref('never-made'), operation: 'delete' as const })).toBeNull();
  });

  it('continueUpdateRollback gets a stack out of UPDATE_ROLLBACK_FAILED; on a stack in any other state AWS refuses it and the failure is not retried', async () => {
    await created('stuck');
    await tier.planStacks({ stackName: 'cfn-gitops-stuck', operation: 'UPDATE', endIn: 'UPDATE_ROLLBACK_FAILED' });
    await newAttempt().run(tier.activities.updateStack, change('stuck', { templateBody: TEMPLATE_V2 }));
    const stuck = await failure(newAttempt().run(tier.activities.waitForStack, { ...ref('stuck'), operation: 'update' as const }));
    expect(stuck).toMatchObject({ type: 'StackFailed', details: [{ status: 'UPDATE_ROLLBACK_FAILED' }] });

    await newAttempt().run(tier.activities.continueUpdateRollback, { ...ref('stuck'), requestKey: 'cfn-gitops/stuck/2-sync' });
    expect(await newAttempt().run(tier.activities.waitForStack, { ...ref('stuck'), operation: 'rollback' as const })).toMatchObject({ status: 'UPDATE_ROLLBACK_COMPLETE' });
    const continued = await tier.operations({ kind: 'stack', target: 'cfn-gitops-stuck' });
    expect(continued.map((o) => o.operation)).toEqual(['CREATE_STACK', 'UPDATE_STACK', 'CONTINUE_ROLLBACK']);
    expect(continued[2]!.clientRequestToken).toBe(requestToken('cfn-gitops/stuck/2-sync/continue-rollback'));

    const again = await failure(newAttempt().run(tier.activities.continueUpdateRollback, { ...ref('stuck'), requestKey: 'cfn-gitops/stuck/3-sync' }));
    expect(again).toMatchObject({ type: 'InvalidTemplate', nonRetryable: true });
    expect(again.message).toMatch(/^stuck: ContinueUpdateRollback cfn-gitops-stuck: Stack arn:.* is in UPDATE_ROLLBACK_COMPLETE state and can not continue update rollback\./);
  });

  it('deleteStack deletes with a token, a stack in DELETE_FAILED again with retained resources, and asks nothing of AWS for a stack that is gone', async () => {
    await created('gone');
    await tier.planStacks({ stackName: 'cfn-gitops-gone', operation: 'DELETE', endIn: 'DELETE_FAILED' });
    await newAttempt().run(tier.activities.deleteStack, { ...ref('gone'), requestKey: 'cfn-gitops/gone/2-delete' });
    const failed = await failure(newAttempt().run(tier.activities.waitForStack, { ...ref('gone'), operation: 'delete' as const }));
    expect(failed).toMatchObject({ type: 'StackFailed', nonRetryable: true, details: [{ status: 'DELETE_FAILED' }] });
    expect(failed.message).toMatch(/^gone: stack cfn-gitops-gone ended in DELETE_FAILED: \w+ \(AWS::\w+::\w+\) DELETE_FAILED: /);

    await newAttempt().run(tier.activities.deleteStack, { ...ref('gone'), requestKey: 'cfn-gitops/gone/3-delete', retainResources: ['Queue'] });
    expect(await newAttempt().run(tier.activities.waitForStack, { ...ref('gone'), operation: 'delete' as const })).toBeNull();
    expect(await newAttempt().run(tier.activities.describeStack, ref('gone'))).toBeNull();
    const deletes = (await tier.operations({ kind: 'stack', target: 'cfn-gitops-gone' })).filter((o) => o.operation === 'DELETE_STACK');
    expect(deletes.map((o) => [o.status, o.clientRequestToken])).toEqual([
      ['DELETE_FAILED', requestToken('cfn-gitops/gone/2-delete/delete')],
      ['DELETE_COMPLETE', requestToken('cfn-gitops/gone/3-delete/delete')],
    ]);

    await newAttempt().run(tier.activities.deleteStack, { ...ref('gone'), requestKey: 'cfn-gitops/gone/4-delete' });
    expect(await count('DeleteStack', 'cfn-gitops-gone')).toBe(2);

    // RetainResources outside DELETE_FAILED: AWS refuses, not retried, the stack stays.
    await created('kept');
    const retained = await failure(newAttempt().run(tier.activities.deleteStack, { ...ref('kept'), requestKey: 'k', retainResources: ['Queue'] }));
    expect(retained).toMatchObject({ type: 'InvalidTemplate', nonRetryable: true });
    expect(retained.message).toContain('kept: DeleteStack cfn-gitops-kept: Invalid operation on stack; RetainResources can only be specified when the stack is in the DELETE_FAILED state');
    expect((await describe('cfn-gitops-kept')).StackStatus).toBe('CREATE_COMPLETE');
  });

  it('an invalid template or parameter fails as non-retryable InvalidTemplate with AWS\'s reason, and no stack is made', async () => {
    const broken = await failure(newAttempt().run(tier.activities.createStack, change('invalid', { templateBody: 'Resources:\n  Topic: [unclosed\n' })));
    expect(broken).toMatchObject({ type: 'InvalidTemplate', nonRetryable: true, details: [{ call: 'ValidateTemplate', awsError: 'ValidationError', httpStatus: 400 }] });
    expect(broken.message).toMatch(/^invalid: ValidateTemplate cfn-gitops-invalid: Template format error: YAML not well-formed\./);
    expect(await count('CreateStack', 'cfn-gitops-invalid')).toBe(0);

    const value = await failure(newAttempt().run(tier.activities.createStack, change('invalid', { parameters: { ...change('invalid').parameters, Size: 'huge' } })));
    expect(value).toMatchObject({ type: 'InvalidTemplate', nonRetryable: true });
    expect(value.message).toBe("invalid: CreateStack cfn-gitops-invalid: Parameter 'Size' must be one of AllowedValues");

    // A user's own parameter is passed even when the template does not declare it, and AWS names it.
    const undeclared = await failure(
      newAttempt().run(tier.activities.createStack, change('invalid', { parameters: { ...change('invalid').parameters, Colour: 'blue' }, requiredParameters: ['Colour'] })),
    );
    expect(undeclared.message).toBe('invalid: CreateStack cfn-gitops-invalid: Parameters: [Colour] do not exist in the template');

    const without = change('invalid');
    const missingValue = await failure(newAttempt().run(tier.activities.createStack, { ...without, parameters: { AppVersion: '1.0.0' } }));
    expect(missingValue.message).toBe('invalid: CreateStack cfn-gitops-invalid: Parameters: [EnvironmentName] must have values');
    expect(await newAttempt().run(tier.activities.describeStack, ref('invalid'))).toBeNull();
  });

  const ERRORS: ErrorCase[] = [
    { code: 'Throttling', status: 400, message: 'Rate exceeded', type: 'AwsThrottled', nonRetryable: false },
    { code: 'RequestLimitExceeded', status: 400, message: 'Request limit exceeded.', type: 'AwsThrottled', nonRetryable: false },
    { code: 'InternalFailure', status: 500, message: 'The request processing has failed because of an unknown error, exception or failure.', type: 'AwsUnavailable', nonRetryable: false },
    { code: 'ServiceUnavailable', status: 503, message: 'Service is unable to handle request.', type: 'AwsUnavailable', nonRetryable: false },
    { code: 'SomethingNew', status: 502, message: 'Bad gateway', type: 'AwsUnavailable', nonRetryable: false },
    { code: 'ValidationError', status: 400, message: 'Stack:arn:aws:cloudformation:us-east-1:1:stack/x/1 is in UPDATE_ROLLBACK_IN_PROGRESS state and can not be updated.', type: 'StackBusy', nonRetryable: false },
    { code: 'InsufficientCapabilitiesException', status: 400, message: 'Requires capabilities : [CAPABILITY_IAM]', type: 'InvalidTemplate', nonRetryable: true },
    { code: 'AccessDenied', status: 403, message: 'User: arn:aws:iam::1:user/ci is not authorized to perform: cloudformation:DescribeStacks', type: 'AccessDenied', nonRetryable: true },
    { code: 'ExpiredToken', status: 400, message: 'The security token included in the request is expired', type: 'AccessDenied', nonRetryable: true },
    { code: 'InvalidClientTokenId', status: 403, message: 'The security token included in the request is invalid.', type: 'AccessDenied', nonRetryable: true },
    { code: 'SignatureDoesNotMatch', status: 403, message: 'Signature expired', type: 'AccessDenied', nonRetryable: true },
    { code: 'LimitExceededException', status: 400, message: 'Limit on the number of stacks exceeded', type: 'AwsError', nonRetryable: true },
  ];

  it.each(ERRORS)('$code ($status) from DescribeStacks becomes $type (nonRetryable: $nonRetryable) naming the environment, call, stack and AWS\'s reason', async (error) => {
    await tier.fault({ service: 'cloudformation', operation: 'DescribeStacks', error: { code: error.code, message: error.message, status: error.status }, count: 1 });
    const thrown = await failure(newAttempt().run(tier.activities.describeStack, ref('errors')));
    const calls = await tier.calls({ operation: 'DescribeStacks', target: 'cfn-gitops-errors' });
    expect(thrown).toMatchObject({
      type: error.type,
      nonRetryable: error.nonRetryable,
      message: `errors: DescribeStacks cfn-gitops-errors: ${error.message}`,
      details: [{ environment: 'errors', call: 'DescribeStacks', target: 'cfn-gitops-errors', awsError: error.code, httpStatus: error.status, requestId: calls.at(-1)!.requestId }],
    });
    // One attempt, one call: the retry policy decides on the next.
    expect(calls.at(-1)).toMatchObject({ status: error.status, errorCode: error.code });
  });

  it.each([
    { code: 'ECONNRESET', name: 'Error', message: 'socket hang up' },
    { code: 'ECONNREFUSED', name: 'Error', message: 'connect ECONNREFUSED 10.0.0.1:443' },
    { code: undefined, name: 'TimeoutError', message: 'Connection timed out after 5000 ms' },
  ])('a network failure ($code $name) becomes retryable AwsUnavailable', async ({ code, name, message }) => {
    // Inside jest, node's own socket errors come from another realm and the SDK rewraps them
    // without their code; a request handler that fails as the socket would stands in for them.
    const offline = new CloudFormationClient({
      region: REGION,
      credentials: { accessKeyId: 't', secretAccessKey: 't' },
      maxAttempts: 1,
      requestHandler: { handle: () => Promise.reject(Object.assign(new Error(message), { name, code })) },
    });
    const activities = createCloudFormationActivities(() => offline, { minMs: 10, maxMs: 10 });
    const thrown = await failure(newAttempt().run(activities.describeStack, ref('offline')));
    expect(thrown).toMatchObject({ type: 'AwsUnavailable', nonRetryable: false, message: `offline: DescribeStacks cfn-gitops-offline: ${message}` });
  });

  it('waitForStack heartbeats its poll count; a retried attempt resumes from the last heartbeat and returns the stack', async () => {
    await tier.planStacks({ stackName: 'cfn-gitops-beat', operation: 'CREATE', delayMs: 1200 });
    await newAttempt().run(tier.activities.createStack, change('beat'));
    // The first attempt is lost after its second heartbeat (a worker crash, a heartbeat timeout).
    const first = newAttempt();
    first.env.on('heartbeat', (details: { polls: number }) => {
      if (details.polls === 2) first.env.cancel('TIMED_OUT');
    });
    await cancellation(first.run(tier.activities.waitForStack, { ...ref('beat'), operation: 'create' as const }));
    expect(first.heartbeats).toEqual([{ polls: 1 }, { polls: 2 }]);
    expect(await count('DescribeStacks', 'cfn-gitops-beat')).toBe(2);

    const second = newAttempt({ attempt: 2, heartbeatDetails: first.heartbeats.at(-1) });
    const stack = await second.run(tier.activities.waitForStack, { ...ref('beat'), operation: 'create' as const });
    expect(stack).toMatchObject({ status: 'CREATE_COMPLETE' });
    // It counts on from 2: one heartbeat per poll that found the stack still creating.
    expect(second.heartbeats.length).toBeGreaterThan(0);
    expect(second.heartbeats).toEqual(second.heartbeats.map((_, i) => ({ polls: 3 + i })));
    expect(await count('DescribeStacks', 'cfn-gitops-beat')).toBe(2 + second.heartbeats.length + 1);
  });

  it('a throttled poll fails the wait as retryable AwsThrottled without a heartbeat; the next attempt completes it', async () => {
    await tier.planStacks({ stackName: 'cfn-gitops-slow', operation: 'CREATE', delayMs: 400 });
    await newAttempt().run(tier.activities.createStack, change('slow'));
    await tier.fault({ service: 'cloudformation', operation: 'DescribeStacks', error: { code: 'Throttling', message: 'Rate exceeded', status: 400 }, count: 1 });
    const first = newAttempt();
    const throttled = await failure(first.run(tier.activities.waitForStack, { ...ref('slow'), operation: 'create' as const }));
    expect(throttled).toMatchObject({ type: 'AwsThrottled', nonRetryable: false, message: 'slow: DescribeStacks cfn-gitops-slow: Rate exceeded' });
    expect(first.heartbeats).toEqual([]);
    expect(await newAttempt({ attempt: 2 }).run(tier.activities.waitForStack, { ...ref('slow'), operation: 'create' as const })).toMatchObject({ status: 'CREATE_COMPLETE' });
  });

  it('a poll delay longer than the heartbeat interval still heartbeats every 2 s, with the same poll count', async () => {
    await tier.planStacks({ stackName: 'cfn-gitops-patient', operation: 'CREATE', delayMs: 5000 });
    await newAttempt().run(tier.activities.createStack, change('patient'));
    const slow = createCloudFormationActivities(() => tier.aws.cfn, { minMs: 2100, maxMs: 2100 });
    const attempt = newAttempt();
    attempt.env.on('heartbeat', () => {
      if (attempt.heartbeats.length === 2) attempt.env.cancel();
    });
    await cancellation(attempt.run(slow.waitForStack, { ...ref('patient'), operation: 'create' as const }));
    expect(attempt.heartbeats).toEqual([{ polls: 1 }, { polls: 1 }]);
    expect(await count('DescribeStacks', 'cfn-gitops-patient')).toBe(1);
  });

  it('cancelled mid-wait, waitForStack rethrows the cancellation, makes no further call and leaves the stack operation running', async () => {
    await tier.planStacks({ stackName: 'cfn-gitops-cancel', operation: 'CREATE', delayMs: 800 });
    await newAttempt().run(tier.activities.createStack, change('cancel'));
    const attempt = newAttempt();
    attempt.env.on('heartbeat', () => attempt.env.cancel());
    const cancelled = await cancellation(attempt.run(tier.activities.waitForStack, { ...ref('cancel'), operation: 'create' as const }));
    expect(cancelled.message).toBe('CANCELLED');
    expect(attempt.heartbeats).toEqual([{ polls: 1 }]);
    const calls = await tier.calls({ target: 'cfn-gitops-cancel' });
    expect(calls.map((c) => c.operation)).toEqual(['CreateStack', 'DescribeStacks']);
    // Cancelling the wait cancels no AWS operation: the create runs to its end.
    expect((await stackSettled(tier.aws.cfn, 'cfn-gitops-cancel')).StackStatus).toBe('CREATE_COMPLETE');
    const writes = (await tier.calls({ target: 'cfn-gitops-cancel' })).filter((c) => c.operation !== 'DescribeStacks');
    expect(writes.map((c) => c.operation)).toEqual(['CreateStack']);
  });

  it('cancelled while a poll is in flight, waitForStack rethrows the cancellation and starts no further call', async () => {
    await tier.planStacks({ stackName: 'cfn-gitops-inflight', operation: 'CREATE', delayMs: 2000 });
    await newAttempt().run(tier.activities.createStack, change('inflight'));
    await tier.fault({ service: 'cloudformation', operation: 'DescribeStacks', latencyMs: 300 });
    const attempt = newAttempt();
    const running = attempt.run(tier.activities.waitForStack, { ...ref('inflight'), operation: 'create' as const });
    attempt.env.cancel();
    await cancellation(running);
    await tier.clearFaults();
    expect(await count('DescribeStacks', 'cfn-gitops-inflight')).toBeLessThanOrEqual(1);
  });

  it('previewStackChanges lists what an update would change, nothing for a new version alone, and deletes its change set', async () => {
    await created('preview');
    const large = change('preview', { parameters: { ...change('preview').parameters, Size: 'large' } });
    expect(await newAttempt().run(tier.activities.previewStackChanges, large)).toEqual(['Modify Topic (AWS::SNS::Topic): Properties']);
    expect(await newAttempt().run(tier.activities.previewStackChanges, change('preview', { templateBody: TEMPLATE_V2 }))).toEqual(['Add Dead (AWS::SQS::Queue)']);
    const version = change('preview');
    expect(await newAttempt().run(tier.activities.previewStackChanges, { ...version, parameters: { ...version.parameters, AppVersion: '9.9.9' } })).toEqual([]);
    expect((await tier.aws.cfn.send(new ListChangeSetsCommand({ StackName: 'cfn-gitops-preview' }))).Summaries ?? []).toEqual([]);
    expect(await describe('cfn-gitops-preview')).toMatchObject({ StackStatus: 'CREATE_COMPLETE', Parameters: expect.arrayContaining([{ ParameterKey: 'Size', ParameterValue: 'small' }]) });

    const invalid = await failure(newAttempt().run(tier.activities.previewStackChanges, change('preview', { templateBody: 'Resources: [' })));
    expect(invalid).toMatchObject({ type: 'InvalidTemplate', nonRetryable: true });
    expect(await count('CreateChangeSet', 'cfn-gitops-preview')).toBe(3);
  });

  it('cancelled while the change set is computed, previewStackChanges deletes its change set, then rethrows the cancellation', async () => {
    await created('cleanup');
    const restore = await tier.timing({ changeSetMs: 3000 });
    try {
      const attempt = newAttempt();
      attempt.env.on('heartbeat', () => attempt.env.cancel());
      await cancellation(attempt.run(tier.activities.previewStackChanges, change('cleanup', { templateBody: TEMPLATE_V2 })));
      expect(attempt.heartbeats).toEqual([{ polls: 1 }]);
    } finally {
      await restore();
    }
    const calls = (await tier.calls({ target: 'cfn-gitops-cleanup' })).map((c) => c.operation);
    expect(calls.slice(calls.indexOf('CreateChangeSet'))).toEqual(['CreateChangeSet', 'DescribeChangeSet', 'DeleteChangeSet']);
    expect((await tier.aws.cfn.send(new ListChangeSetsCommand({ StackName: 'cfn-gitops-cleanup' }))).Summaries ?? []).toEqual([]);
  });
});
