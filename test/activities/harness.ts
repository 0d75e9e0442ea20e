import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CodePipelineClient, ListPipelineExecutionsCommand, type PipelineExecutionSummary } from '@aws-sdk/client-codepipeline';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { Info } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createActivities, type ActivityDependencies, type AwsClients } from '../../activities';
import type { StackChange } from '../../activities/cloudformation';
import type { CallRecord, EmulatorTiming, ExecutionPlan, FaultInput, OperationRecord, RunningEmulator, StackPlan } from '../../emulator';
import { control, ENVIRONMENT_TEMPLATE, executionSettled, PIPELINE_TEMPLATE, startTestEmulator } from '../emulator/helpers';

/**
 * The activity tier's harness: the emulator over HTTP, the real SDK clients pointed at it, the
 * activities from `createActivities`, and `MockActivityEnvironment`s that record heartbeats.
 */

export const REGION = 'us-east-1';
export const BUCKET = 'cfn-gitops-artifacts';

/**
 * SDK clients that make one attempt: Temporal's retry policy is the retry, and each fault the
 * emulator injects reaches the activity instead of being absorbed (and slept on) by the SDK.
 */
export interface TierClients {
  cfn: CloudFormationClient;
  cp: CodePipelineClient;
  s3: S3Client;
}

/** One activity attempt's mock context and the heartbeats it sent. */
export interface Attempt {
  env: MockActivityEnvironment;
  /** Details of every heartbeat, in order. */
  heartbeats: unknown[];
  /** Runs an activity in this attempt's context, typed as the activity is. */
  run<A extends unknown[], R>(activity: (...args: A) => Promise<R>, ...args: A): Promise<R>;
}

/** A running emulator, clients and activities for one test file. */
export interface Tier {
  emulator: RunningEmulator;
  url: string;
  aws: TierClients;
  activities: ReturnType<typeof createActivities>;
  /** A fresh attempt (a mock context); `info` sets e.g. `attempt` and `heartbeatDetails` of a retry. */
  attempt(info?: Partial<Info>): Attempt;
  /** Calls the emulator served, oldest first. */
  calls(filter?: { operation?: string; target?: string; service?: string }): Promise<CallRecord[]>;
  /** Stack operations and pipeline executions the emulator ran. */
  operations(filter?: { kind?: 'stack' | 'pipeline'; target?: string }): Promise<OperationRecord[]>;
  /** Adds fault rules. */
  fault(rule: FaultInput | FaultInput[]): Promise<void>;
  /** Removes every fault rule. */
  clearFaults(): Promise<void>;
  /** Queues outcomes of coming stack operations (delay, failure, end state). */
  planStacks(plan: StackPlan | StackPlan[]): Promise<void>;
  /** Queues outcomes of a pipeline's coming executions. */
  planExecutions(pipelineName: string, plan: ExecutionPlan | ExecutionPlan[]): Promise<void>;
  /** Sets the emulator's timing (the returned function puts the old one back). */
  timing(timing: Partial<EmulatorTiming>): Promise<() => Promise<void>>;
  /** An environment's pipeline as a first sync leaves it (app 1.0.0), made by the activities; returns its first execution's id once that has ended. */
  firstSync(environment: string): Promise<string>;
  /** A pipeline's executions, newest first. */
  executions(pipelineName: string): Promise<PipelineExecutionSummary[]>;
  close(): Promise<void>;
}

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const logger = new DefaultLogger('ERROR');

/** Starts the emulator (fast timing), creates the artifact bucket and builds the activities. */
export async function startTier(options: Partial<Omit<ActivityDependencies, 'aws'>> = {}): Promise<Tier> {
  const emulator = await startTestEmulator();
  const config = { endpoint: emulator.url, region: REGION, credentials, maxAttempts: 1 };
  const aws: TierClients = {
    cfn: new CloudFormationClient(config),
    cp: new CodePipelineClient(config),
    s3: new S3Client({ ...config, forcePathStyle: true }),
  };
  await aws.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const clients: AwsClients = { cloudFormation: () => aws.cfn, codePipeline: () => aws.cp, s3: () => aws.s3 };
  const activities = createActivities({
    aws: clients,
    policy: { protectedEnvironments: ['prod'], approvalWindowMs: 60_000, allowSelfApproval: false, selfHealEnvironments: [] },
    timing: { minMs: 40, maxMs: 150 },
    defaultRegion: REGION,
    ...options,
  });
  const query = (filter: Record<string, string | undefined>) =>
    new URLSearchParams(Object.entries(filter).filter((e): e is [string, string] => e[1] !== undefined)).toString();
  return {
    emulator,
    url: emulator.url,
    aws,
    activities,
    attempt: (info) => newAttempt(info),
    async calls(filter = {}) {
      return (await control<{ calls: CallRecord[] }>(emulator.url, 'GET', `/calls?${query(filter)}`)).calls;
    },
    async operations(filter = {}) {
      return (await control<{ operations: OperationRecord[] }>(emulator.url, 'GET', `/operations?${query(filter)}`)).operations;
    },
    async fault(rule) {
      await control(emulator.url, 'POST', '/faults', rule);
    },
    async clearFaults() {
      await control(emulator.url, 'DELETE', '/faults');
    },
    async planStacks(plan) {
      await control(emulator.url, 'POST', '/stacks/next-operations', plan);
    },
    async planExecutions(pipelineName, plan) {
      await control(emulator.url, 'POST', `/pipelines/${encodeURIComponent(pipelineName)}/next-executions`, plan);
    },
    async firstSync(environment) {
      const change = pipelineChange(environment, '1-sync');
      const pipelineName = `cfn-gitops-${environment}`;
      await newAttempt().run(activities.publishSource, { environment, region: REGION, bucket: BUCKET, environmentTemplate: ENVIRONMENT_TEMPLATE });
      await newAttempt().run(activities.createStack, change);
      await newAttempt().run(activities.waitForStack, { environment, region: REGION, stackName: change.stackName, operation: 'create' as const });
      const first = await newAttempt().run(activities.findInitialExecution, { environment, region: REGION, pipelineName });
      await executionSettled(aws.cp, pipelineName, first);
      return first;
    },
    async executions(pipelineName) {
      return (await aws.cp.send(new ListPipelineExecutionsCommand({ pipelineName }))).pipelineExecutionSummaries ?? [];
    },
    async timing(timing) {
      const before = await control<EmulatorTiming>(emulator.url, 'GET', '/timing');
      await control(emulator.url, 'PUT', '/timing', timing);
      return async () => {
        await control(emulator.url, 'PUT', '/timing', before);
      };
    },
    async close() {
      aws.cfn.destroy();
      aws.cp.destroy();
      aws.s3.destroy();
      await emulator.close();
    },
  };
}

