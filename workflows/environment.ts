import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowCancellationType,
  condition,
  continueAsNew,
  executeChild,
  isCancellation,
  log,
  patched,
  ParentClosePolicy,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { Activities } from '../activities';
import { repoWindowsFor } from '../common/freeze';
import {
  approveSignal,
  approveUpdate,
  cancelSignal,
  cancelUpdate,
  deploymentProgressSignal,
  desiredStateSignal,
  freezeUpdate,
  healSignal,
  rejectSignal,
  rejectUpdate,
  stateQuery,
  ORDER_CONFLICT,
  submitUpdate,
  syncStatusSignal,
  unfreezeUpdate,
  WATCH_BUSY,
  WATCH_REFUSED,
  watchRequestUpdate,
  type EnvironmentWorkflowInput,
} from '../common/messages';
import { deploymentProgressSchema, healSchema, messageProblem, syncReportSchema } from '../common/message-schemas';
import { deploymentSummary, deploymentWorkflowId, shortSha } from '../common/names';
import type { EnvironmentPolicy } from '../common/policy';
import { APP_VERSION, DEPLOY_PHASE, ENVIRONMENT, GIT_COMMIT, SYNC_STATUS } from '../common/search-attributes';
import { Action, DeployPhase, DeploymentResult, SubmitOutcome, WatchOutcome, type ApprovalDecision, type CancelRequest, type DecisionResult, type DesiredState, type EnvironmentState, type WatchRequest } from '../common/types';
import { NON_RETRYABLE_ERROR_TYPES } from '../common/errors';
import { begunSync, deploymentWorkflow, firstPhase, LEAN_PROGRESS_PATCH, stackChange, syncBeginning, type DeploymentInput, type DeploymentOutcome } from './deployment';
import { failureMessage } from './failures';
import { EnvironmentController, type Work } from './environment-state';

const { getPolicy } = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds', retry: { maximumAttempts: 10 } });
const { getPolicy: getPolicyLocally } = proxyLocalActivities<Activities>({ startToCloseTimeout: '10 seconds', retry: { maximumAttempts: 10 } });
/**
 * Marks histories whose policy is read by a local activity and whose search attributes are
 * upserted only when they change (recorded before: an activity, and every attribute each time).
 */
const LEAN_TASKS_PATCH = 'lean-environment-tasks';
/**
 * Marks histories where a request's phase Queued is not upserted: it lasts only while the policy
 * is read, a local activity in the same task, and the next phase replaces it in that task
 * (recorded before: an upsert, an event and a visibility write nobody could see).
 */
const QUIET_QUEUED_PATCH = 'queued-not-upserted';
/**
 * Marks histories where a sync's first step (publish the source, inspect the pipeline stack and,
 * when it stands ready, start the execution) is a local activity of the environment workflow's
 * own task, the one that took the request: the execution starts without waiting for the
 * deployment workflow's first task and an activity task of its own (recorded before: the
 * deployment took that step as its first activity, and signalled RunningPipeline).
 */
const SYNC_BEGUN_HERE_PATCH = 'sync-begun-in-environment-task';
/** Few attempts: a step that fails here is taken again by the deployment, whose own retries and failure tell the story. */
const { beginSync: beginSyncLocally } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1s', maximumAttempts: 2, nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES },
});
const { previewStackChanges } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { maximumAttempts: 3 },
  summary: 'preview the pipeline stack change set for the approver',
});
/** Marks histories whose approval gate previews the pipeline stack's change set. */
const PREVIEW_PATCH = 'approval-change-set-preview';
/** Marks histories where a freeze (window or `cfn-gitops freeze`) held a request in phase Frozen. */
const FREEZE_PATCH = 'freeze-gate';
/** Marks histories that waited for an environment's `expires` or `ttl`. */
const EXPIRY_PATCH = 'expiring-environments';

/** The change set summary for the approver; a preview that fails says why instead of blocking the approval. */
async function previewPipelineChanges(request: DesiredState, region: string): Promise<string[]> {
  try {
    return await previewStackChanges(stackChange({ desired: request, region }, `approval-${request.commit.sha}`));
  } catch (error) {
    return [`change set preview unavailable: ${failureMessage(error)}`];
  }
}

