import type { Expiry } from './expiry';
import { otherInstallation } from './ownership';
import { Action, DeployPhase, DeploymentResult, SyncStatus, type DeploymentRecord, type EnvironmentState, type SyncReport } from './types';

/**
 * Every SyncStatus decision, pure: is what runs in AWS what git says? The environment workflow
 * records what deployments and drift checks found (`state.sync`, mirrored in the `SyncStatus`
 * search attribute); the drift sweep turns AWS's answer into such a finding; a status row (CLI,
 * API, dashboard, metrics) weighs that record against the workflow's phase and git main.
 */

/** Phases in which a deployment is under way. An approval wait is not: nothing moves until a person decides. */
export const ACTIVE_PHASES: ReadonlySet<string> = new Set<DeployPhase>([
  DeployPhase.Queued,
  DeployPhase.PublishingSource,
  DeployPhase.CreatingPipeline,
  DeployPhase.UpdatingPipeline,
  DeployPhase.StartingPipeline,
  DeployPhase.RunningPipeline,
  DeployPhase.StoppingPipeline,
  DeployPhase.DeletingEnvironment,
  DeployPhase.DeletingPipeline,
]);

/**
 * Is a deployment under way: a phase that moves, or a current deployment past its approval gate?
 * @example underWay({ phase: 'WaitingForApproval', current: record }) // false
 */
export function underWay(state: { phase?: string; current?: unknown }): boolean {
  if (state.phase !== undefined && ACTIVE_PHASES.has(state.phase)) return true;
  return state.current !== undefined && state.current !== null && state.phase !== DeployPhase.WaitingForApproval && state.phase !== DeployPhase.Frozen;
}

// ---------------------------------------------------------------------------------------------
// The verdict of a status row

/** What a status row's sync status is decided from. */
export interface SyncInputs {
  /** The environment workflow's phase; undefined when no workflow runs for the environment. */
  phase?: string;
  /** A deployment runs past its approval gate (the workflow's `current`, outside an approval wait). */
  running: boolean;
  /** Where the desired version comes from: git main, the workflow's last request, or nowhere. */
  desiredSource: 'git' | 'workflow' | 'none';
  /** The app version git (or the workflow's last request) asks for. */
  desiredVersion?: string;
  /** Git main no longer has the folder, or the workflow's last request is a delete. */
  removed?: boolean;
  /** The app version AWS runs, as the workflow last saw it. */
  deployedVersion?: string;
  /** The workflow's last finding (`state.sync.status`, or the `SyncStatus` search attribute). */
  recorded?: SyncStatus;
  /** The environment expired (`expires`/`ttl`) and its stacks were deleted. */
  expired?: boolean;
}

/**
 * Git against AWS, as Argo CD compares them, in this order:
 * 1. a deployment under way is Progressing (one that waits for approval is not under way);
 * 2. a removed environment is Synced once deleted (or expired), Orphaned until then; an expired
 *    one is Expired (Orphaned when the sweep found its stacks back);
 * 3. with git main known, a folder without a live workflow is Missing;
 * 4. a request waiting for approval, or a desired version other than the deployed one, is OutOfSync;
 * 5. a recorded Progressing that nothing backs any more (an approval wait, a lost query) is
 *    Synced when the versions are known to match, OutOfSync otherwise;
 * 6. otherwise the workflow's last finding, or Synced when the versions match, or Unknown.
 * @example syncStatusOf({ phase: 'Idle', running: false, desiredSource: 'git', desiredVersion: '1.5.0', deployedVersion: '1.4.2' }) // 'OutOfSync'
 */
export function syncStatusOf(input: SyncInputs): SyncStatus {
  const { phase, desiredVersion, deployedVersion, recorded } = input;
  if (input.running || underWay({ phase })) return SyncStatus.Progressing;
  if (input.removed) return phase === DeployPhase.Deleted || input.expired ? SyncStatus.Synced : SyncStatus.Orphaned;
  if (input.expired) return recorded === SyncStatus.Orphaned ? SyncStatus.Orphaned : SyncStatus.Expired;
  if (input.desiredSource === 'git' && (phase === undefined || phase === DeployPhase.Deleted)) return SyncStatus.Missing;
  if (phase === DeployPhase.WaitingForApproval || phase === DeployPhase.Frozen || (desiredVersion !== undefined && desiredVersion !== deployedVersion)) return SyncStatus.OutOfSync;
  if (recorded === SyncStatus.Progressing) return desiredVersion !== undefined ? SyncStatus.Synced : SyncStatus.OutOfSync;
  return recorded ?? (deployedVersion !== undefined && desiredVersion === deployedVersion ? SyncStatus.Synced : SyncStatus.Unknown);
}

