import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { RolloutState, SupersedeRequest } from './rollout';
import type {
  ApprovalDecision,
  CancelRequest,
  DecisionResult,
  DeployPhase,
  DesiredState,
  EnvironmentState,
  FreezeRequest,
  SubmitResult,
  UnfreezeRequest,
  SyncReport,
  WatchAnswer,
  WatchRequest,
} from './types';

/**
 * Messages of the environment workflow. They live here so that the CLI and the API server
 * talk to workflows without importing workflow code.
 */

/** Workflow type names, for clients that start workflows by name. */
export const WorkflowType = {
  Environment: 'environmentWorkflow',
  Deployment: 'deploymentWorkflow',
  DriftSweep: 'driftSweepWorkflow',
  TemplateStore: 'templateStoreWorkflow',
  Rollout: 'rolloutWorkflow',
} as const;

/** Arguments of the environment workflow: one per environment, id `cfn-gitops/<env>`. */
export interface EnvironmentWorkflowInput {
  environment: string;
  /** State carried over by continue-as-new. */
  carried?: EnvironmentState;
  /** The request waiting to run, carried over by continue-as-new. */
  carriedPending?: DesiredState;
  /** The last sync request taken (what self-heal deploys again), carried over by continue-as-new. */
  carriedLastRequest?: DesiredState;
  /** Continue as new when idle past this many history events (default 500; 2,000 for runs begun before that); tests set it low. */
  continueAsNewAfterEvents?: number;
}

/**
 * Failure type of a `submit` refused because another commit was taken since the starter read
 * the environment (compare-and-set on `follows`); its details hold that commit's SHA.
 */
export const ORDER_CONFLICT = 'OrderConflict';

/** A new desired state; the answer says whether it was taken, is a duplicate or is stale. */
export const submitUpdate = defineUpdate<SubmitResult, [DesiredState]>('submit');
/** The same as {@link submitUpdate} for callers that cannot wait for an answer (signal-with-start). */
export const desiredStateSignal = defineSignal<[DesiredState]>('desiredState');

/** Approve what waits; refused when the version is not what waits or the approver wrote the commit. */
export const approveUpdate = defineUpdate<DecisionResult, [ApprovalDecision]>('approve');
export const approveSignal = defineSignal<[ApprovalDecision]>('approve');
/** Reject what waits: it ends as Rejected with AWS untouched. */
export const rejectUpdate = defineUpdate<DecisionResult, [ApprovalDecision]>('reject');
export const rejectSignal = defineSignal<[ApprovalDecision]>('reject');
/** Stop what runs or waits: a running pipeline execution is stopped and waited for. */
export const cancelUpdate = defineUpdate<DecisionResult, [CancelRequest]>('cancel');
export const cancelSignal = defineSignal<[CancelRequest]>('cancel');

/**
 * `cfn-gitops freeze`: what runs finishes, nothing new starts (requests wait in phase Frozen, the
 * newest replacing older ones) until {@link unfreezeUpdate} or the freeze's `until`.
 */
export const freezeUpdate = defineUpdate<DecisionResult, [FreezeRequest]>('freeze');
/** `cfn-gitops unfreeze`: lifts a freeze set by {@link freezeUpdate} (freeze windows of the settings stay). */
export const unfreezeUpdate = defineUpdate<DecisionResult, [UnfreezeRequest]>('unfreeze');

/** The drift sweep's finding for this environment. */
export const syncStatusSignal = defineSignal<[SyncReport]>('syncStatus');
/** Self-heal: deploy the desired state again (approval still applies to protected environments). */
export const healSignal = defineSignal<[{ reason: string }]>('heal');

/** A deployment child tells its environment workflow where it stands. */
export interface DeploymentProgress {
  number: number;
  phase: DeployPhase;
  pipelineExecutionId?: string;
}
export const deploymentProgressSignal = defineSignal<[DeploymentProgress]>('deploymentProgress');

/**
 * Waits on one request (`start --wait`): answered when the request has ended, or, with
 * `seenPhases`, at its next phase; `continuing` when the run continues as new before either
 * (ask again). Refused with the failure type {@link WATCH_REFUSED} when the request is malformed,
 * and with {@link WATCH_BUSY} when as many watches as the workflow lets wait are waiting; a
 * workflow on a build without this Update refuses it with another type (the SDK's `Error`). For
 * all but WATCH_REFUSED the caller polls {@link stateQuery} instead.
 */
export const watchRequestUpdate = defineUpdate<WatchAnswer, [WatchRequest]>('watchRequest');
/** Failure type of a {@link watchRequestUpdate} refused for its input. */
export const WATCH_REFUSED = 'WatchRefused';
/**
 * Failure type of a {@link watchRequestUpdate} refused because the workflow already holds as many
 * waiting watches as it lets wait: Temporal lets a workflow hold 10 Updates in flight, and a
 * push's submit must always find room among them.
 */
export const WATCH_BUSY = 'WatchBusy';

/** The environment's state: phase, desired and applied versions, approval, history, sync. */
export const stateQuery = defineQuery<EnvironmentState>('state');

/** The rollout workflow's state: the wave running, each environment's status, why it halted. */
export const rolloutStateQuery = defineQuery<RolloutState>('rolloutState');
/** A newer push supersedes the rollout: its waves not started yet end Halted. */
export const supersedeRolloutSignal = defineSignal<[SupersedeRequest]>('supersede');
