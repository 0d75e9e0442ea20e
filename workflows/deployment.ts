import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  patched,
  proxyActivities,
  type ActivityOptions,
  type RetryPolicy,
  setCurrentDetails,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { StackChange, StackInfo, StackInspection } from '../activities/cloudformation';
import type { ExecutionOutcome } from '../activities/codepipeline';
import type { StoredTemplate } from '../activities/templates';
import { NON_RETRYABLE_ERROR_TYPES } from '../common/errors';
import { deploymentProgressSignal } from '../common/messages';
import { environmentStackName, pipelineName, pipelineStackName } from '../common/names';
import { DEPLOY_PHASE } from '../common/search-attributes';
import { stackReady } from '../common/stack-status';
import { Action, DeployPhase, type DesiredState } from '../common/types';

/** Arguments of one deployment, started by the environment workflow as its child. */
export interface DeploymentInput {
  desired: DesiredState;
  /** The deployment's number in its environment. */
  number: number;
  region: string;
  /** The environment workflow to report progress to. */
  parentWorkflowId: string;
  /**
   * The sync's first step when the environment workflow took it in its own task: what it found
   * and did (the source published, the pipeline stack inspected and, when it stood ready, the
   * execution started), or the failure AWS gave for good, which this deployment fails with.
   * Absent in deployments started before, and when the step failed there in a way worth
   * retrying: the deployment takes it again.
   */
  begun?: SyncBeginning | { failure: { type?: string; message: string } };
}

/** What the sync's first step (`beginSync`) found and did. */
export type SyncBeginning = Awaited<ReturnType<Activities['beginSync']>>;

/** What a successful deployment leaves behind. */
export interface DeploymentOutcome {
  pipelineExecutionId?: string;
  /** `AppVersion` of the environment stack afterwards; undefined after a delete. */
  deployedVersion?: string;
  message: string;
}

const retry: RetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '30s',
  maximumAttempts: 12,
  nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
};

/**
 * Single AWS calls: one or two requests with the SDK's own retries take seconds; a worker that
 * died holding one is noticed when this runs out. A cancelled deployment waits for the call in
 * hand to end, so that no call it made lands in AWS after it (and after the delete that won).
 */
const AWS_CALL: ActivityOptions = { startToCloseTimeout: '30 seconds', retry, cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED };
/** Single AWS calls, each with the one-line summary the Temporal UI shows beside it. */
function aws(summary: string) {
  return proxyActivities<Activities>({ ...AWS_CALL, summary });
}
/**
 * Waits of histories recorded before {@link POLL_BETWEEN_ATTEMPTS_PATCH}: long, polling in place
 * and heartbeating at least every 2 s, resumed from their last heartbeat after a worker crash.
 */
const WAIT: ActivityOptions = { startToCloseTimeout: '4 hours', heartbeatTimeout: '10 seconds', retry: { ...retry, maximumAttempts: 50 } };
/**
 * Waits that poll once per activity attempt: the retry policy is the poll interval (each
 * attempt that finds the operation still running fails with StillWaiting and the next delay),
 * so a waiting deployment holds no worker slot while it sleeps, and its history gains no event
 * per poll. A worker that dies during a poll is noticed when the attempt's short timeout ends.
 */
const POLL: ActivityOptions = {
  startToCloseTimeout: '15 seconds',
  scheduleToCloseTimeout: '24 hours',
  retry: { ...retry, maximumAttempts: Number.POSITIVE_INFINITY },
};
/** Marks histories whose waits poll between attempts (recorded before: polling in place, heartbeating). */
const POLL_BETWEEN_ATTEMPTS_PATCH = 'waits-poll-between-attempts';

type Waits = Pick<Activities, 'waitForStack' | 'findInitialExecution' | 'waitForPipelineExecution' | 'waitForExecutionToSettle'>;

/** Waits, each with its summary in the Temporal UI. */
function waits(summary: string): Waits {
  if (!inForce(POLL_BETWEEN_ATTEMPTS_PATCH)) return proxyActivities<Activities>({ ...WAIT, summary });
  const polls = proxyActivities<Activities>({ ...POLL, summary });
  return {
    waitForStack: (ref) => polls.waitForStack({ ...ref, betweenAttempts: true }),
    findInitialExecution: (ref) => polls.findInitialExecution({ ...ref, betweenAttempts: true }),
    waitForPipelineExecution: (ref) => polls.waitForPipelineExecution({ ...ref, betweenAttempts: true }),
    waitForExecutionToSettle: (ref) => polls.waitForExecutionToSettle({ ...ref, betweenAttempts: true }),
  };
}

