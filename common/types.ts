import type { Expiry } from './expiry';
import type { FreezeWindow } from './freeze';
import type { TemplateRefs } from './templates';

/**
 * Plain data shared by the starter, the workflows, the activities and the server.
 * Enums are const objects so that they survive JSON and the workflow sandbox unchanged.
 */

/** What a push asks of one environment. */
export const Action = { Sync: 'sync', Delete: 'delete' } as const;
export type Action = (typeof Action)[keyof typeof Action];

/** Where a deployment stands; the `DeployPhase` search attribute holds one of these. */
export const DeployPhase = {
  Idle: 'Idle',
  Queued: 'Queued',
  WaitingForApproval: 'WaitingForApproval',
  /** Held by a freeze window or `cfn-gitops freeze` until it ends, is lifted, or an approval overrides it. */
  Frozen: 'Frozen',
  PublishingSource: 'PublishingSource',
  CreatingPipeline: 'CreatingPipeline',
  UpdatingPipeline: 'UpdatingPipeline',
  StartingPipeline: 'StartingPipeline',
  RunningPipeline: 'RunningPipeline',
  StoppingPipeline: 'StoppingPipeline',
  DeletingEnvironment: 'DeletingEnvironment',
  DeletingPipeline: 'DeletingPipeline',
  Succeeded: 'Succeeded',
  Failed: 'Failed',
  Cancelled: 'Cancelled',
  Rejected: 'Rejected',
  Expired: 'Expired',
  Deleted: 'Deleted',
} as const;
export type DeployPhase = (typeof DeployPhase)[keyof typeof DeployPhase];

/** Is what runs in AWS what git says? The `SyncStatus` search attribute holds one of these. */
export const SyncStatus = {
  Synced: 'Synced',
  OutOfSync: 'OutOfSync',
  Drifted: 'Drifted',
  Missing: 'Missing',
  Orphaned: 'Orphaned',
  Progressing: 'Progressing',
  Unknown: 'Unknown',
  /** Its `expires` or `ttl` passed: its stacks were deleted, and only a push that changes its config brings it back. */
  Expired: 'Expired',
} as const;
export type SyncStatus = (typeof SyncStatus)[keyof typeof SyncStatus];

/** How a desired state ended. */
export const DeploymentResult = {
  Succeeded: 'Succeeded',
  Failed: 'Failed',
  Cancelled: 'Cancelled',
  Rejected: 'Rejected',
  Expired: 'Expired',
  Superseded: 'Superseded',
} as const;
export type DeploymentResult = (typeof DeploymentResult)[keyof typeof DeploymentResult];

/** The environment workflow's answer to a submitted desired state. */
export const SubmitOutcome = {
  /** Taken: it runs now or next. */
  Accepted: 'accepted',
  /** The same commit and action is already applied, running or pending: nothing to do. */
  Duplicate: 'duplicate',
  /** Older than what is applied or pending (by ancestry on main): ignored. */
  Stale: 'stale',
  /** The environment expired and this request does not bring it back (same config, or a date that has passed too): ignored. */
  Expired: 'expired',
} as const;
export type SubmitOutcome = (typeof SubmitOutcome)[keyof typeof SubmitOutcome];

/** Repository-wide settings from `common/gitops.yaml`, with defaults filled in. */
export interface RepoSettings {
  /** Prefix of every stack and pipeline name, e.g. `cfn-gitops-`. */
  stackPrefix: string;
  /** Region the stacks live in; the worker's AWS_REGION when absent. */
  region?: string;
  /** S3 bucket that holds pipeline artifacts and the zipped environment template. */
  artifactBucket: string;
  /** Environments the repo protects in addition to the orchestrator's own list. */
  protectedEnvironments: string[];
  /**
   * Rollout waves: lists of environment names or patterns (`feature*`), deployed one wave after
   * another; environments no pattern matches form a last wave. Absent: no waves.
   */
  waves?: string[][];
  /** Wait between two waves, as written (`10m`); absent: none. */
  bake?: string;
  /**
   * Freeze windows the repo adds (`freeze:`), read as CFN_GITOPS_FREEZE's: they hold the
   * environments they name in phase Frozen alongside the orchestrator's, never lift one. Absent: none.
   */
  freeze?: FreezeWindow[];
}

/** A commit on main, as the starter read it from git. */
export interface CommitInfo {
  /** Full SHA. */
  sha: string;
  /**
   * Number of commits reachable from this one (`git rev-list --count`). Along main a descendant
   * always counts more than its ancestor, so the workflow can refuse going back without git.
   */
  generation: number;
  author: { name: string; email: string };
  /** Who made the commit object (`git commit` sets it from the writer's own git identity); absent in old histories. */
  committer?: { name: string; email: string };
  message: string;
  /** ISO-8601 commit time. */
  date: string;
}

