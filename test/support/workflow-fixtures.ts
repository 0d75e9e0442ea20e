/**
 * Builders for workflow tests: desired states as the starter sends them, and a small fake of
 * the AWS side whose activities are `jest.fn`s typed as the real ones.
 */
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import type { Activities } from '../../activities';
import type { ExecutionOutcome } from '../../activities/codepipeline';
import type { StackInfo } from '../../activities/cloudformation';
import { ErrorType } from '../../common/errors';
import { Action, type DesiredState, type EnvironmentConfig, type RepoSettings } from '../../common/types';
import { TEMPLATES } from './fixtures';

/** Repo settings every test repo uses. */
export const SETTINGS: RepoSettings = { stackPrefix: 'cfn-gitops-', artifactBucket: 'b', protectedEnvironments: [] };

/** The commit's author unless a test names another. */
export const AUTHOR = { name: 'Dev Eloper', email: 'dev@example.com' };

/** Approval window of protected environments in these tests (the default policy: 7 days). */
export const APPROVAL_WINDOW_MS = 7 * 24 * 60 * 60 * 1000;

export interface DesiredOptions {
  /** Short SHA; padded to 40 characters. */
  sha: string;
  generation: number;
  /** Sync only. */
  appVersion?: string;
  action?: Action;
  author?: { name: string; email: string };
  repoProtected?: boolean;
  reason?: string;
  /** More of the repo settings (`freeze`, …). */
  settings?: Partial<RepoSettings>;
  /** Sync only: more of the config (`expires`, `ttl`, …). */
  config?: Partial<EnvironmentConfig>;
}

/** A desired state for one environment at one commit, as `cfn-gitops start` builds it. */
export function desiredState(environment: string, options: DesiredOptions): DesiredState {
  const action = options.action ?? Action.Sync;
  const sha = options.sha.padEnd(40, '0');
  return {
    environment,
    action,
    commit: {
      sha,
      generation: options.generation,
      author: options.author ?? AUTHOR,
      message: `${environment}: ${action === Action.Sync ? `app ${options.appVersion}` : 'remove'}`,
      date: '2024-05-01T12:00:00Z',
    },
    reason: options.reason ?? (action === Action.Sync ? 'config changed' : 'removed'),
    settings: options.settings ? { ...SETTINGS, ...options.settings } : SETTINGS,
    ...(action === Action.Sync
      ? {
          config: { appVersion: options.appVersion ?? '1.0.0', parameters: { InstanceType: 't3.micro' }, ...options.config },
          templates: { pipeline: TEMPLATES['common/pipeline.yaml']!, environment: TEMPLATES['common/environment.yaml']! },
        }
      : {}),
    repoProtected: options.repoProtected ?? false,
  };
}

/** The activities the environment and deployment workflows call. */
export type DeploymentActivityName =
  | 'getPolicy' | 'publishSource' | 'inspectStack' | 'createStack' | 'updateStack' | 'waitForStack' | 'deleteStack' | 'continueUpdateRollback'
  | 'describeStack' | 'findInitialExecution' | 'startPipelineExecution' | 'waitForPipelineExecution' | 'stopPipelineExecution' | 'waitForExecutionToSettle'
  | 'previewStackChanges' | 'beginSync';

/** Those activities, each a jest mock with the real one's signature. */
export type ActivityMocks = { [K in DeploymentActivityName]: jest.Mock<ReturnType<Activities[K]>, Parameters<Activities[K]>> };

/** How `inspectStack` finds the pipeline stack. */
export type PipelineStackState = 'absent' | 'unchanged' | 'needsUpdate';

/** A pipeline execution the test ends by hand; until then its wait heartbeats. */
export interface HeldExecution {
  executionId: string;
  succeed(): void;
  fail(message: string): void;
  /** Resolves once the waiting activity saw its cancellation. */
  readonly cancelled: Promise<void>;
}

/** A jest mock with the real activity's signature. */
function activity<K extends DeploymentActivityName>(_name: K, implementation: (...args: Parameters<Activities[K]>) => ReturnType<Activities[K]>): ActivityMocks[K] {
  return jest.fn(implementation) as ActivityMocks[K];
}

function stackInfo(stackName: string, parameters: Record<string, string> = {}): StackInfo {
  return { stackName, stackId: `arn:aws:cloudformation:us-east-1:123456789012:stack/${stackName}/1`, status: 'UPDATE_COMPLETE', parameters, outputs: {} };
}

/**
 * The AWS side of a workflow test. Pipeline executions succeed at once unless held; a
 * successful execution sets the environment stack's `AppVersion`.
 */
export class FakeAws {
  pipelineStack: PipelineStackState = 'unchanged';
  /** `AppVersion` of the environment stack, as `describeStack` reports it. */
  environmentVersion?: string;
  /** App version each execution runs. */
  private readonly executions = new Map<string, string>();
  private readonly held = new Map<string, { outcome: Promise<ExecutionOutcome>; sawCancel: () => void }>();
  readonly activities: ActivityMocks;