/**
 * Marks histories whose sync publishes, inspects and starts in one activity when the pipeline
 * stack stands ready, and whose progress signals are not awaited (recorded before: one activity
 * each, each signal awaited).
 */
const FAST_SYNC_PATCH = 'fast-sync-path';

/**
 * Marks histories whose deployed version is the AppVersion variable of the execution that
 * succeeded (recorded before: a DescribeStacks of the environment stack after every deployment).
 */
const VERSION_FROM_EXECUTION_PATCH = 'deployed-version-from-execution';

/** Attempts to get a stack out of a stuck state before giving up. */
const MAX_RECOVERIES = 3;

/**
 * Waits for a stack operation this deployment started, to its end even when the deployment is
 * cancelled: whatever comes next on the environment (a delete that wins) must not meet it half-way.
 */
function ownStackOperation(ref: Parameters<Activities['waitForStack']>[0]): Promise<StackInfo | null> {
  return CancellationScope.nonCancellable(() => waits(`wait for ${ref.stackName} (${ref.operation})`).waitForStack(ref));
}

/**
 * One deployment: brings an environment's stacks and pipeline to one desired state and waits
 * for the outcome. Its id is stable for the desired state, so a retried start runs it once.
 * Failures carry the environment, the AWS call and AWS's reason; cancellation stops a running
 * pipeline execution and waits for it before it is rethrown.
 */
export async function deploymentWorkflow(input: DeploymentInput): Promise<DeploymentOutcome> {
  const { desired } = input;
  const progress = new Progress(input);
  try {
    return await (desired.action === Action.Delete ? deleteEnvironment(input, progress) : syncEnvironment(input, progress));
  } catch (error) {
    throw explained(error);
  } finally {
    // Signals sent along the way end before the deployment does.
    await progress.delivered();
  }
}

/**
 * An activity's failure raised to the top, so that the workflow's own failure (what the
 * Temporal UI shows first) reads "env: call target: AWS's reason", not "Activity task failed".
 */
function explained(error: unknown): unknown {
  if (!(error instanceof ActivityFailure) || !(error.cause instanceof ApplicationFailure)) return error;
  const { type, message, details } = error.cause;
  return ApplicationFailure.create({ type: type ?? undefined, message, details: details ?? undefined, nonRetryable: true, cause: error });
}

/**
 * Marks histories whose first phase comes from the environment workflow (it starts the deployment
 * with it) and whose last one from the deployment's result: neither is signalled (recorded
 * before: a progress signal and a search attribute upsert for each).
 */
export const LEAN_PROGRESS_PATCH = 'lean-deployment-progress';

/**
 * Marks deployments begun with the four patches of this file in force: one marker where each
 * patch recorded its own, and each marker came with an upsert of TemporalChangeVersion (an event
 * and a visibility write), so the four cost a deployment eight events. A deployment recorded
 * before it, or begun by a worker that does not know it, has no such marker and asks each patch.
 */
const FOUR_PATCHES_PATCH = 'deployment-patches-in-one';

/** The patches {@link FOUR_PATCHES_PATCH} stands for; one added later is asked with `patched()` alone. */
type CoveredPatch = typeof POLL_BETWEEN_ATTEMPTS_PATCH | typeof FAST_SYNC_PATCH | typeof VERSION_FROM_EXECUTION_PATCH | typeof LEAN_PROGRESS_PATCH;

/** Whether a covered patch is in force in this deployment. */
function inForce(patch: CoveredPatch): boolean {
  return patched(FOUR_PATCHES_PATCH) || patched(patch);
}

/** The phase a deployment begins in; the environment workflow starts it with this phase. */
export function firstPhase(action: Action): DeployPhase {
  return action === Action.Delete ? DeployPhase.DeletingEnvironment : DeployPhase.PublishingSource;
}

/** Where a phase stands in a deployment: its first and last are known to the parent without a signal. */
type PhaseKind = 'first' | 'middle' | 'last';