/** How long a deleted environment's workflow waits for its folder to come back before it ends. */
const DELETED_RETENTION = '7 days';
/**
 * Continue as new when idle past this many history events. A worker that does not hold the
 * workflow in its cache (one of hundreds in a wide push, or after a restart) replays the whole run
 * on its next task, at about half a millisecond of worker CPU per event: a run of 500 wakes in
 * about a quarter of a second, one of 2,000 in a second.
 */
const HISTORY_EVENTS_LIMIT = 500;
/** The limit of runs begun before {@link SHORT_RUNS_PATCH}: their histories followed it. */
const HISTORY_EVENTS_LIMIT_BEFORE = 2_000;
/** Marks runs that continue as new past {@link HISTORY_EVENTS_LIMIT} (recorded before: 2,000). */
const SHORT_RUNS_PATCH = 'short-environment-runs';
/**
 * Watches (`start --wait`, a rollout's wave) that may wait at once. Temporal lets a workflow hold
 * 10 Updates in flight and refuses the rest: the other 5 stay free for submits, approvals and
 * freezes. A watch refused for it polls the state query instead.
 */
const WATCHES_WAITING_MAX = 5;

/**
 * One long-lived workflow per environment, id `cfn-gitops/<env>`: Temporal's id uniqueness is
 * the environment's lock. It takes desired states (Update `submit` or signal `desiredState`),
 * keeps the newest, gates protected environments on approval and runs each deployment as a
 * child workflow, one at a time. Its state and rules live in {@link EnvironmentController}.
 */