/** An environment's config file, validated. */
export interface EnvironmentConfig {
  /** The application version to deploy: image tag, S3 key or version label. */
  appVersion: string;
  /** Where the artifact lives, for people and templates; passed as parameters when the template declares them. */
  artifact?: { bucket?: string; key?: string; image?: string };
  /** Parameters of `common/pipeline.yaml` (forwarded by it to the environment stack). */
  parameters: Record<string, string>;
  /** Extra protection: true asks for approval even where the orchestrator does not. */
  protected?: boolean;
  /** Approvals from distinct people a change needs: raises the orchestrator's count, never lowers it. */
  requiredApprovals?: number;
  /**
   * When the environment expires (ISO-8601; `2026-12-31` in the file is its 00:00 UTC): its
   * stacks are deleted and its status is Expired until a push brings it back.
   */
  expires?: string;
  /** Or: how long after its first deploy it expires, as written (`7d`, `12h`). */
  ttl?: string;
  /** Free-form description shown in status and the dashboard. */
  description?: string;
}

/** Everything a workflow needs to bring one environment to what one commit says. */
export interface DesiredState {
  environment: string;
  action: Action;
  commit: CommitInfo;
  /** Why the plan chose this action: "added", "config changed", "common/ changed", "removed", … */
  reason: string;
  settings: RepoSettings;
  /** Sync only: the validated config. */
  config?: EnvironmentConfig;
  /**
   * Sync only, as the planner gives it: template bodies from `common/`, so the worker needs no
   * git checkout. `start` stores them by hash and sends {@link templateRefs} instead; histories
   * recorded before that carry the bodies.
   */
  templates?: { pipeline: string; environment: string };
  /** Sync only: the `common/` templates by hash, stored in the artifact bucket by `start`. */
  templateRefs?: TemplateRefs;
  /** The repo asks for an approval gate (it can add protection, never remove it). */
  repoProtected: boolean;
  /** Set by drift self-heal: deploy again even though this commit was applied. */
  redeploy?: boolean;
  /**
   * Who pushed the commit: the push event's `pusher`/`sender`, or `GITHUB_ACTOR` in Actions.
   * Like the author and the committer, the pusher may not approve the change.
   */
  pushedBy?: string;
  /**
   * Compare-and-set for "no going back": the newest commit the starter found taken for this
   * environment and checked, by git ancestry, to be behind `commit` (null: none was taken).
   * The workflow accepts the request only while that is still its newest; absent, it falls
   * back to comparing `commit.generation` (old starters, signals, recorded histories).
   */
  follows?: string | null;
  /**
   * Set by the environment workflow on the delete it makes itself when the environment's
   * expiry passes: the rule that expired. Never sent by the starter.
   */
  expiring?: Expiry;
}

/** What the environment workflow answers to a submitted desired state. */
export interface SubmitResult {
  outcome: SubmitOutcome;
  message: string;
}

/** A decision on a pending approval. */
export interface ApprovalDecision {
  /** Person deciding; recorded in history and result. */
  by: string;
  /** The app version or commit (prefix of at least 7) the decision is about; refused if it is not what waits. */
  version?: string;
  comment?: string;
  /** `approve --override-freeze`: the deployment goes ahead through a freeze (window or `freeze`). */
  overrideFreeze?: boolean;
}

/** `cfn-gitops freeze`: nothing new starts in the environment until `unfreeze` (or `until`). */
export interface FreezeRequest {
  reason: string;
  by?: string;
  /** ISO-8601 time the freeze lifts by itself. */
  until?: string;
}

/** `cfn-gitops unfreeze`. */
export interface UnfreezeRequest {
  by?: string;
}

/** A freeze that holds the environment, as its state shows it. */
export interface FreezeState {
  /** `command`: `cfn-gitops freeze`; `window`: a freeze window of the settings. */
  source: 'command' | 'window';
  reason: string;
  by?: string;
  at?: string;
  /** When it lifts by itself; absent for a freeze that waits for `unfreeze`. */
  until?: string;
}

/** A request to stop what the environment is doing. */
export interface CancelRequest {
  by?: string;
  reason?: string;
}

/** The answer to approve, reject and cancel. */
export interface DecisionResult {
  environment: string;
  accepted: boolean;
  message: string;
}

/**
 * What `start --wait` waits on: one request of the environment, by commit and action. The
 * environment workflow answers once there is something new to say, so the starter asks again
 * after each answer instead of polling.
 */