class Progress {
  pipelineExecutionId?: string;
  /** Progress signals on their way (not awaited one by one). */
  private readonly sending: Promise<void>[] = [];
  private readonly lean = inForce(LEAN_PROGRESS_PATCH);
  constructor(private readonly input: DeploymentInput) {}

  /** Resolves once every progress signal sent so far has been delivered or has failed. */
  async delivered(): Promise<void> {
    await Promise.allSettled(this.sending);
  }

  async to(phase: DeployPhase, detail?: string, kind: PhaseKind = 'middle'): Promise<void> {
    const { desired, number } = this.input;
    log.info('deployment phase', { environment: desired.environment, phase, detail });
    // The first phase is the one the deployment was started with; the parent set it too.
    const known = this.lean && kind === 'first';
    if (!known) upsertSearchAttributes([{ key: DEPLOY_PHASE, value: phase }]);
    setCurrentDetails(
      [`**${phase}**${detail ? ` ${detail}` : ''}`, `commit ${desired.commit.sha.slice(0, 7)}: ${desired.commit.message.split('\n')[0]}`]
        .concat(this.pipelineExecutionId ? [`pipeline execution \`${this.pipelineExecutionId}\``] : [])
        .join('\n\n'),
    );
    // The parent learns the last phase from the deployment's result.
    if (known || (this.lean && kind === 'last')) return;
    const sent = getExternalWorkflowHandle(this.input.parentWorkflowId).signal(deploymentProgressSignal, {
      number,
      phase,
      pipelineExecutionId: this.pipelineExecutionId,
    });
    if (inForce(FAST_SYNC_PATCH)) {
      // Progress is informative: the deployment goes on while it is delivered, in order.
      this.sending.push(sent.catch((error: unknown) => log.warn('progress signal not delivered', { error: String(error) })));
      return;
    }
    try {
      await sent;
    } catch (error) {
      // Progress is informative: a parent that is gone must not fail the deployment.
      if (isCancellation(error)) throw error;
      log.warn('progress signal not delivered', { error: String(error) });
    }
  }
}

/**
 * The pipeline stack as a desired state wants it; the approval gate previews the same change.
 * Its request key is the deployment's workflow id and `key`, so that whoever makes the call, the
 * environment workflow or the deployment, AWS sees one request.
 */
export function stackChange(input: Pick<DeploymentInput, 'desired' | 'region'>, key: string, workflowId = workflowInfo().workflowId): StackChange {
  const { desired, region } = input;
  const { environment, settings, config, templates, templateRefs } = desired;
  const parameters: Record<string, string> = {
    ...config!.parameters,
    EnvironmentName: environment,
    PipelineName: pipelineName(settings, environment),
    EnvironmentStackName: environmentStackName(settings, environment),
    AppVersion: config!.appVersion,
    ArtifactBucket: settings.artifactBucket,
    ...(config!.artifact?.bucket ? { ArtifactSourceBucket: config!.artifact.bucket } : {}),
    ...(config!.artifact?.key ? { ArtifactKey: config!.artifact.key } : {}),
    ...(config!.artifact?.image ? { ArtifactImage: config!.artifact.image } : {}),
  };
  return {
    environment,
    region,
    stackName: pipelineStackName(settings, environment),
    // By hash when `start` stored it (CloudFormation reads it from S3); as a body in older histories.
    ...(templateRefs ? { template: { ...templateRefs.pipeline, bucket: settings.artifactBucket } } : { templateBody: templates!.pipeline }),
    parameters,
    requiredParameters: Object.keys(config!.parameters),
    requestKey: `${workflowId}/${key}`,
    ignoreForUpdate: ['AppVersion'],
  };
}

/** The environment template for the source upload: by hash, or as a body in older histories. */
function environmentTemplate(desired: DesiredState): { environmentTemplate: string } | { environmentTemplateRef: StoredTemplate } {
  const { templateRefs, templates, settings } = desired;
  return templateRefs ? { environmentTemplateRef: { ...templateRefs.environment, bucket: settings.artifactBucket } } : { environmentTemplate: templates!.environment };
}

/** The input of the sync's first step (`beginSync`): `change` is the deployment's pipeline stack change. */
export function syncBeginning(desired: DesiredState, change: StackChange): Parameters<Activities['beginSync']>[0] {
  return {
    change,
    bucket: desired.settings.artifactBucket,
    ...environmentTemplate(desired),
    pipelineName: pipelineName(desired.settings, desired.environment),
    appVersion: desired.config!.appVersion,
  };
}