export async function environmentWorkflow(input: EnvironmentWorkflowInput): Promise<EnvironmentState> {
  const env = new EnvironmentController(input.environment, input.carried, input.carriedPending);
  env.lastRequest = input.carriedLastRequest;
  // Decided once, as the run begins: a run begun before keeps the limit its history followed.
  const historyLimit = input.continueAsNewAfterEvents ?? (patched(SHORT_RUNS_PATCH) ? HISTORY_EVENTS_LIMIT : HISTORY_EVENTS_LIMIT_BEFORE);
  const now = () => new Date();

  const take = (desired: DesiredState) => {
    const result = env.submit(desired, now());
    log.info('desired state', { environment: env.environment, commit: desired.commit.sha, action: desired.action, outcome: result.outcome, message: result.message });
    if (result.outcome === 'accepted' && env.phase === DeployPhase.WaitingForApproval) {
      log.info('the request waiting for approval is replaced', { environment: env.environment, by: desired.commit.sha });
    }
    publish(env);
    return result;
  };
  setHandler(submitUpdate, take, {
    validator: (desired) => {
      env.validateSubmit(desired);
      const newest = env.orderConflict(desired);
      if (newest !== undefined) {
        // The starter reads the newest commit from the details, checks it by git ancestry and submits again.
        throw ApplicationFailure.create({
          type: ORDER_CONFLICT,
          message: `${env.environment} has taken ${shortSha(newest)} since ${desired.follows ? shortSha(desired.follows) : 'nothing'} was read: check ${shortSha(desired.commit.sha)} against it`,
          details: [newest],
          nonRetryable: true,
        });
      }
    },
  });
  // A signal has no answer: a stale, duplicate or invalid request is said in the current details.
  setHandler(desiredStateSignal, (desired) => {
    try {
      env.validateSubmit(desired);
      const result = take(desired);
      if (result.outcome === SubmitOutcome.Accepted) return;
      env.ignoredMessage = result.message;
    } catch (error) {
      log.warn('desired state ignored', { reason: String(error) });
      env.ignoredMessage = `desired state ignored: ${error instanceof Error ? error.message : String(error)}`;
    }
    publish(env);
  });

  const decide = (kind: 'approve' | 'reject') => (decision: ApprovalDecision): DecisionResult => {
    env.decide(kind, decision, new Date());
    log.info(`${kind}d`, { environment: env.environment, by: decision.by, comment: decision.comment });
    const approval = env.getState().approval;
    if (kind === 'approve' && !approval && decision.overrideFreeze) {
      return { environment: env.environment, accepted: true, message: `freeze overridden by ${decision.by}: the deployment goes ahead` };
    }
    if (kind === 'approve' && env.decision === undefined && approval?.approvals) {
      // One of several: the gate stays closed until the last one needed.
      publish(env);
      const missing = approval.requiredApprovals! - approval.approvals.length;
      return { environment: env.environment, accepted: true, message: `approved by ${decision.by} (${approval.approvals.length} of ${approval.requiredApprovals}); ${missing} more needed from someone else` };
    }
    return { environment: env.environment, accepted: true, message: `${kind === 'approve' ? 'approved' : 'rejected'} by ${decision.by}` };
  };
  const checkedSignal = (kind: 'approve' | 'reject') => (decision: ApprovalDecision) => {
    try {
      env.validateDecision(kind, decision);
      decide(kind)(decision);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      log.warn(`${kind} signal ignored`, { reason });
      env.ignoredMessage = `${kind} by ${nameOf(decision?.by)} ignored: ${reason}`;
      publish(env);
    }
  };
  setHandler(approveUpdate, decide('approve'), { validator: (d) => env.validateDecision('approve', d) });
  setHandler(rejectUpdate, decide('reject'), { validator: (d) => env.validateDecision('reject', d) });
  setHandler(approveSignal, checkedSignal('approve'));
  setHandler(rejectSignal, checkedSignal('reject'));
  const cancel = (request: CancelRequest): DecisionResult => {
    env.cancel(request?.by, request?.reason);
    log.info('cancel requested', { environment: env.environment, by: request?.by });
    return { environment: env.environment, accepted: true, message: `cancel requested${request?.by ? ` by ${request.by}` : ''}` };
  };
  setHandler(cancelUpdate, cancel, { validator: (request: CancelRequest) => env.validateCancel(request) });
  setHandler(cancelSignal, (request) => {
    try {
      env.validateCancel(request);
      cancel(request);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      log.warn('cancel signal ignored', { reason });
      env.ignoredMessage = `cancel by ${nameOf(request?.by)} ignored: ${reason}`;
      publish(env);
    }
  });
  /** A signal whose input does not fit its schema is logged and said in the current details, never a failed task. */
  const ignoreInvalid = (name: string, schema: Parameters<typeof messageProblem>[0], input: unknown): boolean => {
    const problem = messageProblem(schema, input);
    if (!problem) return false;
    log.warn('signal ignored', { signal: name, problem });
    env.ignoredMessage = `${name} signal ignored: ${problem}`;
    publish(env);
    return true;
  };
  setHandler(deploymentProgressSignal, (progress) => {
    if (ignoreInvalid('deploymentProgress', deploymentProgressSchema, progress)) return;
    if (env.current?.record.number !== progress.number) return;
    // The execution first: the phase it comes with is about it.
    env.setExecution(progress.pipelineExecutionId);
    env.setPhase(progress.phase);
    publish(env);
  });
  setHandler(syncStatusSignal, (report) => {
    if (ignoreInvalid('syncStatus', syncReportSchema, report)) return;
    env.recordSync(report);
    publish(env);
  });
  setHandler(healSignal, (request) => {
    if (ignoreInvalid('heal', healSchema, request)) return;
    const last = env.lastRequest;
    if (!last || env.current || env.hasWork()) return;
    log.info('self-heal: deploying the desired state again', { environment: env.environment, reason: request.reason });
    take({ ...last, redeploy: true, reason: `self-heal: ${request.reason}` });
  });
  setHandler(
    freezeUpdate,
    (request) => {
      const message = env.freeze(request, now());
      log.info('frozen', { environment: env.environment, by: request.by, reason: request.reason, until: request.until });
      publish(env);
      return { environment: env.environment, accepted: true, message };
    },
    { validator: (request) => env.validateFreeze(request, now()) },
  );
  setHandler(
    unfreezeUpdate,
    (request) => {
      const message = env.unfreeze(request?.by);
      log.info('unfrozen', { environment: env.environment, by: request?.by });
      publish(env);
      return { environment: env.environment, accepted: true, message };
    },
    { validator: (request) => env.validateUnfreeze(request, now()) },
  );
  setHandler(stateQuery, () => env.getState());
  // Set while the run ends (continue-as-new, or the end of a deleted environment): waiting
  // watchers are answered `continuing` so that they ask the next run, and never hold this one.
  let closing = false;
  let watchesWaiting = 0;
  // A watch answered at once holds nothing; one that would wait needs a free place. The validator
  // refuses it when one is short, and so does the handler: the watches that arrive in one task
  // are all validated before the first of their handlers counts itself.
  const refuseWhenBusy = (request: WatchRequest) => {
    if (watchesWaiting >= WATCHES_WAITING_MAX && env.watch(request) === undefined) {
      throw ApplicationFailure.create({ type: WATCH_BUSY, message: `${WATCHES_WAITING_MAX} watches wait already: read the state query instead`, nonRetryable: true });
    }
  };
  setHandler(
    watchRequestUpdate,
    async (request) => {
      refuseWhenBusy(request);
      watchesWaiting += 1;
      try {
        await condition(() => closing || env.watch(request) !== undefined);
        return env.watch(request) ?? { outcome: WatchOutcome.Continuing, phases: [] };
      } finally {
        watchesWaiting -= 1;
      }
    },
    {
      validator: (request) => {
        try {
          env.validateWatch(request);
        } catch (error) {
          throw ApplicationFailure.create({ type: WATCH_REFUSED, message: (error as Error).message, nonRetryable: true });
        }
        refuseWhenBusy(request);
      },
    },
  );

  upsertSearchAttributes([{ key: ENVIRONMENT, value: env.environment }]);
  publish(env);

  for (;;) {
    if (env.expiryDue(now())) env.expire(now());
    const untilExpiry = env.msUntilExpiry(now());
    const woken = () => env.hasWork() || shouldContinueAsNew(historyLimit);
    let idle: boolean;
    if (env.phase === DeployPhase.Deleted) {
      idle = !(await condition(() => env.hasWork(), DELETED_RETENTION));
    } else if (untilExpiry === undefined) {
      idle = (await condition(woken), !env.hasWork());
    } else {
      // `expires`/`ttl`: a timer to the expiry (configs recorded before had neither, so their histories never get here).
      patched(EXPIRY_PATCH);
      await condition(woken, Math.max(1, untilExpiry));
      if (env.expiryDue(now())) env.expire(now());
      idle = !env.hasWork();
    }
    if (idle) {
      closing = true;
      await condition(allHandlersFinished);
      closing = false;
      if (env.hasWork()) continue;
      if (env.phase === DeployPhase.Deleted) return env.getState();
      await continueAsNew<typeof environmentWorkflow>({
        environment: env.environment,
        carried: env.getState(),
        carriedPending: env.pendingRequest(),
        carriedLastRequest: env.lastRequest,
        continueAsNewAfterEvents: input.continueAsNewAfterEvents,
      });
    }
    await run(env, env.startNext(now()));
  }
}