// ---------------------------------------------------------------------------------------------
// What the environment workflow records

/**
 * The record once a desired state is taken: Progressing (an approval wait included: the
 * workflow's record says a request is in hand), except that an Orphaned finding stays.
 */
export function syncOnAccepted(sync: SyncReport | undefined, now: string): SyncReport | undefined {
  if (sync?.status === SyncStatus.Orphaned) return sync;
  return { ...(sync ?? { drifted: [], checkedAt: now }), status: SyncStatus.Progressing };
}

/**
 * The record once a deployment ended: Synced after a successful sync, none after a successful
 * delete (the environment is gone), OutOfSync after any other end of what was Progressing.
 */
export function syncOnFinished(
  sync: SyncReport | undefined,
  end: { result: DeploymentResult; action: Action; now: string; desiredVersion?: string; deployedVersion?: string },
): SyncReport | undefined {
  if (end.result === DeploymentResult.Succeeded) {
    if (end.action === Action.Delete) return undefined;
    return { status: SyncStatus.Synced, checkedAt: end.now, desiredVersion: end.desiredVersion, deployedVersion: end.deployedVersion, drifted: [], message: 'deployed' };
  }
  if (sync?.status === SyncStatus.Progressing) return { ...sync, status: SyncStatus.OutOfSync, message: `last deployment ${end.result}` };
  return sync;
}

/** The record once an expiry deleted the environment's stacks: Expired, with what brings it back. */
export function syncOnExpired(expired: Expiry & { endedAt: string }): SyncReport {
  return {
    status: SyncStatus.Expired,
    checkedAt: expired.endedAt,
    drifted: [],
    message: `expired (${expired.rule}); its stacks were deleted: a push that changes its config, with a later expires, brings it back`,
  };
}

/** The record once a drift check reported: its finding, kept Progressing while a deployment is current. */
export function syncOnCheck(report: SyncReport, deploymentCurrent: boolean): SyncReport {
  return deploymentCurrent ? { ...report, status: SyncStatus.Progressing } : report;
}

// ---------------------------------------------------------------------------------------------
// The drift sweep: AWS's answer to a finding

/** One stack as DescribeStacks gave it. */
export interface StackFacts {
  name: string;
  status: string;
  parameters: Record<string, string>;
  tags: Record<string, string>;
}

/** What the sweep has asked AWS so far; each answer is given when {@link assessSync} asks for it. */
export interface AwsFacts {
  /** DescribeStacks of both stacks; null for a stack that does not exist. */
  stacks?: { environment: StackFacts | null; pipeline: StackFacts | null };
  /** A pipeline execution that runs now (started outside cfn-gitops), or null when none runs. */
  runningExecution?: string | null;
  /** Drift detection on the stacks it was asked for. */
  drift?: { drifted: string[]; failures: string[] };
}

/** What the sweep checks for one environment, and what it has learnt. */
export interface AssessInput {
  environment: string;
  workflowId?: string;
  environmentStackName: string;
  pipelineStackName: string;
  /** The environment workflow's state; undefined for stacks no workflow owns. */
  state?: EnvironmentState;
  /** This installation's id (`cfn-gitops:installation`): stacks no workflow owns that another installation tagged are its own. */
  installation?: string;
  aws: AwsFacts;
}

/** A finding without its time: the sweep stamps it when it reports. */
export type Finding = Omit<SyncReport, 'checkedAt'>;

/** The next step of an assessment: a finding (none when there is nothing to say), or the AWS answer it needs first. */
export type Assessment =
  | { done: true; finding?: Finding }
  | { done: false; need: 'stacks' }
  | { done: false; need: 'execution' }
  | { done: false; need: 'drift'; stackNames: string[] };