/** What the sync's first step found and did, when the environment workflow took it; undefined when it failed there. */
export function begunSync(begun: DeploymentInput['begun']): SyncBeginning | undefined {
  return begun && 'inspection' in begun ? begun : undefined;
}

async function syncEnvironment(input: DeploymentInput, progress: Progress): Promise<DeploymentOutcome> {
  const { desired, region } = input;
  const { environment, settings } = desired;
  const appVersion = desired.config!.appVersion;
  const name = pipelineName(settings, environment);

  // Begun with the execution started, the deployment starts in RunningPipeline (its first phase).
  const begun = begunSync(input.begun);
  if (begun?.executionId === undefined) await progress.to(DeployPhase.PublishingSource, undefined, 'first');
  if (input.begun && 'failure' in input.begun) throw ApplicationFailure.create({ ...input.begun.failure, nonRetryable: true });
  let change = stackChange(input, 'pipeline');
  let inspection: StackInspection;
  /** The execution the one-activity start began, when the pipeline stack stood ready. */
  let started: string | undefined;
  if (begun) {
    ({ inspection, executionId: started } = begun);
  } else if (inForce(FAST_SYNC_PATCH)) {
    ({ inspection, executionId: started } = await aws(`publish the source, inspect ${change.stackName}, start ${name} with app ${appVersion} if ready`).beginSync(syncBeginning(desired, change)));
  } else {
    await aws(`upload the environment template to s3://${settings.artifactBucket}`).publishSource({ environment, region, bucket: settings.artifactBucket, ...environmentTemplate(desired) });
    inspection = await aws(`inspect ${change.stackName}`).inspectStack(change);
  }
  for (let recovery = 1; started === undefined && inspection.stack && recovery <= MAX_RECOVERIES; recovery++) {
    const stack: StackInfo = inspection.stack;
    if (/_IN_PROGRESS$/.test(stack.status)) {
      // Someone else's operation: wait for it, then look again.
      await progress.to(DeployPhase.UpdatingPipeline, `waiting for ${stack.status}`);
      await waits(`wait for ${stack.stackName} (${stack.status})`).waitForStack({ environment, region, stackName: stack.stackName, operation: 'any' });
    } else if (stack.status === 'ROLLBACK_COMPLETE' || stack.status === 'ROLLBACK_FAILED') {
      // A failed create leaves a stack that can only be deleted; delete it and create it again.
      await progress.to(DeployPhase.CreatingPipeline, `deleting ${stack.status} stack first`);
      await aws(`delete ${stack.stackName} (${stack.status})`).deleteStack({ environment, region, stackName: stack.stackName, stackKind: 'pipeline', requestKey: `${change.requestKey}/recover-${recovery}` });
      await ownStackOperation({ environment, region, stackName: stack.stackName, operation: 'delete' });
      change = stackChange(input, `pipeline-recreate-${recovery}`);
    } else if (stack.status === 'UPDATE_ROLLBACK_FAILED') {
      await progress.to(DeployPhase.UpdatingPipeline, 'continuing the failed rollback');
      await aws(`continue the rollback of ${stack.stackName}`).continueUpdateRollback({ environment, region, stackName: stack.stackName, requestKey: `${change.requestKey}/recover-${recovery}` });
      await ownStackOperation({ environment, region, stackName: stack.stackName, operation: 'rollback' });
    } else {
      break;
    }
    inspection = await aws(`inspect ${change.stackName}`).inspectStack(change);
  }

  let executionId: string;
  if (started !== undefined) {
    executionId = started;
  } else if (!inspection.stack) {
    await progress.to(DeployPhase.CreatingPipeline);
    await aws(`create ${change.stackName}`).createStack(change);
    await ownStackOperation({ environment, region, stackName: change.stackName, operation: 'create' });
    // A new pipeline runs once by itself, with the version as its variable's default; found even
    // when cancelled, so that it can be stopped.
    executionId = await CancellationScope.nonCancellable(() => waits(`find the first execution of ${name}`).findInitialExecution({ environment, region, pipelineName: name }));
  } else {
    if (!stackReady(inspection.stack.status)) {
      throw ApplicationFailure.create({
        type: 'StackFailed',
        nonRetryable: true,
        message: `${environment}: pipeline stack ${change.stackName} stays in ${inspection.stack.status} after ${MAX_RECOVERIES} recoveries; fix it in CloudFormation and push again`,
      });
    }
    if (inspection.needsUpdate) {
      await progress.to(DeployPhase.UpdatingPipeline);
      if (await aws(`update ${change.stackName}`).updateStack(change)) {
        await ownStackOperation({ environment, region, stackName: change.stackName, operation: 'update' });
      }
    }
    await progress.to(DeployPhase.StartingPipeline);
    executionId = await aws(`start ${name} with app ${appVersion}`).startPipelineExecution({ environment, region, pipelineName: name, appVersion, requestKey: change.requestKey });
  }

  progress.pipelineExecutionId = executionId;
  let outcome: ExecutionOutcome;
  try {
    await progress.to(DeployPhase.RunningPipeline, `app ${appVersion}`, begun?.executionId === undefined ? 'middle' : 'first');
    outcome = await waits(`wait for execution ${executionId} of ${name}`).waitForPipelineExecution({ environment, region, pipelineName: name, executionId });
  } catch (error) {
    if (isCancellation(error)) {
      await CancellationScope.nonCancellable(async () => {
        await progress.to(DeployPhase.StoppingPipeline);
        await aws(`stop execution ${executionId}`).stopPipelineExecution({ environment, region, pipelineName: name, executionId, reason: 'cancelled in cfn-gitops', abandon: false });
        await waits(`wait for execution ${executionId} to stop`).waitForExecutionToSettle({ environment, region, pipelineName: name, executionId });
      });
    }
    throw error;
  }
  // The version the succeeded execution ran with is what its deploy action gave the environment
  // stack: one call fewer per deployment. Without the variable (and in histories recorded before
  // the patch), the stack's parameter is read.
  const ran = inForce(VERSION_FROM_EXECUTION_PATCH) ? outcome.appVersion : undefined;
  const deployedVersion =
    ran ??
    (await aws(`read the deployed AppVersion of ${environmentStackName(settings, environment)}`).describeStack({ environment, region, stackName: environmentStackName(settings, environment) }))?.parameters
      .AppVersion;
  await progress.to(DeployPhase.Succeeded, `app ${deployedVersion ?? appVersion}`, 'last');
  return { pipelineExecutionId: executionId, deployedVersion, message: `${environment}: app ${appVersion} deployed by execution ${executionId}` };
}