/** A person named in a message that may be malformed: shown short, never echoed whole. */
function nameOf(by: unknown): string {
  if (typeof by !== 'string' || by === '') return '?';
  return by.length > 80 ? `${by.slice(0, 80)}…` : by;
}

function shouldContinueAsNew(historyLimit: number): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.historyLength > historyLimit;
}

/** One request: approval if the environment is protected, then the deployment child. */
async function run(env: EnvironmentController, work: Work): Promise<void> {
  const { request, record } = work;
  const now = () => new Date();
  if (request.action === Action.Sync) env.lastRequest = request;
  // A sync whose own `expires` (or `ttl`) has passed is not deployed: the environment expires instead.
  const lapsed = env.lapsedExpiry(request, now());
  if (lapsed) {
    env.lapse(lapsed, now());
    log.info('expired: the sync is not deployed', { environment: env.environment, commit: request.commit.sha, rule: lapsed.rule });
    return publish(env);
  }
  const lean = patched(LEAN_TASKS_PATCH);
  publish(env, { searchAttributes: !(lean && patched(QUIET_QUEUED_PATCH)) });
  // The policy is the worker's settings, read in a moment: a local activity costs no task of its own.
  const policy: EnvironmentPolicy & { region: string } = await (lean ? getPolicyLocally : getPolicy)({
    environment: env.environment,
    repoProtected: request.repoProtected,
    region: request.settings.region,
  });

  if (policy.protected) {
    // What the pipeline stack would change is shown to the approver (added after histories were recorded).
    const pipelineChanges = request.action === Action.Sync && patched(PREVIEW_PATCH) ? await previewPipelineChanges(request, policy.region) : undefined;
    const approval = env.openApproval(policy, now(), pipelineChanges);
    publish(env);
    const decided = await condition(() => env.decision !== undefined || env.hasWork(), policy.approvalWindowMs);
    const decision = env.decision;
    if (!decided) {
      env.finishCurrent(DeploymentResult.Expired, `no decision within the approval window; expired at ${approval.expiresAt}; AWS untouched`, now());
      return publish(env);
    }
    if (!decision) {
      env.finishCurrent(DeploymentResult.Superseded, `replaced by a newer request while waiting for approval`, now());
      return publish(env);
    }
    if (decision.kind !== 'approve') {
      const result = decision.kind === 'reject' ? DeploymentResult.Rejected : DeploymentResult.Cancelled;
      env.finishCurrent(result, `${result.toLowerCase()} by ${decision.by ?? 'someone'}${decision.comment ? `: ${decision.comment}` : ''}; AWS untouched`, now());
      return publish(env);
    }
    env.closeApproval();
  }

  if (!(await freezeGate(env, work, policy))) return;

  // The deployment's first phase is set here, where it starts (recorded before: Queued, then a signal).
  env.setPhase(patched(LEAN_PROGRESS_PATCH) ? firstPhase(request.action) : DeployPhase.Queued);
  const workflowId = deploymentWorkflowId(env.environment, request.action, request.commit.sha, record.number);
  record.workflowId = workflowId;
  const begun = request.action === Action.Sync && patched(SYNC_BEGUN_HERE_PATCH) ? await beginSyncHere(request, policy.region, workflowId) : undefined;
  const startedHere = begunSync(begun)?.executionId;
  if (startedHere !== undefined) {
    env.setExecution(startedHere);
    env.setPhase(DeployPhase.RunningPipeline);
  }
  const startPhase = env.phase;
  publish(env);
  let settled = false;
  const scope = new CancellationScope();
  const child = scope.run(() =>
    executeChild(deploymentWorkflow, {
      workflowId,
      args: [{ desired: request, number: record.number, region: policy.region, parentWorkflowId: workflowInfo().workflowId, ...(begun ? { begun } : {}) }],
      staticSummary: deploymentSummary(env.environment, request.action, request.config?.appVersion, request.commit.sha),
      staticDetails: [
        `**${request.reason}** in commit \`${shortSha(request.commit.sha)}\` by ${request.commit.author.name}`,
        request.commit.message,
        record.approvedBy ? `approved by ${record.approvedBy}${record.approvalComment ? `: ${record.approvalComment}` : ''}` : '',
      ].filter(Boolean).join('\n\n'),
      typedSearchAttributes: [
        { key: ENVIRONMENT, value: env.environment },
        { key: GIT_COMMIT, value: request.commit.sha },
        { key: DEPLOY_PHASE, value: startPhase },
        ...(request.config ? [{ key: APP_VERSION, value: request.config.appVersion }] : []),
      ],
      cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
    }).finally(() => {
      settled = true;
    }),
  );
  // Cancel the running deployment when someone asks, or when a delete waits (delete wins).
  const watcher = condition(() => settled || env.cancelRequested !== undefined || env.deletePending()).then(() => {
    if (!settled) scope.cancel();
  });
  let outcome: DeploymentOutcome | undefined;
  try {
    outcome = await child;
  } catch (error) {
    await watcher;
    const cancelled = isCancellation(error) || isCancellation((error as { cause?: unknown }).cause);
    if (cancelled) {
      const why = env.cancelRequested ? `cancelled${env.cancelRequested.by ? ` by ${env.cancelRequested.by}` : ''}` : 'cancelled: the environment is being deleted';
      env.finishCurrent(DeploymentResult.Cancelled, `${why}; version that remains: ${env.getState().deployedVersion ?? 'none'}`, now());
    } else {
      env.finishCurrent(DeploymentResult.Failed, failureMessage(error), now());
    }
    return publish(env);
  }
  await watcher;
  env.finishCurrent(DeploymentResult.Succeeded, outcome.message, now(), outcome.deployedVersion);
  publish(env);
}