/** An environment's pipeline stack as `stackChange` in workflows/deployment.ts builds it. */
export function pipelineChange(environment: string, key: string, appVersion = '1.0.0', overrides: Partial<StackChange> = {}): StackChange {
  return {
    environment,
    region: REGION,
    stackName: `cfn-gitops-${environment}-pipeline`,
    templateBody: PIPELINE_TEMPLATE,
    parameters: { EnvironmentName: environment, PipelineName: `cfn-gitops-${environment}`, EnvironmentStackName: `cfn-gitops-${environment}`, AppVersion: appVersion, ArtifactBucket: BUCKET },
    requiredParameters: [],
    requestKey: `cfn-gitops/${environment}/${key}`,
    ignoreForUpdate: ['AppVersion'],
    ...overrides,
  };
}

/** A mock activity context; a cancelled one stays cancelled, so each attempt gets its own. */
export function newAttempt(info?: Partial<Info>): Attempt {
  const env = new MockActivityEnvironment(info, { logger });
  const heartbeats: unknown[] = [];
  env.on('heartbeat', (details: unknown) => heartbeats.push(details));
  return {
    env,
    heartbeats,
    run<A extends unknown[], R>(activity: (...args: A) => Promise<R>, ...args: A): Promise<R> {
      return env.run(activity, ...args);
    },
  };
}

/** The error a promise rejects with; fails the test when it resolves. */
export async function rejection(run: Promise<unknown>): Promise<unknown> {
  return run.then(
    (value) => {
      throw new Error(`expected a failure, got ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );
}

/** The ApplicationFailure an activity ends with; fails the test on success or another error. */
export async function failure(run: Promise<unknown>): Promise<ApplicationFailure> {
  const error = await rejection(run);
  expect(error).toBeInstanceOf(ApplicationFailure);
  return error as ApplicationFailure;
}

/** The cancellation an activity rethrows; fails the test on success or another error. */
export async function cancellation(run: Promise<unknown>): Promise<CancelledFailure> {
  const error = await rejection(run);
  expect(error).toBeInstanceOf(CancelledFailure);
  return error as CancelledFailure;
}

/** Each AWS error of a kind the emulator can answer with, and the failure type it must become. */
export interface ErrorCase {
  code: string;
  status: number;
  message: string;
  type: string;
  nonRetryable: boolean;
}

/** CodePipeline's error classes, as AWS sends them, and what a start makes of each. */
export const CODEPIPELINE_ERRORS: ErrorCase[] = [
  { code: 'ThrottlingException', status: 400, message: 'Rate exceeded', type: 'AwsThrottled', nonRetryable: false },
  { code: 'InternalServerException', status: 500, message: 'Internal server error', type: 'AwsUnavailable', nonRetryable: false },
  { code: 'ServiceUnavailableException', status: 503, message: 'Service Unavailable', type: 'AwsUnavailable', nonRetryable: false },
  { code: 'AccessDeniedException', status: 400, message: 'User is not authorized to perform: codepipeline:StartPipelineExecution', type: 'AccessDenied', nonRetryable: true },
  { code: 'UnrecognizedClientException', status: 400, message: 'The security token included in the request is invalid.', type: 'AccessDenied', nonRetryable: true },
  { code: 'ConcurrentPipelineExecutionsLimitExceededException', status: 400, message: 'The pipeline has reached the limit for concurrent pipeline executions.', type: 'AwsError', nonRetryable: true },
];

/** S3's error classes, as AWS sends them, and what an upload makes of each. */
export const S3_ERRORS: ErrorCase[] = [
  { code: 'SlowDown', status: 503, message: 'Please reduce your request rate.', type: 'AwsThrottled', nonRetryable: false },
  { code: 'InternalError', status: 500, message: 'We encountered an internal error. Please try again.', type: 'AwsUnavailable', nonRetryable: false },
  { code: 'ServiceUnavailable', status: 503, message: 'Service is unable to handle request.', type: 'AwsUnavailable', nonRetryable: false },
  { code: 'AccessDenied', status: 403, message: 'Access Denied', type: 'AccessDenied', nonRetryable: true },
  { code: 'ExpiredToken', status: 400, message: 'The provided token has expired.', type: 'AccessDenied', nonRetryable: true },
  { code: 'AllAccessDisabled', status: 403, message: 'All access to this object has been disabled', type: 'AccessDenied', nonRetryable: true },
  { code: 'EntityTooLarge', status: 400, message: 'Your proposed upload exceeds the maximum allowed size', type: 'AwsError', nonRetryable: true },
];