async function deleteEnvironment(input: DeploymentInput, progress: Progress): Promise<DeploymentOutcome> {
  const { desired, region } = input;
  const { environment, settings } = desired;
  const requestKey = workflowInfo().workflowId;
  // Which stack is which decides how its ownership is checked (the pipeline creates the environment stack untagged).
  const stacks: [DeployPhase, string, 'environment' | 'pipeline'][] = [
    [DeployPhase.DeletingEnvironment, environmentStackName(settings, environment), 'environment'],
    [DeployPhase.DeletingPipeline, pipelineStackName(settings, environment), 'pipeline'],
  ];
  for (const [phase, stackName, stackKind] of stacks) {
    await progress.to(phase, stackName, phase === firstPhase(Action.Delete) ? 'first' : 'middle');
    await deleteStackPatiently({ environment, region, stackName, stackKind, requestKey: `${requestKey}/${stackName}` });
  }
  await progress.to(DeployPhase.Deleted, undefined, 'last');
  return { message: `${environment}: environment and pipeline stacks deleted` };
}

/** DELETE_FAILED is often transient (a dependency still draining): try again before reporting. */
async function deleteStackPatiently(ref: { environment: string; region: string; stackName: string; stackKind: 'environment' | 'pipeline'; requestKey: string }): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await aws(`delete ${ref.stackName}`).deleteStack({ ...ref, requestKey: `${ref.requestKey}/${attempt}` });
    try {
      await waits(`wait for ${ref.stackName} to be deleted`).waitForStack({ ...ref, operation: 'delete' });
      return;
    } catch (error) {
      if (attempt >= MAX_RECOVERIES || isCancellation(error)) throw error;
      log.warn('stack delete failed; trying again', { stackName: ref.stackName, attempt });
    }
  }
}