/**
 * The sync's first step, in this task (see {@link SYNC_BEGUN_HERE_PATCH}). A step that fails in
 * a way worth retrying is left to the deployment, which takes it again: each of its calls is
 * idempotent, and the request key is the deployment's, so an execution started here is the one
 * the deployment would start.
 */
async function beginSyncHere(request: DesiredState, region: string, workflowId: string): Promise<DeploymentInput['begun']> {
  try {
    return await beginSyncLocally(syncBeginning(request, stackChange({ desired: request, region }, 'pipeline', workflowId)));
  } catch (error) {
    if (isCancellation(error)) throw error;
    // A refusal for good (access denied, a template refused) is the deployment's failure, not tried again.
    const cause = error instanceof ActivityFailure ? error.cause : error;
    if (cause instanceof ApplicationFailure && (cause.nonRetryable || NON_RETRYABLE_ERROR_TYPES.includes(cause.type ?? ''))) {
      return { failure: { type: cause.type ?? undefined, message: cause.message } };
    }
    log.warn('the sync begins in the deployment instead', { environment: request.environment, error: failureMessage(error) });
    return undefined;
  }
}

/**
 * Holds the current request in phase Frozen while a freeze (`cfn-gitops freeze`, a window of the
 * policy, or one the repo adds with `freeze:` in common/gitops.yaml) lasts: a timer to the
 * freeze's end, woken early by an unfreeze, a new freeze, an `approve --override-freeze`, a cancel
 * or a newer request (which replaces this one). False when the request ended here. Histories
 * recorded before freezes never held one, and none recorded before `freeze:` carries repo windows,
 * so their commands are unchanged; a hold is marked with {@link FREEZE_PATCH}.
 */
