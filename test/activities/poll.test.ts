import type { ApplicationFailure } from '@temporalio/common';
import { ENVIRONMENT_TEMPLATE, PIPELINE_TEMPLATE } from '../emulator/helpers';
import { BUCKET, failure, newAttempt, REGION, startTier, type Tier } from './harness';

/**
 * Activity tier, waits that poll once per attempt: each attempt makes one check; while the
 * operation runs it fails with the retryable StillWaiting type and the next poll's delay as its
 * next-retry delay (fast first, then slower, up to the poll maximum), holds no sleep and sends no
 * heartbeat; the attempt that finds the operation ended returns or fails as the in-place wait does.
 */

const TIMING = { minMs: 40, maxMs: 150 };
/** The delay the retry policy waits before attempt `attempt + 1`. */
const delayAfter = (attempt: number) => Math.round(Math.min(TIMING.maxMs, TIMING.minMs * 2 ** (attempt - 1)));

const TEMPLATE = 'Parameters:\n  AppVersion: { Type: String }\nResources:\n  Topic:\n    Type: AWS::SNS::Topic\n    Properties:\n      DisplayName: !Ref AppVersion\n';

describe('waits that poll once per activity attempt', () => {
  let tier: Tier;

  beforeAll(async () => {
    tier = await startTier({ timing: TIMING });
  });
  afterAll(async () => {
    await tier.close();
  });
  afterEach(async () => {
    await tier.clearFaults();
  });

  /**
   * Runs attempts 1, 2, … as the retry policy would, sleeping each failure's next-retry delay,
   * until one returns. Every failure before must be a StillWaiting with the delay for its attempt.
   */
  async function attempts<R>(run: (attempt: number) => Promise<R>): Promise<{ result: R; waits: ApplicationFailure[] }> {
    const waits: ApplicationFailure[] = [];
    for (let attempt = 1; attempt < 100; attempt++) {
      try {
        return { result: await run(attempt), waits };
      } catch (error) {
        const waiting = error as ApplicationFailure;
        expect(waiting).toMatchObject({ type: 'StillWaiting', nonRetryable: false, nextRetryDelay: delayAfter(attempt), category: 'BENIGN' });
        waits.push(waiting);
        await new Promise((resolve) => setTimeout(resolve, Number(waiting.nextRetryDelay)));
      }
    }
    throw new Error('the wait did not end within 100 attempts');
  }

  const stack = (environment: string) => ({ environment, region: REGION, stackName: `cfn-gitops-${environment}`, betweenAttempts: true });

  it('a stack wait makes one DescribeStacks per attempt, fails StillWaiting with a growing delay while the stack creates, and returns it once created', async () => {
    await tier.planStacks({ stackName: 'cfn-gitops-poll', operation: 'CREATE', delayMs: 700 });
    await newAttempt().run(tier.activities.createStack, { ...stack('poll'), templateBody: TEMPLATE, parameters: { AppVersion: '1.0.0' }, requiredParameters: [], requestKey: 'cfn-gitops/poll/1' });
    const heartbeats: unknown[] = [];
    const { result, waits } = await attempts(async (attempt) => {
      const context = newAttempt({ attempt });
      try {
        return await context.run(tier.activities.waitForStack, { ...stack('poll'), operation: 'create' as const });
      } finally {
        heartbeats.push(...context.heartbeats);
      }
    });
    expect(result).toMatchObject({ stackName: 'cfn-gitops-poll', status: 'CREATE_COMPLETE', parameters: { AppVersion: '1.0.0' } });
    expect(waits.length).toBeGreaterThan(1);
    expect(waits.map((w) => w.nextRetryDelay)).toEqual(waits.map((_, i) => delayAfter(i + 1)));
    expect(waits[0]!.message).toBe(`not done yet; polling again in ${TIMING.minMs} ms`);
    expect(heartbeats).toEqual([]);
    expect((await tier.calls({ operation: 'DescribeStacks', target: 'cfn-gitops-poll' })).length).toBe(waits.length + 1);
  });

  it('the delay grows from the poll minimum to the poll maximum by attempt, whatever the heartbeat details say', async () => {
    await tier.planStacks({ stackName: 'cfn-gitops-slow', operation: 'CREATE', delayMs: 3000 });
    await newAttempt().run(tier.activities.createStack, { ...stack('slow'), templateBody: TEMPLATE, parameters: { AppVersion: '1.0.0' }, requiredParameters: [], requestKey: 'cfn-gitops/slow/1' });
    const delays: unknown[] = [];
    for (const attempt of [1, 2, 3, 20]) {
      const waiting = await failure(newAttempt({ attempt, heartbeatDetails: { polls: 7 } }).run(tier.activities.waitForStack, { ...stack('slow'), operation: 'create' as const }));
      expect(waiting).toMatchObject({ type: 'StillWaiting', nonRetryable: false });
      delays.push(waiting.nextRetryDelay);
    }
    expect(delays).toEqual([40, 80, 150, 150]);
  });

  it('the attempt that sees the end fails as the in-place wait does: StackFailed for a rolled-back create, AwsThrottled for a throttled poll', async () => {
    await tier.planStacks({ stackName: 'cfn-gitops-bad', operation: 'CREATE', failAt: { logicalResourceId: 'Topic', reason: 'Topic limit exceeded' } });
    await newAttempt().run(tier.activities.createStack, { ...stack('bad'), templateBody: TEMPLATE, parameters: { AppVersion: '1.0.0' }, requiredParameters: [], requestKey: 'cfn-gitops/bad/1' });
    const ended = await rejectionOfAttempts(() => newAttempt().run(tier.activities.waitForStack, { ...stack('bad'), operation: 'create' as const }));
    expect(ended).toMatchObject({
      type: 'StackFailed',
      nonRetryable: true,
      message: 'bad: stack cfn-gitops-bad ended in ROLLBACK_COMPLETE: Topic (AWS::SNS::Topic) CREATE_FAILED: Topic limit exceeded',
    });

    await tier.fault({ service: 'cloudformation', operation: 'DescribeStacks', throttleRate: 1 });
    const throttled = await failure(newAttempt().run(tier.activities.waitForStack, { ...stack('bad'), operation: 'create' as const }));
    expect(throttled).toMatchObject({ type: 'AwsThrottled', nonRetryable: false, message: 'bad: DescribeStacks cfn-gitops-bad: Rate exceeded' });
    expect(throttled.nextRetryDelay).toBeUndefined();
  });

  /** Retries a wait past its StillWaiting failures; returns the failure it ends with. */
  async function rejectionOfAttempts(run: () => Promise<unknown>): Promise<ApplicationFailure> {
    for (let i = 0; i < 100; i++) {
      const error = await failure(run());
      if (error.type !== 'StillWaiting') return error;
      await new Promise((resolve) => setTimeout(resolve, Number(error.nextRetryDelay)));
    }
    throw new Error('the wait did not end within 100 attempts');
  }

  it('pipeline waits: the first execution is found in one attempt; an execution is waited for attempt by attempt; a stopped one settles', async () => {
    const environment = 'piped';
    const pipeline = { environment, region: REGION, pipelineName: `cfn-gitops-${environment}`, betweenAttempts: true };
    await newAttempt().run(tier.activities.publishSource, { environment, region: REGION, bucket: BUCKET, environmentTemplate: ENVIRONMENT_TEMPLATE });
    await newAttempt().run(tier.activities.createStack, {
      environment,
      region: REGION,
      stackName: `cfn-gitops-${environment}-pipeline`,
      templateBody: PIPELINE_TEMPLATE,
      parameters: { EnvironmentName: environment, PipelineName: `cfn-gitops-${environment}`, EnvironmentStackName: `cfn-gitops-${environment}`, AppVersion: '1.0.0', ArtifactBucket: BUCKET },
      requiredParameters: [],
      requestKey: `cfn-gitops/${environment}/1`,
    });
    await attempts((attempt) => newAttempt({ attempt }).run(tier.activities.waitForStack, { ...pipeline, stackName: `cfn-gitops-${environment}-pipeline`, operation: 'create' as const }));
    const first = await newAttempt().run(tier.activities.findInitialExecution, pipeline);
    const initial = await attempts((attempt) => newAttempt({ attempt }).run(tier.activities.waitForPipelineExecution, { ...pipeline, executionId: first }));
    expect(initial.result).toEqual({ executionId: first, status: 'Succeeded', appVersion: '1.0.0' });

    await tier.planExecutions(`cfn-gitops-${environment}`, { outcome: 'Failed', action: 'DeployEnvironment', message: 'health check failed', durationMs: 400 });
    const failing = await newAttempt().run(tier.activities.startPipelineExecution, { ...pipeline, appVersion: '2.0.0', requestKey: `cfn-gitops/${environment}/2` });
    const failed = await rejectionOfAttempts(() => newAttempt().run(tier.activities.waitForPipelineExecution, { ...pipeline, executionId: failing }));
    expect(failed).toMatchObject({ type: 'PipelineFailed', nonRetryable: true, message: `piped: pipeline cfn-gitops-piped execution ${failing} Failed: Deploy.DeployEnvironment failed: health check failed` });

    await tier.planExecutions(`cfn-gitops-${environment}`, { outcome: 'Succeeded', durationMs: 600 });
    const stopping = await newAttempt().run(tier.activities.startPipelineExecution, { ...pipeline, appVersion: '3.0.0', requestKey: `cfn-gitops/${environment}/3` });
    await newAttempt().run(tier.activities.stopPipelineExecution, { ...pipeline, executionId: stopping, reason: 'deleted', abandon: false });
    const settled = await attempts((attempt) => newAttempt({ attempt }).run(tier.activities.waitForExecutionToSettle, { ...pipeline, executionId: stopping }));
    expect(settled.result).toBe('Stopped');
  });
});