export interface WatchRequest {
  /** The request's full commit SHA. */
  commit: string;
  action: Action;
  /**
   * How many of the request's phases the caller has seen: the answer comes with the first phase
   * after them, or at the end. Absent: answer only when the request has ended.
   */
  seenPhases?: number;
}

/** How the environment workflow answers a {@link WatchRequest}. */
export const WatchOutcome = {
  /** The request has ended (now, or before the watch arrived): `result` and `message` say how. */
  Ended: 'ended',
  /** The request went through new phases; ask again with the phases seen. */
  Phases: 'phases',
  /** This run is about to continue as new: ask again, the next run answers. */
  Continuing: 'continuing',
  /** The environment holds no such request (never taken, or past its bounded history). */
  Unknown: 'unknown',
} as const;
export type WatchOutcome = (typeof WatchOutcome)[keyof typeof WatchOutcome];

/** One phase a request went through. */
export interface PhaseStep {
  phase: DeployPhase;
  /** The pipeline execution the phase is about, once there is one. */
  pipelineExecutionId?: string;
}

/** The environment workflow's answer to a {@link WatchRequest}. */
export interface WatchAnswer {
  outcome: WatchOutcome;
  /** The request's phases the caller has not seen, oldest first (this run's only: not carried across continue-as-new). */
  phases: PhaseStep[];
  result?: DeploymentResult;
  message?: string;
}

/** One desired state's record in the environment's history. */
export interface DeploymentRecord {
  /** Number of the deployment in this environment, counting from 1. */
  number: number;
  action: Action;
  commit: string;
  appVersion?: string;
  requestedAt: string;
  startedAt?: string;
  endedAt?: string;
  result?: DeploymentResult;
  /** The failing call and AWS's reason, or why it was superseded, cancelled, … */
  message?: string;
  approvedBy?: string;
  approvalComment?: string;
  /** Who let it through a freeze with `approve --override-freeze`. */
  freezeOverriddenBy?: string;
  pipelineExecutionId?: string;
  workflowId?: string;
}

/** What waits for a person. */
export interface PendingApproval {
  environment: string;
  commit: CommitInfo;
  currentVersion?: string;
  newVersion?: string;
  action: Action;
  requestedAt: string;
  expiresAt: string;
  /** The change set summary when the pipeline stack would change. */
  pipelineChanges?: string[];
  /** Approvals from distinct people the change needs, when more than one. */
  requiredApprovals?: number;
  /** Where more than one approval is needed: the approvals given so far, oldest first. */
  approvals?: { by: string; comment?: string; at: string }[];
}

/** The drift sweep's finding for one environment. */
export interface SyncReport {
  status: SyncStatus;
  checkedAt: string;
  /** Version in git main, as the workflow last received it. */
  desiredVersion?: string;
  /** `AppVersion` parameter of the environment stack in AWS. */
  deployedVersion?: string;
  /** Each drifted resource: `Logical (Type): property changed` or `deleted`. */
  drifted: string[];
  /** Why the status is Unknown, or a short explanation of the others. */
  message?: string;
}

/** The environment workflow's state, as its query returns it. */
export interface EnvironmentState {
  environment: string;
  phase: DeployPhase;
  /** Deployments numbered so far; the next one is `deploymentCount + 1`. */
  deploymentCount: number;
  /** Distinct versions that deployed successfully, most recent first (for rollback). */
  successfulVersions: { appVersion: string; commit: string; at: string }[];
  desired?: { commit: string; generation: number; appVersion?: string; action: Action };
  applied?: { commit: string; generation: number; appVersion?: string; at: string };
  deployedVersion?: string;
  current?: DeploymentRecord;
  pending?: DeploymentRecord;
  approval?: PendingApproval;
  lastResult?: DeploymentRecord;
  lastSuccessful?: DeploymentRecord;
  /** Most recent first, bounded. */
  history: DeploymentRecord[];
  sync?: SyncReport;
  /** Set by `cfn-gitops freeze` until `unfreeze` (or its `until`): nothing new starts. */
  freeze?: FreezeState;
  /** The freeze that holds the current request in phase Frozen. */
  frozenBy?: FreezeState;
  /** When the environment first deployed since it was created (or came back): `ttl` counts from it. */
  firstDeployedAt?: string;
  /**
   * When what is applied expires (`expires` or `ttl` of its config); `retryAt` after an expiry
   * delete that did not succeed.
   */
  expiry?: Expiry & { retryAt?: string };
  /**
   * Set once the environment expired (`endedAt`; its stacks deleted, if it had any): a push whose
   * config differs from the one it expired under (`config`, a fingerprint), with an expiry still
   * ahead, brings it back.
   */
  expired?: Expiry & { endedAt: string; commit: string; config: string };
}