async function freezeGate(env: EnvironmentController, work: Work, policy: EnvironmentPolicy): Promise<boolean> {
  const now = () => new Date();
  // The repo's windows add to the orchestrator's: a freeze lasts until the last of them ends.
  const windows = [...(policy.freezes ?? []), ...repoWindowsFor(work.request.settings.freeze, env.environment, now())];
  let freeze = env.freezeOverride ? undefined : env.freezeAt(now(), windows);
  if (!freeze) return true;
  patched(FREEZE_PATCH);
  env.allowSelfOverride = policy.allowSelfApproval;
  while (freeze && !env.freezeOverride) {
    env.holdFrozen(freeze);
    log.info('frozen: the request waits', { environment: env.environment, commit: work.request.commit.sha, reason: freeze.reason, until: freeze.until });
    publish(env);
    const changes = env.freezeChanges;
    const woken = () => env.freezeOverride !== undefined || env.hasWork() || env.cancelRequested !== undefined || env.freezeChanges !== changes;
    if (freeze.until) await condition(woken, Math.max(1, Date.parse(freeze.until) - now().getTime()));
    else await condition(woken);
    if (env.cancelRequested) {
      const by = env.cancelRequested.by;
      env.finishCurrent(DeploymentResult.Cancelled, `cancelled${by ? ` by ${by}` : ''} while frozen; AWS untouched`, now());
      publish(env);
      return false;
    }
    if (env.hasWork() && !env.freezeOverride) {
      env.finishCurrent(DeploymentResult.Superseded, `replaced by a newer request while frozen (${freeze.reason}); AWS untouched`, now());
      publish(env);
      return false;
    }
    freeze = env.freezeOverride ? undefined : env.freezeAt(now(), windows);
  }
  if (env.freezeOverride) log.info('freeze overridden', { environment: env.environment, by: env.freezeOverride.by });
  env.releaseFrozen();
  return true;
}