/** Stack states CloudFormation runs drift detection in. */
const DETECTABLE = new Set<string>(['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'UPDATE_ROLLBACK_COMPLETE', 'IMPORT_COMPLETE', 'UPDATE_ROLLBACK_FAILED', 'DELETE_FAILED', 'UPDATE_FAILED', 'CREATE_FAILED', 'ROLLBACK_FAILED']);
/** Stable states in which the stack does not hold what its last operation asked for. */
const BROKEN = new Set<string>(['CREATE_FAILED', 'ROLLBACK_COMPLETE', 'ROLLBACK_FAILED', 'DELETE_FAILED', 'UPDATE_ROLLBACK_FAILED', 'IMPORT_ROLLBACK_COMPLETE', 'IMPORT_ROLLBACK_FAILED']);
/** Drift lines kept per environment, so that a sweep's result stays small. */
const DRIFT_LINES_LIMIT = 50;

/**
 * The drift sweep's verdict for one environment, asking for AWS's answers one at a time so that
 * the sweep makes no call it does not need: a deployment under way or waiting decides without
 * AWS; then the stacks; then a pipeline execution someone else runs; then drift detection.
 * The caller (the activity) answers each `need` and calls again.
 * @example assessSync({ environment, environmentStackName, pipelineStackName, state, aws: {} }) // { done: false, need: 'stacks' }
 */
export function assessSync(input: AssessInput): Assessment {
  const { environment, state, aws } = input;
  // An expired environment's folder stays in git, but nothing is desired of AWS until a push brings it back.
  const desired = state?.desired?.action === Action.Sync && state.phase !== DeployPhase.Deleted && !state.expired ? state.desired : undefined;
  const base = { desiredVersion: desired?.appVersion, drifted: [] as string[] };

  // A request in hand: a deployment under way will bring AWS to git's version; one that waits
  // for approval leaves AWS behind git until someone decides. Resource drift waits for the next sweep.
  const work = state?.current ?? state?.pending;
  if (state && work) {
    const what = `${work.action}${work.appVersion ? ` of app ${work.appVersion}` : ''} (${work.commit.slice(0, 7)})`;
    if (state.phase === DeployPhase.WaitingForApproval) {
      return { done: true, finding: { ...base, status: SyncStatus.OutOfSync, deployedVersion: state.deployedVersion, message: `${what} waits for approval` } };
    }
    if (state.phase === DeployPhase.Frozen) {
      return { done: true, finding: { ...base, status: SyncStatus.OutOfSync, deployedVersion: state.deployedVersion, message: `${what} is frozen` } };
    }
    const message = state.current ? `deployment #${state.current.number}: ${what} is ${state.phase}` : `${what} is queued`;
    return { done: true, finding: { ...base, status: SyncStatus.Progressing, deployedVersion: state.deployedVersion, message } };
  }

  if (!aws.stacks) return { done: false, need: 'stacks' };
  const envStack = aws.stacks.environment;
  const pipeStack = aws.stacks.pipeline;
  const deployedVersion = envStack?.parameters.AppVersion;
  const stacks = [envStack, pipeStack].filter((s): s is StackFacts => s !== null);
  // Another installation's stacks under a shared prefix are that installation's to report.
  if (!input.workflowId && stacks.some((s) => otherInstallation(s.tags, input.installation) !== undefined)) return { done: true };

  if (state?.expired) {
    if (stacks.length === 0) return { done: true, finding: { ...syncOnExpired(state.expired), deployedVersion } };
    const names = stacks.map((s) => s.name).join(' and ');
    return { done: true, finding: { ...base, status: SyncStatus.Orphaned, deployedVersion, message: `${names} exist${stacks.length === 1 ? 's' : ''} in AWS but ${environment} expired at ${state.expired.endedAt} (${state.expired.rule})` } };
  }
  if (!desired) {
    if (stacks.length === 0) return { done: true };
    if (state && !state.desired) {
      return { done: true, finding: { ...base, status: SyncStatus.Unknown, deployedVersion, message: `${input.workflowId} has no desired state from git yet; stacks ${stacks.map((s) => s.name).join(', ')} exist` } };
    }
    const why = !state
      ? `git main has no folder ${environment}`
      : `git main removed ${environment}${state.lastResult?.action === Action.Delete && state.lastResult.result !== DeploymentResult.Succeeded ? ` and its delete ended ${state.lastResult.result}` : ''}`;
    return { done: true, finding: { ...base, status: SyncStatus.Orphaned, deployedVersion, message: `${stacks.map((s) => s.name).join(' and ')} exist${stacks.length === 1 ? 's' : ''} in AWS but ${why}` } };
  }

  const busy = stacks.find((s) => /_IN_PROGRESS$/.test(s.status));
  if (busy) return { done: true, finding: { ...base, status: SyncStatus.Progressing, deployedVersion, message: `${busy.name} is ${busy.status} (not an operation of cfn-gitops)` } };

  const missing = [envStack ? undefined : input.environmentStackName, pipeStack ? undefined : input.pipelineStackName].filter((name): name is string => name !== undefined);
  if (missing.length > 0) {
    const verb = missing.length === 1 ? 'does' : 'do';
    return { done: true, finding: { ...base, status: SyncStatus.Missing, deployedVersion, message: `git main has ${environment} (app ${desired.appVersion ?? '?'}) but ${missing.join(' and ')} ${verb} not exist in AWS` } };
  }

  if (aws.runningExecution === undefined) return { done: false, need: 'execution' };
  if (aws.runningExecution !== null) {
    return { done: true, finding: { ...base, status: SyncStatus.Progressing, deployedVersion, message: `pipeline execution ${aws.runningExecution} runs (not started by cfn-gitops)` } };
  }

  if (!aws.drift) return { done: false, need: 'drift', stackNames: stacks.filter((s) => DETECTABLE.has(s.status)).map((s) => s.name) };
  const { drifted, failures } = aws.drift;
  const notChecked = stacks.filter((s) => !DETECTABLE.has(s.status)).map((s) => `drift of ${s.name} not checked in ${s.status}`);
  const broken = stacks.filter((s) => BROKEN.has(s.status)).map((s) => `${s.name} is ${s.status}`);
  const versionDiffers = deployedVersion !== undefined && desired.appVersion !== undefined && deployedVersion !== desired.appVersion;
  const notes = [
    versionDiffers ? `git main says app ${desired.appVersion}, ${input.environmentStackName} runs ${deployedVersion}` : '',
    ...broken,
    drifted.length > 0 ? `${drifted.length} resource${drifted.length === 1 ? '' : 's'} changed outside CloudFormation` : '',
    ...failures,
    ...notChecked,
  ].filter(Boolean);
  const status = versionDiffers || broken.length > 0 ? SyncStatus.OutOfSync : drifted.length > 0 ? SyncStatus.Drifted : failures.length > 0 ? SyncStatus.Unknown : SyncStatus.Synced;
  const message =
    status === SyncStatus.Synced
      ? `app ${desired.appVersion ?? deployedVersion ?? '?'} in git and AWS; ${stacks.length} stacks without drift${deployedVersion === undefined ? `; ${input.environmentStackName} has no AppVersion parameter to compare` : ''}`
      : notes.join('; ');
  const shown = drifted.length > DRIFT_LINES_LIMIT ? [...drifted.slice(0, DRIFT_LINES_LIMIT), `… and ${drifted.length - DRIFT_LINES_LIMIT} more`] : drifted;
  return { done: true, finding: { ...base, status, deployedVersion, drifted: shown, message } };
}

/** The finding when AWS refused to answer (not a throttle: those are retried). */
export function unknownFinding(state: EnvironmentState | undefined, reason: string): Finding {
  return { status: SyncStatus.Unknown, desiredVersion: state?.desired?.appVersion, drifted: [], message: `AWS could not answer: ${reason}` };
}

/** Whether the sweep asks an environment to deploy git's version again. */
export type SelfHeal = { request: true } | { request: false; skipped?: string };

/**
 * Self-heal for a finding: only where the policy allows it, only for OutOfSync and Drifted, never
 * while a request is in hand (it deploys or waits for approval already), and not again for
 * drift that a re-deploy of the same commit already left in place.
 */
export function selfHealFor(finding: Pick<SyncReport, 'status'>, facts: { allowed: boolean; requestInHand?: boolean; redeployedAlready?: boolean }): SelfHeal {
  if (!facts.allowed || (finding.status !== SyncStatus.OutOfSync && finding.status !== SyncStatus.Drifted)) return { request: false };
  if (facts.requestInHand) return { request: false };
  if (finding.status === SyncStatus.Drifted && facts.redeployedAlready) {
    // A same-version deploy leaves unchanged resources as they are: asking again every sweep would only loop.
    return { request: false, skipped: 'this commit was already deployed again and the drift remains; fix the resources by hand or through the template' };
  }
  return { request: true };
}

/**
 * The record of one request (commit and action) in an environment's state: running, pending or
 * ended, in that order, so the newest counts (a retry after a failure, not the failure).
 * Undefined when the environment holds no such request. The environment workflow answers its
 * watchers by it, and `start --wait` and a rollout's wave read a polled state by it.
 */
export function requestRecord(state: Pick<EnvironmentState, 'current' | 'pending' | 'history'>, request: { commit: string; action: Action }): DeploymentRecord | undefined {
  return [state.current, state.pending, ...state.history].find((r): r is DeploymentRecord => r !== undefined && r.commit === request.commit && r.action === request.action);
}
