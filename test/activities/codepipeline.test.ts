import { GetPipelineExecutionCommand } from '@aws-sdk/client-codepipeline';
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import type { PipelineRef } from '../../activities/codepipeline';
import { requestToken } from '../../activities/tokens';
import { ENVIRONMENT_TEMPLATE, executionSettled } from '../emulator/helpers';
import { BUCKET, cancellation, CODEPIPELINE_ERRORS, failure, newAttempt, REGION, startTier, type Tier } from './harness';

/**
 * Activity tier, CodePipeline: each activity in a mock activity context with the real SDK client
 * against the emulator, on pipelines made as a sync makes them (source published, pipeline stack
 * created by the activities); what it returns or throws, and the executions AWS holds afterwards.
 */

describe('CodePipeline activities against the emulator', () => {
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

  const ref = (environment: string): PipelineRef => ({ environment, region: REGION, pipelineName: `cfn-gitops-${environment}` });

  const pipeline = (environment: string) => tier.firstSync(environment);
  const executions = (environment: string) => tier.executions(`cfn-gitops-${environment}`);

  async function appVersionOfStack(stackName: string): Promise<string | undefined> {
    const stack = (await tier.aws.cfn.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks![0]!;
    return stack.Parameters?.find((p) => p.ParameterKey === 'AppVersion')?.ParameterValue;
  }

  async function count(operation: string, target: string): Promise<number> {
    return (await tier.calls({ operation, target })).length;
  }

  it('findInitialExecution finds the execution the pipeline started by itself; startPipelineExecution runs the version once per desired state; the wait returns it', async () => {
    const first = await pipeline('dev');
    const initial = await newAttempt().run(tier.activities.waitForPipelineExecution, { ...ref('dev'), executionId: first });
    expect(initial).toEqual({ executionId: first, status: 'Succeeded', appVersion: '1.0.0' });

    const start = { ...ref('dev'), appVersion: '1.1.0', requestKey: 'cfn-gitops/dev/2-sync-abc' };
    const id = await newAttempt().run(tier.activities.startPipelineExecution, start);
    expect(await newAttempt({ attempt: 2 }).run(tier.activities.startPipelineExecution, start)).toBe(id);
    expect(await newAttempt().run(tier.activities.findInitialExecution, ref('dev'))).toBe(first);

    expect(await newAttempt().run(tier.activities.waitForPipelineExecution, { ...ref('dev'), executionId: id })).toEqual({ executionId: id, status: 'Succeeded', appVersion: '1.1.0' });
    // AWS: two executions (the pipeline's own, then ours with the version), and the version deployed.
    expect((await executions('dev')).map((e) => [e.pipelineExecutionId, e.status, e.trigger?.triggerType])).toEqual([
      [id, 'Succeeded', 'StartPipelineExecution'],
      [first, 'Succeeded', 'CreatePipeline'],
    ]);
    expect(await appVersionOfStack('cfn-gitops-dev')).toBe('1.1.0');
    const runs = await tier.operations({ kind: 'pipeline', target: 'cfn-gitops-dev' });
    expect(runs.find((o) => o.pipelineExecutionId === id)?.clientRequestToken).toBe(requestToken('cfn-gitops/dev/2-sync-abc/start'));
  });

  it('a StartPipelineExecution whose response was lost fails as retryable AwsUnavailable; the retried attempt gets the same execution and AWS ran one', async () => {
    await pipeline('lost');
    await tier.fault({ service: 'codepipeline', operation: 'StartPipelineExecution', error: { code: 'ServiceUnavailableException', message: 'Service Unavailable', status: 503 }, count: 1, when: 'after' });
    const start = { ...ref('lost'), appVersion: '2.0.0', requestKey: 'cfn-gitops/lost/2-sync' };
    const lost = await failure(newAttempt().run(tier.activities.startPipelineExecution, start));
    expect(lost).toMatchObject({ type: 'AwsUnavailable', nonRetryable: false, message: 'lost: StartPipelineExecution cfn-gitops-lost: Service Unavailable' });
    const id = await newAttempt({ attempt: 2 }).run(tier.activities.startPipelineExecution, start);
    expect((await executions('lost')).map((e) => e.pipelineExecutionId)).toEqual([id, expect.any(String)]);
    expect(await newAttempt().run(tier.activities.waitForPipelineExecution, { ...ref('lost'), executionId: id })).toMatchObject({ status: 'Succeeded', appVersion: '2.0.0' });
  });

  it('a failed execution fails the wait with PipelineFailed naming the action and AWS\'s message; a real deploy failure too', async () => {
    await pipeline('broken');
    await tier.planExecutions('cfn-gitops-broken', { outcome: 'Failed', action: 'DeployEnvironment', message: 'Environment health is Severe' });
    const id = await newAttempt().run(tier.activities.startPipelineExecution, { ...ref('broken'), appVersion: '3.0.0', requestKey: 'cfn-gitops/broken/2-sync' });
    const failed = await failure(newAttempt().run(tier.activities.waitForPipelineExecution, { ...ref('broken'), executionId: id }));
    expect(failed).toMatchObject({
      type: 'PipelineFailed',
      nonRetryable: true,
      message: `broken: pipeline cfn-gitops-broken execution ${id} Failed: Deploy.DeployEnvironment failed: Environment health is Severe`,
      details: [{ pipelineName: 'cfn-gitops-broken', executionId: id, status: 'Failed', actions: ['Deploy.DeployEnvironment failed: Environment health is Severe'] }],
    });

    // A version the environment template refuses: the deploy action fails with CloudFormation's words.
    await newAttempt().run(tier.activities.publishSource, {
      environment: 'broken',
      region: REGION,
      bucket: BUCKET,
      environmentTemplate: ENVIRONMENT_TEMPLATE.replace('AppVersion: { Type: String }', "AppVersion: { Type: String, AllowedPattern: '[0-9.]+' }"),
    });
    const bad = await newAttempt().run(tier.activities.startPipelineExecution, { ...ref('broken'), appVersion: 'latest', requestKey: 'cfn-gitops/broken/3-sync' });
    const refused = await failure(newAttempt().run(tier.activities.waitForPipelineExecution, { ...ref('broken'), executionId: bad }));
    expect(refused.type).toBe('PipelineFailed');
    expect(refused.message).toMatch(new RegExp(`^broken: pipeline cfn-gitops-broken execution ${bad} Failed: Deploy\\.DeployEnvironment failed: .*AppVersion`));
    expect(await appVersionOfStack('cfn-gitops-broken')).toBe('1.0.0');
  });

  it('stopPipelineExecution stops a running execution; the settle wait returns Stopped, the execution wait fails with the reason; stopping again is a no-op', async () => {
    await pipeline('stop');
    await tier.planExecutions('cfn-gitops-stop', { outcome: 'Succeeded', durationMs: 3000 });
    const id = await newAttempt().run(tier.activities.startPipelineExecution, { ...ref('stop'), appVersion: '4.0.0', requestKey: 'cfn-gitops/stop/2-sync' });
    const stop = { ...ref('stop'), executionId: id, reason: 'stop: the environment is being deleted', abandon: true };
    await newAttempt().run(tier.activities.stopPipelineExecution, stop);
    expect(await newAttempt().run(tier.activities.waitForExecutionToSettle, { ...ref('stop'), executionId: id })).toBe('Stopped');
    const stopped = await failure(newAttempt().run(tier.activities.waitForPipelineExecution, { ...ref('stop'), executionId: id }));
    expect(stopped).toMatchObject({
      type: 'PipelineFailed',
      nonRetryable: true,
      message: `stop: pipeline cfn-gitops-stop execution ${id} Stopped: stop: the environment is being deleted`,
      details: [{ status: 'Stopped', actions: [] }],
    });

    // Already stopped: AWS says it is not stoppable, which is what was asked.
    await newAttempt().run(tier.activities.stopPipelineExecution, stop);
    expect((await tier.calls({ operation: 'StopPipelineExecution', target: 'cfn-gitops-stop' })).map((c) => c.errorCode)).toEqual([undefined, 'PipelineExecutionNotStoppableException']);

    const unknown = await failure(newAttempt().run(tier.activities.stopPipelineExecution, { ...stop, executionId: '00000000-0000-0000-0000-000000000000' }));
    expect(unknown).toMatchObject({ type: 'AwsError', nonRetryable: true });
    expect(unknown.message).toBe('stop: StopPipelineExecution cfn-gitops-stop: Pipeline execution with id 00000000-0000-0000-0000-000000000000 does not exist in pipeline with name cfn-gitops-stop.');
    const missing = await failure(newAttempt().run(tier.activities.waitForPipelineExecution, { ...ref('stop'), executionId: '00000000-0000-0000-0000-000000000000' }));
    expect(missing).toMatchObject({ type: 'AwsError', nonRetryable: true });
    expect(missing.message).toMatch(/^stop: GetPipelineExecution cfn-gitops-stop: /);
  });

  it('a stop without abandon leaves the execution Stopping until its action ends; a second stop request is a no-op', async () => {
    await pipeline('graceful');
    await tier.planExecutions('cfn-gitops-graceful', { outcome: 'Succeeded', durationMs: 800 });
    const id = await newAttempt().run(tier.activities.startPipelineExecution, { ...ref('graceful'), appVersion: '4.1.0', requestKey: 'cfn-gitops/graceful/2-sync' });
    const stop = { ...ref('graceful'), executionId: id, reason: 'superseded', abandon: false };
    await newAttempt().run(tier.activities.stopPipelineExecution, stop);
    await newAttempt().run(tier.activities.stopPipelineExecution, stop);
    const settle = newAttempt();
    expect(await settle.run(tier.activities.waitForExecutionToSettle, { ...ref('graceful'), executionId: id })).toBe('Stopped');
    expect(settle.heartbeats.length).toBeGreaterThan(0);
    const stops = await tier.calls({ operation: 'StopPipelineExecution', target: 'cfn-gitops-graceful' });
    expect(stops.map((c) => c.errorCode)).toEqual([undefined, 'DuplicatedStopRequestException']);
  });

  it('startPipelineExecution on a pipeline that does not exist fails as non-retryable AwsError naming the call', async () => {
    const missing = await failure(newAttempt().run(tier.activities.startPipelineExecution, { ...ref('nowhere'), appVersion: '1.0.0', requestKey: 'k' }));
    expect(missing).toMatchObject({
      type: 'AwsError',
      nonRetryable: true,
      message: "nowhere: GetPipeline cfn-gitops-nowhere: Account '123456789012' does not have a pipeline with name 'cfn-gitops-nowhere'",
      details: [{ awsError: 'PipelineNotFoundException', httpStatus: 400 }],
    });
    const initial = await failure(newAttempt().run(tier.activities.findInitialExecution, ref('nowhere')));
    expect(initial).toMatchObject({ type: 'AwsError', nonRetryable: true });
    expect(initial.message).toMatch(/^nowhere: ListPipelineExecutions cfn-gitops-nowhere: /);
    expect(await count('StartPipelineExecution', 'cfn-gitops-nowhere')).toBe(0);
  });

  it('the ownership check derives a pipeline\'s ARN from one already seen: a start costs ListTagsForResource and StartPipelineExecution, no GetPipeline', async () => {
    await pipeline('arn-first');
    await newAttempt().run(tier.activities.startPipelineExecution, { ...ref('arn-first'), appVersion: '2.0.0', requestKey: 'cfn-gitops/arn-first/2-sync' });
    await pipeline('arn-second');
    const id = await newAttempt().run(tier.activities.startPipelineExecution, { ...ref('arn-second'), appVersion: '2.0.0', requestKey: 'cfn-gitops/arn-second/2-sync' });
    expect(id).toBeTruthy();
    const calls = (await tier.calls({ service: 'codepipeline' })).filter((call) => call.target === 'cfn-gitops-arn-second' || call.target?.endsWith(':cfn-gitops-arn-second'));
    expect(calls.map((call) => call.operation).filter((op) => op !== 'ListPipelineExecutions' && op !== 'GetPipelineExecution')).toEqual(['ListTagsForResource', 'StartPipelineExecution']);
  });

  describe('each AWS error class', () => {
    beforeAll(async () => {
      await pipeline('errors');
    });

    it.each(CODEPIPELINE_ERRORS)('$code ($status) from StartPipelineExecution becomes $type (nonRetryable: $nonRetryable), and no execution starts', async (error) => {
      const before = (await executions('errors')).length;
      await tier.fault({ service: 'codepipeline', operation: 'StartPipelineExecution', error: { code: error.code, message: error.message, status: error.status }, count: 1 });
      const thrown = await failure(newAttempt().run(tier.activities.startPipelineExecution, { ...ref('errors'), appVersion: '9.0.0', requestKey: `cfn-gitops/errors/${error.code}` }));
      const calls = await tier.calls({ operation: 'StartPipelineExecution', target: 'cfn-gitops-errors' });
      expect(thrown).toMatchObject({
        type: error.type,
        nonRetryable: error.nonRetryable,
        message: `errors: StartPipelineExecution cfn-gitops-errors: ${error.message}`,
        details: [{ environment: 'errors', call: 'StartPipelineExecution', target: 'cfn-gitops-errors', awsError: error.code, httpStatus: error.status, requestId: calls.at(-1)!.requestId }],
      });
      expect(await executions('errors')).toHaveLength(before);
    });

    it('a throttled ownership check (ListTagsForResource) is retryable and starts nothing', async () => {
      const before = (await executions('errors')).length;
      await tier.fault({ service: 'codepipeline', operation: 'ListTagsForResource', throttleRate: 1 });
      const thrown = await failure(newAttempt().run(tier.activities.startPipelineExecution, { ...ref('errors'), appVersion: '9.0.0', requestKey: 'cfn-gitops/errors/owner' }));
      expect(thrown).toMatchObject({ type: 'AwsThrottled', nonRetryable: false, message: 'errors: ListTagsForResource cfn-gitops-errors: Rate exceeded' });
      expect(await count('StartPipelineExecution', 'cfn-gitops-errors')).toBe(CODEPIPELINE_ERRORS.length);
      expect(await executions('errors')).toHaveLength(before);
    });

    it('an undeclared variable is refused by CodePipeline (ValidationException) and not retried', async () => {
      await tier.fault({ service: 'codepipeline', operation: 'StartPipelineExecution', error: { code: 'ValidationException', message: "Variable name 'AppVersion' is not declared in the pipeline", status: 400 }, count: 1 });
      const thrown = await failure(newAttempt().run(tier.activities.startPipelineExecution, { ...ref('errors'), appVersion: '9.0.0', requestKey: 'cfn-gitops/errors/validation' }));
      expect(thrown).toMatchObject({ nonRetryable: true, message: "errors: StartPipelineExecution cfn-gitops-errors: Variable name 'AppVersion' is not declared in the pipeline" });
    });
  });

  it('waitForPipelineExecution heartbeats its poll count; a retried attempt resumes from the last heartbeat', async () => {
    await pipeline('beat');
    await tier.planExecutions('cfn-gitops-beat', { outcome: 'Succeeded', durationMs: 1200 });
    const id = await newAttempt().run(tier.activities.startPipelineExecution, { ...ref('beat'), appVersion: '5.0.0', requestKey: 'cfn-gitops/beat/2-sync' });
    const first = newAttempt();
    first.env.on('heartbeat', (details: { polls: number }) => {
      if (details.polls === 3) first.env.cancel('TIMED_OUT');
    });
    await cancellation(first.run(tier.activities.waitForPipelineExecution, { ...ref('beat'), executionId: id }));
    expect(first.heartbeats).toEqual([{ polls: 1 }, { polls: 2 }, { polls: 3 }]);
    const polled = await count('GetPipelineExecution', 'cfn-gitops-beat');

    const second = newAttempt({ attempt: 2, heartbeatDetails: first.heartbeats.at(-1) });
    expect(await second.run(tier.activities.waitForPipelineExecution, { ...ref('beat'), executionId: id })).toMatchObject({ status: 'Succeeded', appVersion: '5.0.0' });
    expect(second.heartbeats.length).toBeGreaterThan(0);
    expect(second.heartbeats).toEqual(second.heartbeats.map((_, i) => ({ polls: 4 + i })));
    expect(await count('GetPipelineExecution', 'cfn-gitops-beat')).toBe(polled + second.heartbeats.length + 1);
  });

  it.each(['waitForPipelineExecution', 'waitForExecutionToSettle'] as const)(
    'cancelled mid-wait, %s rethrows the cancellation, makes no further call and leaves the execution running',
    async (wait) => {
      const environment = `cancel-${wait === 'waitForPipelineExecution' ? 'run' : 'settle'}`;
      await pipeline(environment);
      await tier.planExecutions(`cfn-gitops-${environment}`, { outcome: 'Succeeded', durationMs: 600 });
      const id = await newAttempt().run(tier.activities.startPipelineExecution, { ...ref(environment), appVersion: '6.0.0', requestKey: `cfn-gitops/${environment}/2-sync` });
      const before = await count('GetPipelineExecution', `cfn-gitops-${environment}`);
      const attempt = newAttempt();
      attempt.env.on('heartbeat', () => attempt.env.cancel());
      const activity: (input: PipelineRef & { executionId: string }) => Promise<unknown> = tier.activities[wait];
      await cancellation(attempt.run(activity, { ...ref(environment), executionId: id }));
      expect(attempt.heartbeats).toEqual([{ polls: 1 }]);
      expect(await count('GetPipelineExecution', `cfn-gitops-${environment}`)).toBe(before + 1);
      // Cancelling a wait stops nothing in AWS: the execution runs to its end.
      expect((await executionSettled(tier.aws.cp, `cfn-gitops-${environment}`, id)).status).toBe('Succeeded');
      expect(await count('StopPipelineExecution', `cfn-gitops-${environment}`)).toBe(0);
      const detail = await tier.aws.cp.send(new GetPipelineExecutionCommand({ pipelineName: `cfn-gitops-${environment}`, pipelineExecutionId: id }));
      expect(detail.pipelineExecution?.variables).toEqual([{ name: 'AppVersion', resolvedValue: '6.0.0' }]);
    },
  );
});