/**
 * Search attributes and current details from the state, so the Temporal UI tells the story;
 * without `searchAttributes`, the details only (a later publish upserts what changed).
 */
function publish(env: EnvironmentController, options: { searchAttributes: boolean } = { searchAttributes: true }): void {
  const state = env.getState();
  if (options.searchAttributes) upsertChanged(env, state);
  setCurrentDetails(details(env, state));
}

/** The search attributes that changed since they were last upserted (all of them in histories before LEAN_TASKS_PATCH). */
function upsertChanged(env: EnvironmentController, state: EnvironmentState): void {
  const updates: SearchAttributeUpdatePair[] = [
    { key: DEPLOY_PHASE, value: state.phase },
    { key: APP_VERSION, value: state.deployedVersion ?? null },
    { key: GIT_COMMIT, value: state.applied?.commit ?? null },
    { key: SYNC_STATUS, value: state.sync?.status ?? null },
  ] as SearchAttributeUpdatePair[];
  if (!patched(LEAN_TASKS_PATCH)) {
    upsertSearchAttributes(updates);
  } else {
    // Only what changed: each upsert is an event in the history.
    const changed = updates.filter(({ key, value }) => env.publishedAttributes.get(key.name) !== value);
    for (const { key, value } of changed) env.publishedAttributes.set(key.name, value as string | null);
    if (changed.length) upsertSearchAttributes(changed);
  }
}

/** The environment workflow's current details in the Temporal UI. */
function details(env: EnvironmentController, state: EnvironmentState): string {
  const lines = [
    `**${state.environment}**: ${state.phase}`,
    `deployed: ${state.deployedVersion ?? '-'}${state.applied ? ` (${shortSha(state.applied.commit)})` : ''}`,
    state.desired ? `desired: ${state.desired.action === 'delete' ? 'delete' : `app ${state.desired.appVersion}`} (${shortSha(state.desired.commit)})` : '',
    state.current ? `running: #${state.current.number} ${state.current.action} ${state.current.appVersion ?? ''} ${state.current.pipelineExecutionId ? `execution ${state.current.pipelineExecutionId}` : ''}` : '',
    state.pending ? `next: ${state.pending.action} ${state.pending.appVersion ?? ''} (${shortSha(state.pending.commit)})` : '',
    state.approval
      ? `waiting for approval: app ${state.approval.currentVersion ?? '-'} → ${state.approval.newVersion ?? 'delete'}, commit ${shortSha(state.approval.commit.sha)} by ${state.approval.commit.author.name}, expires ${state.approval.expiresAt}` +
        (state.approval.pipelineChanges ? `; pipeline stack: ${state.approval.pipelineChanges.length ? state.approval.pipelineChanges.join('; ') : 'no change'}` : '')
      : '',
    state.frozenBy ? `frozen: ${state.frozenBy.reason}${state.frozenBy.until ? ` until ${state.frozenBy.until}` : ' until unfreeze'}; approve --override-freeze lets it go ahead` : '',
    state.freeze && !state.frozenBy ? `freeze: ${state.freeze.reason}${state.freeze.until ? ` until ${state.freeze.until}` : ' until unfreeze'}; nothing new starts` : '',
    state.expiry ? `expires: ${state.expiry.at} (${state.expiry.rule})${state.expiry.retryAt ? `; the delete is tried again at ${state.expiry.retryAt}` : ''}` : '',
    state.expired ? `expired at ${state.expired.endedAt} (${state.expired.rule}); a push that changes ${state.environment}/config.yaml with a later date brings it back` : '',
    state.sync ? `sync: ${state.sync.status}${state.sync.message ? ` (${state.sync.message})` : ''}` : '',
    state.lastResult ? `last: #${state.lastResult.number} ${state.lastResult.result}: ${state.lastResult.message ?? ''}` : '',
    env.ignoredMessage ? `note: ${env.ignoredMessage}` : '',
  ];
  return lines.filter(Boolean).join('\n\n');
}