  constructor() {
    this.activities = {
      getPolicy: activity('getPolicy', async (input) => ({
        protected: input.environment === 'prod' || input.repoProtected,
        approvalWindowMs: APPROVAL_WINDOW_MS,
        allowSelfApproval: false,
        selfHeal: false,
        region: input.region ?? 'us-east-1',
      })),
      publishSource: activity('publishSource', async (input) => `s3://${input.bucket}/cfn-gitops/${input.environment}/source.zip`),
      inspectStack: activity('inspectStack', async (change) => {
        if (this.pipelineStack === 'absent') return { stack: null, needsUpdate: false };
        return { stack: stackInfo(change.stackName, change.parameters), needsUpdate: this.pipelineStack === 'needsUpdate' };
      }),
      createStack: activity('createStack', async (change) => {
        this.pipelineStack = 'unchanged';
        // The new pipeline runs once by itself with the version as its variable's default.
        this.executions.set(`initial-${change.parameters.AppVersion}`, change.parameters.AppVersion!);
        return stackInfo(change.stackName).stackId;
      }),
      updateStack: activity('updateStack', async () => {
        this.pipelineStack = 'unchanged';
        return true;
      }),
      waitForStack: activity('waitForStack', async (ref) => (ref.operation === 'delete' ? null : stackInfo(ref.stackName))),
      deleteStack: activity('deleteStack', async () => undefined),
      continueUpdateRollback: activity('continueUpdateRollback', async () => undefined),
      describeStack: activity('describeStack', async (ref) => stackInfo(ref.stackName, this.environmentVersion ? { AppVersion: this.environmentVersion } : {})),
      findInitialExecution: activity('findInitialExecution', async () => [...this.executions.keys()].find((id) => id.startsWith('initial-'))!),
      startPipelineExecution: activity('startPipelineExecution', async (ref) => {
        const executionId = `exec-${ref.appVersion}`;
        this.executions.set(executionId, ref.appVersion);
        return executionId;
      }),
      waitForPipelineExecution: activity('waitForPipelineExecution', async (ref) => {
        const held = this.held.get(ref.executionId);
        const outcome = held ? await heartbeatUntil(held.outcome, held.sawCancel) : { executionId: ref.executionId, status: 'Succeeded' };
        this.environmentVersion = this.executions.get(ref.executionId);
        return { ...outcome, appVersion: this.environmentVersion };
      }),
      stopPipelineExecution: activity('stopPipelineExecution', async () => undefined),
      waitForExecutionToSettle: activity('waitForExecutionToSettle', async () => 'Stopped'),
      // Made of the others, as the real one is: publish, inspect and, when the stack stands ready, start.
      beginSync: activity('beginSync', async (input) => {
        await this.activities.publishSource({ environment: input.change.environment, region: input.change.region, bucket: input.bucket, environmentTemplate: input.environmentTemplate });
        const inspection = await this.activities.inspectStack(input.change);
        if (!inspection.stack || inspection.needsUpdate) return { inspection };
        const executionId = await this.activities.startPipelineExecution({ environment: input.change.environment, region: input.change.region, pipelineName: input.pipelineName, appVersion: input.appVersion, requestKey: input.change.requestKey });
        return { inspection, executionId };
      }),
      previewStackChanges: activity('previewStackChanges', async (change) =>
        this.pipelineStack === 'absent' ? [`Add ${change.stackName}`] : this.pipelineStack === 'needsUpdate' ? ['Modify Pipeline (AWS::CodePipeline::Pipeline): Properties'] : [],
      ),
    };
  }

  /** Holds the execution that runs `appVersion` (started or initial) until the test ends it. */
  hold(appVersion: string, initial = false): HeldExecution {
    const executionId = `${initial ? 'initial' : 'exec'}-${appVersion}`;
    let succeed!: () => void;
    let fail!: (message: string) => void;
    const outcome = new Promise<ExecutionOutcome>((resolve, reject) => {
      succeed = () => resolve({ executionId, status: 'Succeeded' });
      fail = (message) => reject(ApplicationFailure.create({ type: ErrorType.PipelineFailed, nonRetryable: true, message }));
    });
    outcome.catch(() => undefined);
    let sawCancel!: () => void;
    const cancelled = new Promise<void>((resolve) => (sawCancel = resolve));
    this.held.set(executionId, { outcome, sawCancel });
    return { executionId, succeed, fail, cancelled };
  }

  /** Names of the activities called, in call order. */
  callOrder(): string[] {
    return Object.entries(this.activities)
      // beginSync is made of the others, which are listed themselves.
      .filter(([name]) => name !== 'beginSync')
      .flatMap(([name, mock]) => (mock as jest.Mock).mock.invocationCallOrder.map((order) => ({ name, order })))
      .sort((a, b) => a.order - b.order)
      .map(({ name }) => name);
  }
}

/** Heartbeats like the real wait until the outcome arrives or the activity is cancelled. */
async function heartbeatUntil(outcome: Promise<ExecutionOutcome>, sawCancel: () => void): Promise<ExecutionOutcome> {
  const context = Context.current();
  context.heartbeat('InProgress');
  const beat = setInterval(() => context.heartbeat('InProgress'), 50);
  try {
    return await Promise.race([outcome, context.cancelled]);
  } catch (error) {
    if (error instanceof CancelledFailure) sawCancel();
    throw error;
  } finally {
    clearInterval(beat);
  }
}
