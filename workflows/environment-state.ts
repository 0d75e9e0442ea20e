import { Action, DeployPhase, DeploymentResult, SubmitOutcome, WatchOutcome } from '../common/types';
import type {
  ApprovalDecision,
  DeploymentRecord,
  DesiredState,
  EnvironmentState,
  FreezeRequest,
  FreezeState,
  PendingApproval,
  PhaseStep,
  SubmitResult,
  SyncReport,
  WatchAnswer,
  WatchRequest,
} from '../common/types';
import type { EnvironmentPolicy } from '../common/policy';
import { activeFreeze, type FreezeWindow } from '../common/freeze';
import { approvalDecisionSchema, cancelRequestSchema, desiredStateSchema, freezeRequestSchema, messageProblem, unfreezeRequestSchema, watchRequestSchema } from '../common/message-schemas';
import { requestRecord, syncOnAccepted, syncOnCheck, syncOnExpired, syncOnFinished } from '../common/sync';
import { configFingerprint, expiryOf, type Expiry } from '../common/expiry';

/** Records kept in the workflow's state; older ones remain in the Temporal history. */
const HISTORY_LIMIT = 20;
const VERSIONS_LIMIT = 10;
/** After an expiry delete that failed (or whose approval expired), it is tried again this much later. */
const EXPIRY_RETRY_MS = 3_600_000;

/** A request on its way: the full desired state and its record. */
export interface Work {
  request: DesiredState;
  record: DeploymentRecord;
}

/**
 * The environment's rules, free of Temporal: latest desired state wins, no going back,
 * delete wins, one operation at a time, approvals. The workflow feeds it messages and time
 * and carries out what it decides.
 */
export class EnvironmentController {
  private state: EnvironmentState;
  /** What runs now (approval wait included). */
  current?: Work;
  /** What runs next: at most one, the newest. */
  pending?: Work;
  /** Set while an approval waits; the decision ends the wait. */
  approvalPolicy?: EnvironmentPolicy;
  decision?: { kind: 'approve' | 'reject' | 'cancel'; by?: string; comment?: string };
  /** The last refused signal, shown in the current details. */
  ignoredMessage?: string;
  /** A cancel for the running deployment. */
  cancelRequested?: { by?: string; reason?: string };
  /** `approve --override-freeze` for the current request: it goes ahead through any freeze. */
  freezeOverride?: { by: string; comment?: string };
  /** Counts freezes and unfreezes, so that a request held in phase Frozen looks again. */
  freezeChanges = 0;
  /** Search attribute values the workflow last upserted, so that it sends only changes (no rule reads them). */
  readonly publishedAttributes = new Map<string, string | null>();
  /**
   * The phases each started request in the history went through, for watchers. Not part of the
   * state: replay rebuilds it, and continue-as-new (only when idle) leaves no request to watch.
   */
  private readonly phaseLogs = new Map<DeploymentRecord, PhaseStep[]>();

  constructor(environment: string, carried?: EnvironmentState, carriedPending?: DesiredState) {
    this.state = carried ?? { environment, phase: DeployPhase.Idle, deploymentCount: 0, successfulVersions: [], history: [] };
    if (carriedPending) this.submit(carriedPending, new Date(this.state.history[0]?.requestedAt ?? 0));
  }

  get environment(): string {
    return this.state.environment;
  }

  get phase(): DeployPhase {
    return this.state.phase;
  }

  /** The newest request for the environment, accepted or running. */
  private latest(): DesiredState | Work['request'] | undefined {
    return this.pending?.request ?? this.current?.request;
  }

  /** Throws when a desired state cannot be for this environment at all (Update validator and signal check). */
  validateSubmit(desired: DesiredState): void {
    const problem = messageProblem(desiredStateSchema, desired);
    if (problem) throw new Error(`invalid desired state: ${problem}`);
    if (desired.environment !== this.state.environment) {
      throw new Error(`desired state is for environment "${desired.environment}", this workflow is "${this.state.environment}"`);
    }
    if (desired.action === Action.Sync && (!desired.config || (!desired.templates && !desired.templateRefs))) throw new Error('a sync needs config and templates');
  }

  /**
   * Compare-and-set of "no going back": a request that says which commit it follows (the
   * starter checked that by git ancestry) conflicts when another commit was taken since. The
   * answer is the newest commit taken, for the starter to check again; undefined when the
   * request can be taken, is a duplicate, or carries no `follows` (then generations decide).
   */
  orderConflict(desired: DesiredState): string | undefined {
    if (desired.follows === undefined || this.duplicateOf(desired) !== undefined) return undefined;
    const newest = this.newestCommit();
    if (newest === undefined || newest === desired.follows) return undefined;
    if (desired.redeploy && newest === desired.commit.sha) return undefined;
    return newest;
  }

  /** Why a desired state is a duplicate (same commit and action running, queued or handled), or undefined. */
  private duplicateOf(desired: DesiredState): string | undefined {
    if (desired.redeploy) return undefined;
    const same = (w?: { commit: string; action: Action }) => w !== undefined && w.commit === desired.commit.sha && w.action === desired.action;
    if (same(this.pending?.record) || same(this.current?.record)) {
      return `${desired.action} of ${short(desired.commit.sha)} is already ${same(this.current?.record) ? 'running' : 'queued'}`;
    }
    const last = this.state.history.find((r) => same(r));
    if (last && (last.result === DeploymentResult.Succeeded || last.result === DeploymentResult.Superseded || last.result === undefined)) {
      return `${desired.action} of ${short(desired.commit.sha)} was already handled (${last.result ?? 'in progress'})`;
    }
    return undefined;
  }

  /**
   * Takes a desired state: accepted (runs now or next, replacing an older pending one),
   * duplicate (same commit and action already applied, running or pending) or stale (older
   * than the newest one taken).
   */
  submit(desired: DesiredState, now: Date): SubmitResult {
    const newest = this.newestGeneration();
    const duplicate = this.duplicateOf(desired);
    if (duplicate !== undefined) return { outcome: SubmitOutcome.Duplicate, message: duplicate };
    const conflict = this.orderConflict(desired);
    if (conflict !== undefined) {
      return {
        outcome: SubmitOutcome.Stale,
        message: `commit ${short(desired.commit.sha)} was checked against ${desired.follows ? short(desired.follows) : 'nothing'}, but ${short(conflict)} was taken for ${this.environment} since; ignored (run start again)`,
      };
    }
    const expired = this.expiredRefusal(desired, now);
    if (expired !== undefined) return { outcome: SubmitOutcome.Expired, message: expired };
    const lapsed = this.lapsedExpiry(desired, now);
    if (lapsed) {
      // Git asks for an expiry that has passed (`expires: 2020-01-01` to be rid of it now): not a deployment.
      this.state.desired = { commit: desired.commit.sha, generation: desired.commit.generation, appVersion: desired.config?.appVersion, action: desired.action };
      return { outcome: SubmitOutcome.Expired, message: this.expireUnder(desired, lapsed, now) };
    }
    // Without `follows` (recorded histories, signals), generations along main decide.
    if (desired.follows === undefined && newest !== undefined && desired.commit.generation < newest) {
      return {
        outcome: SubmitOutcome.Stale,
        message: `commit ${short(desired.commit.sha)} is older than ${short(this.newestCommit()!)} already taken for ${this.environment}; ignored`,
      };
    }
    const record: DeploymentRecord = {
      number: 0,
      action: desired.action,
      commit: desired.commit.sha,
      appVersion: desired.config?.appVersion,
      requestedAt: now.toISOString(),
    };
    if (this.pending) this.finish(this.pending.record, DeploymentResult.Superseded, `superseded by ${short(desired.commit.sha)} before it started`, now);
    this.pending = { request: desired, record };
    this.state.desired = { commit: desired.commit.sha, generation: desired.commit.generation, appVersion: desired.config?.appVersion, action: desired.action };
    this.state.sync = syncOnAccepted(this.state.sync, now.toISOString());
    const retry = this.state.history.find((r) => r.commit === desired.commit.sha && r.action === desired.action);
    return {
      outcome: SubmitOutcome.Accepted,
      message: `${desired.action} of ${short(desired.commit.sha)} ${this.current ? 'queued behind the running deployment' : 'accepted'}${retry ? ` (again after ${retry.result})` : ''}`,
    };
  }

  private newestGeneration(): number | undefined {
    const gens = [this.pending?.request.commit.generation, this.current?.request.commit.generation, this.state.desired?.generation, this.state.applied?.generation];
    const known = gens.filter((g): g is number => typeof g === 'number');
    return known.length ? Math.max(...known) : undefined;
  }

  private newestCommit(): string | undefined {
    return this.latest()?.commit.sha ?? this.state.desired?.commit ?? this.state.applied?.commit;
  }

  /**
   * Why a sync does not bring an expired environment back, or undefined when it does (or the
   * environment has not expired): only a config other than the one it expired under, whose own
   * expiry is still ahead, brings it back. A `common/` change or a self-heal leaves it expired.
   */
  private expiredRefusal(desired: DesiredState, now: Date): string | undefined {
    const expired = this.state.expired;
    if (!expired || desired.action !== Action.Sync) return undefined;
    const since = `${this.environment} expired at ${expired.endedAt} (${expired.rule}) and its stacks were deleted`;
    if (configFingerprint(desired.config) === expired.config) {
      return `${since}; commit ${short(desired.commit.sha)} leaves its config as it was, so it stays expired: set a later expires (or change ttl) in ${this.environment}/config.yaml to bring it back`;
    }
    const own = expiryOf(desired.config, undefined, now);
    if (own && Date.parse(own.at) <= now.getTime()) {
      return `${since}; commit ${short(desired.commit.sha)} asks for it with ${own.rule}, which has passed too: set a later date in ${this.environment}/config.yaml to bring it back`;
    }
    return undefined;
  }

  /** When the applied config's expiry (or its retry) is due, if it is; undefined when none is set. */
  private expiryTime(): number | undefined {
    const expiry = this.state.expiry;
    if (!expiry) return undefined;
    const at = Date.parse(expiry.retryAt ?? expiry.at);
    return Number.isNaN(at) ? undefined : at;
  }

  /** Milliseconds until the environment's expiry is due (0 once it is), or undefined while nothing is set or a request is in hand. */
  msUntilExpiry(now: Date): number | undefined {
    const at = this.expiryTime();
    if (at === undefined || this.current || this.pending) return undefined;
    return Math.max(0, at - now.getTime());
  }

  /** Is the expiry due, with nothing else in hand? */
  expiryDue(now: Date): boolean {
    return this.msUntilExpiry(now) === 0;
  }

  /**
   * Queues the delete that expires the environment, built from the last sync taken (its stack
   * prefix and region name the stacks). Without one there is nothing to delete by.
   */
  expire(now: Date): void {
    const expiry = this.state.expiry;
    const last = this.lastRequest;
    if (!expiry || this.pending) return;
    if (!last) {
      this.state.expiry = undefined;
      return;
    }
    const request: DesiredState = {
      environment: this.environment,
      action: Action.Delete,
      commit: last.commit,
      reason: `expired: ${expiry.rule}`,
      settings: last.settings,
      repoProtected: last.repoProtected,
      redeploy: true,
      expiring: { at: expiry.at, rule: expiry.rule },
    };
    this.pending = { request, record: { number: 0, action: Action.Delete, commit: last.commit.sha, requestedAt: now.toISOString() } };
  }

  /**
   * The expiry a sync about to run has already passed, or undefined: such a sync is not
   * deployed (the workflow ends it with {@link lapse}).
   */
  lapsedExpiry(request: DesiredState, now: Date): Expiry | undefined {
    if (request.action !== Action.Sync) return undefined;
    const expiry = expiryOf(request.config, this.state.firstDeployedAt, now);
    return expiry && Date.parse(expiry.at) <= now.getTime() ? expiry : undefined;
  }

  /**
   * Ends the current sync, whose own expiry has passed, without deploying it: an environment
   * that may have stacks has them deleted next; one that never deployed is expired at once.
   */
  lapse(expiry: Expiry, now: Date): void {
    const { request } = this.current!;
    this.finishCurrent(DeploymentResult.Expired, `${expiry.rule} passed while it waited: not deployed`, now);
    this.expireUnder(request, expiry, now);
  }

  /**
   * The environment expires under a request whose own expiry has passed: its stacks are deleted
   * next (after what runs), or, when it never had any, it is Expired at once. Says which.
   */
  private expireUnder(desired: DesiredState, expiry: Expiry, now: Date): string {
    this.lastRequest = desired;
    const why = `${desired.action} of ${short(desired.commit.sha)} not deployed: ${expiry.rule} has passed`;
    if (this.current || this.mayHaveStacks()) {
      if (this.pending) this.finish(this.pending.record, DeploymentResult.Superseded, `superseded by ${short(desired.commit.sha)}, whose ${expiry.rule} has passed`, now);
      this.pending = undefined;
      this.state.expiry = expiry;
      this.expire(now);
      return `${why}; ${this.environment} expires: its stacks are deleted ${this.current ? 'next (the running deployment is stopped: delete wins)' : 'now'}`;
    }
    this.markExpired(expiry, desired.config, now);
    return `${why}; ${this.environment} never deployed and is Expired`;
  }

  /** Did a sync reach AWS since the environment was last deleted (or created)? */
  private mayHaveStacks(): boolean {
    if (this.state.applied) return true;
    for (const record of this.state.history) {
      if (record.action === Action.Delete && record.result === DeploymentResult.Succeeded) return false;
      if (record.action === Action.Sync && record.workflowId !== undefined) return true;
    }
    return false;
  }

  /** The environment is Expired: no stacks, and only a push that changes its config brings it back. */
  private markExpired(expiry: Expiry, config: DesiredState['config'], now: Date): void {
    const commit = this.lastRequest?.commit.sha ?? this.state.desired?.commit ?? '';
    this.state.expired = { at: expiry.at, rule: expiry.rule, endedAt: now.toISOString(), commit, config: configFingerprint(config) };
    this.state.expiry = undefined;
    this.state.firstDeployedAt = undefined;
    this.state.phase = this.pending ? DeployPhase.Queued : DeployPhase.Expired;
    this.state.sync = syncOnExpired(this.state.expired!);
  }

  /** Is there a request waiting to run? */
  hasWork(): boolean {
    return this.pending !== undefined;
  }

  /** Does a delete wait behind what runs (delete wins: the running sync is cancelled)? */
  deletePending(): boolean {
    return this.pending?.request.action === Action.Delete && this.current?.request.action === Action.Sync;
  }

  /** Moves the pending request to current and numbers it. */
  startNext(now: Date): Work {
    const work = this.pending!;
    this.pending = undefined;
    this.state.deploymentCount += 1;
    work.record.number = this.state.deploymentCount;
    work.record.startedAt = now.toISOString();
    this.current = work;
    this.phaseLogs.set(work.record, []);
    // Until the approval gate or the deployment says more, a taken request is queued.
    this.setPhase(DeployPhase.Queued);
    this.decision = undefined;
    this.cancelRequested = undefined;
    this.freezeOverride = undefined;
    this.state.history.unshift(work.record);
    this.state.history.length = Math.min(this.state.history.length, HISTORY_LIMIT);
    for (const record of [...this.phaseLogs.keys()]) if (!this.state.history.includes(record)) this.phaseLogs.delete(record);
    return work;
  }

  /** The environment's phase, which is the current request's while one runs: logged with the execution known then. */
  setPhase(phase: DeployPhase): void {
    this.state.phase = phase;
    const record = this.current?.record;
    const log = record && this.phaseLogs.get(record);
    if (!log || log[log.length - 1]?.phase === phase) return;
    log.push(record.pipelineExecutionId ? { phase, pipelineExecutionId: record.pipelineExecutionId } : { phase });
  }

  setExecution(executionId: string | undefined): void {
    if (this.current && executionId) this.current.record.pipelineExecutionId = executionId;
  }

  /** Throws when a watch does not name a request (Update validator). */
  validateWatch(request: WatchRequest): void {
    const problem = messageProblem(watchRequestSchema, request);
    if (problem) throw new Error(`invalid watch: ${problem}`);
  }

  /**
   * What a watcher of one request (commit and action) is told now, or undefined while there is
   * nothing new: the request ended (just now or before), went through phases it has not seen,
   * or is unknown here. The newest request of that commit and action counts: a retry after a
   * failure is watched, not the failure.
   */
  watch(request: WatchRequest): WatchAnswer | undefined {
    const record = requestRecord({ current: this.current?.record, pending: this.pending?.record, history: this.state.history }, request);
    if (!record) return { outcome: WatchOutcome.Unknown, phases: [] };
    // A request that never started (pending, or superseded while it was) has been Queued only.
    const steps = this.phaseLogs.get(record) ?? (record.number === 0 ? [{ phase: DeployPhase.Queued }] : []);
    const unseen = request.seenPhases === undefined ? [] : steps.slice(request.seenPhases).map((step) => ({ ...step }));
    if (record.result !== undefined) return { outcome: WatchOutcome.Ended, phases: unseen, result: record.result, message: record.message };
    return unseen.length ? { outcome: WatchOutcome.Phases, phases: unseen } : undefined;
  }

  /** Opens the approval gate for the current request. */
  openApproval(policy: EnvironmentPolicy, now: Date, pipelineChanges?: string[]): PendingApproval {
    const { request } = this.current!;
    this.approvalPolicy = policy;
    this.decision = undefined;
    this.state.approval = {
      environment: this.environment,
      commit: request.commit,
      action: request.action,
      currentVersion: this.state.deployedVersion ?? this.state.applied?.appVersion,
      newVersion: request.config?.appVersion,
      requestedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + policy.approvalWindowMs).toISOString(),
      pipelineChanges,
    };
    // The orchestrator's count, raised (never lowered) by the environment's config.
    const required = Math.max(policy.requiredApprovals ?? 1, request.config?.requiredApprovals ?? 1);
    if (required > 1) Object.assign(this.state.approval, { requiredApprovals: required, approvals: [] });
    this.setPhase(DeployPhase.WaitingForApproval);
    return this.state.approval;
  }

  closeApproval(): void {
    this.state.approval = undefined;
    this.approvalPolicy = undefined;
  }

  /** Throws the reason an approve or reject would be refused (Update validator and signal check). */
  validateDecision(kind: 'approve' | 'reject', decision: ApprovalDecision): void {
    const approval = this.state.approval;
    if (!approval) {
      if (kind === 'approve' && this.state.frozenBy && this.current && decision?.overrideFreeze === true) return this.validateOverride(decision);
      const frozen = this.state.frozenBy && kind === 'approve' ? `; ${this.environment} is frozen (${this.state.frozenBy.reason}): approve --override-freeze lets it go ahead` : '';
      throw new Error(`nothing waits for approval in ${this.environment}${frozen}`);
    }
    if (!decision || typeof decision.by !== 'string' || decision.by.trim() === '') throw new Error(`${kind} needs "by": the name of the person deciding`);
    const problem = messageProblem(approvalDecisionSchema, decision);
    if (problem) throw new Error(`invalid ${kind}: ${problem}`);
    if (decision.version !== undefined) {
      const matchesVersion = decision.version === approval.newVersion;
      const matchesCommit = decision.version.length >= 7 && approval.commit.sha.startsWith(decision.version);
      if (!matchesVersion && !matchesCommit) {
        throw new Error(`${this.environment} waits for approval of app ${approval.newVersion ?? '-'} (${short(approval.commit.sha)}), not ${decision.version}`);
      }
    }
    if (kind === 'approve' && !this.approvalPolicy?.allowSelfApproval) {
      const role = changeRoleOf(decision.by, this.current?.request ?? { commit: approval.commit });
      const did = { author: 'wrote', committer: 'committed', pusher: 'pushed' } as const;
      if (role) throw new Error(`${decision.by} ${did[role]} commit ${short(approval.commit.sha)} and may not approve it; ask someone else`);
    }
    const earlier = approval.approvals?.find((given) => samePerson(given.by, decision.by));
    if (kind === 'approve' && earlier) {
      const missing = approval.requiredApprovals! - approval.approvals!.length;
      throw new Error(`${earlier.by} has approved ${short(approval.commit.sha)} already; it needs ${missing} more approval${missing === 1 ? '' : 's'} from someone else`);
    }
  }

  /** Throws the reason an `approve --override-freeze` of a request held in phase Frozen would be refused. */
  private validateOverride(decision: ApprovalDecision): void {
    if (typeof decision.by !== 'string' || decision.by.trim() === '') throw new Error('approve needs "by": the name of the person deciding');
    const problem = messageProblem(approvalDecisionSchema, decision);
    if (problem) throw new Error(`invalid approve: ${problem}`);
    const { request } = this.current!;
    if (decision.version !== undefined) {
      const matches = decision.version === request.config?.appVersion || (decision.version.length >= 7 && request.commit.sha.startsWith(decision.version));
      if (!matches) throw new Error(`${this.environment} holds app ${request.config?.appVersion ?? '-'} (${short(request.commit.sha)}) in a freeze, not ${decision.version}`);
    }
    if (!this.approvalPolicy?.allowSelfApproval && !this.allowSelfOverride) {
      const role = changeRoleOf(decision.by, request);
      const did = { author: 'wrote', committer: 'committed', pusher: 'pushed' } as const;
      if (role) throw new Error(`${decision.by} ${did[role]} commit ${short(request.commit.sha)} and may not let it through the freeze; ask someone else`);
    }
  }

  /** The policy's allowSelfApproval for the request held in a freeze (set by the workflow with the freeze). */
  allowSelfOverride = false;

  /**
   * Takes an approve or reject. Where several approvals are required, an approval is recorded
   * and the gate opens with the last one needed; a rejection by anyone ends it.
   */
  decide(kind: 'approve' | 'reject', decision: ApprovalDecision, now?: Date): void {
    const approval = this.state.approval;
    if (kind === 'approve' && decision.overrideFreeze === true && this.current) {
      this.freezeOverride = { by: decision.by, comment: decision.comment };
      this.current.record.freezeOverriddenBy = decision.by;
      // Held in a freeze with no approval gate: the override is the whole decision.
      if (!approval) return;
    }
    if (kind === 'approve' && approval?.approvals) {
      approval.approvals.push({ by: decision.by, comment: decision.comment, at: (now ?? new Date()).toISOString() });
      if (approval.approvals.length < approval.requiredApprovals!) return;
    }
    this.decision = { kind, by: decision.by, comment: decision.comment };
    if (kind === 'approve' && this.current) {
      const everyone = approval?.approvals;
      this.current.record.approvedBy = everyone ? everyone.map((given) => given.by).join(', ') : decision.by;
      this.current.record.approvalComment = everyone ? everyone.filter((given) => given.comment).map((given) => `${given.by}: ${given.comment}`).join('; ') || undefined : decision.comment;
    }
  }

  /**
   * The freeze that holds a request starting now: `cfn-gitops freeze` (until it is lifted or its
   * `until` passes), else a freeze window of the policy; undefined when none does.
   */
  freezeAt(now: Date, windows: readonly FreezeWindow[] = []): FreezeState | undefined {
    const command = this.state.freeze;
    if (command?.until !== undefined && Date.parse(command.until) <= now.getTime()) this.state.freeze = undefined;
    if (this.state.freeze) return this.state.freeze;
    const window = activeFreeze(windows, this.environment, now);
    return window ? { source: 'window', reason: window.reason, until: window.until } : undefined;
  }

  /** The current request waits in phase Frozen. */
  holdFrozen(freeze: FreezeState): void {
    this.state.frozenBy = freeze;
    this.setPhase(DeployPhase.Frozen);
  }

  /** The current request is no longer held (the freeze ended or was overridden). */
  releaseFrozen(): void {
    delete this.state.frozenBy;
  }

  /** Throws the reason a freeze would be refused (Update validator). */
  validateFreeze(request: FreezeRequest, now: Date): void {
    const problem = messageProblem(freezeRequestSchema, request);
    if (problem) throw new Error(`invalid freeze: ${problem}`);
    if (request.until !== undefined) {
      const until = Date.parse(request.until);
      if (Number.isNaN(until)) throw new Error(`invalid freeze: until "${request.until}" is not an ISO-8601 time`);
      if (until <= now.getTime()) throw new Error(`invalid freeze: until ${request.until} has passed`);
    }
  }

  /** Freezes the environment (again: the newest reason and `until` count). */
  freeze(request: FreezeRequest, now: Date): string {
    const again = this.state.freeze !== undefined;
    this.state.freeze = {
      source: 'command',
      reason: request.reason.trim(),
      at: now.toISOString(),
      ...(request.by ? { by: request.by } : {}),
      ...(request.until ? { until: new Date(Date.parse(request.until)).toISOString() } : {}),
    };
    this.freezeChanges += 1;
    const running = this.current && this.state.phase !== DeployPhase.Frozen && this.state.phase !== DeployPhase.WaitingForApproval ? `; deployment #${this.current.record.number} runs on to its end` : '';
    return `${again ? 'frozen again' : 'frozen'}${request.by ? ` by ${request.by}` : ''}: ${this.state.freeze.reason}${this.state.freeze.until ? ` until ${this.state.freeze.until}` : ' until unfreeze'}${running}`;
  }

  /** Throws the reason an unfreeze would be refused (Update validator). */
  validateUnfreeze(request: unknown, now: Date): void {
    const problem = messageProblem(unfreezeRequestSchema, request);
    if (problem) throw new Error(`invalid unfreeze: ${problem}`);
    const command = this.state.freeze;
    if (!command || (command.until !== undefined && Date.parse(command.until) <= now.getTime())) throw new Error(`${this.environment} is not frozen`);
  }

  /** Lifts the freeze set by `cfn-gitops freeze`; freeze windows stay. */
  unfreeze(by?: string): string {
    this.state.freeze = undefined;
    this.freezeChanges += 1;
    const held = this.state.frozenBy?.source === 'command' && this.current ? `; deployment #${this.current.record.number} goes ahead` : '';
    return `unfrozen${by ? ` by ${by}` : ''}${held}`;
  }

  /** Throws when the request is malformed or there is nothing to cancel. */
  validateCancel(request: unknown): void {
    const problem = messageProblem(cancelRequestSchema, request);
    if (problem) throw new Error(`invalid cancel: ${problem}`);
    if (!this.current) throw new Error(`nothing runs or waits in ${this.environment}`);
  }

  cancel(by?: string, reason?: string): void {
    if (this.state.approval) this.decision = { kind: 'cancel', by, comment: reason };
    this.cancelRequested = { by, reason };
  }

  /** Ends a record with its result. */
  finish(record: DeploymentRecord, result: DeploymentResult, message: string, now: Date): void {
    record.result = result;
    record.message = message;
    record.endedAt = now.toISOString();
    if (!this.state.history.includes(record)) {
      this.state.history.unshift(record);
      this.state.history.length = Math.min(this.state.history.length, HISTORY_LIMIT);
    }
    if (record.number > 0) this.state.lastResult = record;
  }

  /** Ends the current request; on success it becomes what is applied. */
  finishCurrent(result: DeploymentResult, message: string, now: Date, deployedVersion?: string): void {
    const work = this.current!;
    this.finish(work.record, result, message, now);
    this.current = undefined;
    this.closeApproval();
    this.releaseFrozen();
    const { request } = work;
    if (result === DeploymentResult.Succeeded) {
      this.state.lastSuccessful = work.record;
      if (request.action === Action.Delete) {
        this.state.applied = undefined;
        this.state.deployedVersion = undefined;
        this.state.phase = DeployPhase.Deleted;
        this.state.sync = syncOnFinished(this.state.sync, { result, action: request.action, now: now.toISOString() });
        this.state.expiry = undefined;
        this.state.firstDeployedAt = undefined;
        if (request.expiring) this.markExpired(request.expiring, this.lastRequest?.config, now);
        return;
      }
      this.state.applied = { commit: request.commit.sha, generation: request.commit.generation, appVersion: request.config?.appVersion, at: now.toISOString() };
      // What is applied now decides when the environment expires; coming back clears the old expiry.
      // Environments deployed before this was kept count from their oldest version still listed.
      this.state.firstDeployedAt ??= this.state.successfulVersions.at(-1)?.at ?? now.toISOString();
      this.state.expiry = expiryOf(request.config, this.state.firstDeployedAt, now);
      this.state.expired = undefined;
      this.state.deployedVersion = deployedVersion ?? request.config?.appVersion;
      const version = { appVersion: this.state.deployedVersion!, commit: request.commit.sha, at: now.toISOString() };
      this.state.successfulVersions = [version, ...this.state.successfulVersions.filter((v) => v.appVersion !== version.appVersion)].slice(0, VERSIONS_LIMIT);
    }
    if (request.expiring && result !== DeploymentResult.Succeeded && this.state.expiry) {
      // Someone chose to keep it (rejected, cancelled): the next push decides again. Otherwise the delete is tried again in an hour.
      const kept = result === DeploymentResult.Rejected || result === DeploymentResult.Cancelled;
      this.state.expiry = kept ? undefined : { ...this.state.expiry, retryAt: new Date(now.getTime() + EXPIRY_RETRY_MS).toISOString() };
    }
    this.state.sync = syncOnFinished(this.state.sync, { result, action: request.action, now: now.toISOString(), desiredVersion: request.config?.appVersion, deployedVersion: this.state.deployedVersion });
    this.state.phase = this.pending ? DeployPhase.Queued : ({ Succeeded: DeployPhase.Idle, Failed: DeployPhase.Failed, Cancelled: DeployPhase.Cancelled, Rejected: DeployPhase.Rejected, Expired: DeployPhase.Expired, Superseded: DeployPhase.Idle } as const)[result];
  }

  /** A drift sweep's finding; a running deployment keeps its Progressing status. */
  recordSync(report: SyncReport): void {
    this.state.sync = syncOnCheck(report, this.current !== undefined);
    if (report.deployedVersion !== undefined && !this.current) this.state.deployedVersion = report.deployedVersion;
  }

  /** The last sync request taken, kept for self-heal. */
  lastRequest?: DesiredState;

  getState(): EnvironmentState & { location?: { stackPrefix: string; region?: string } } {
    // Where the stacks live (the newest request's prefix and region): the drift sweep finds them, and orphans, by it.
    const request = this.pending?.request ?? this.current?.request ?? this.lastRequest;
    return {
      ...this.state,
      current: this.current?.record,
      pending: this.pending?.record,
      ...(request ? { location: { stackPrefix: request.settings.stackPrefix, region: request.settings.region } } : {}),
    };
  }

  /** The pending request's full desired state, carried across continue-as-new. */
  pendingRequest(): DesiredState | undefined {
    return this.pending?.request;
  }
}

/**
 * Which of a change's people a person is (author, committer or pusher), or undefined. Names
 * and emails are compared without case; "Name <email>" counts as both.
 */
export function changeRoleOf(person: string, change: Pick<DesiredState, 'commit' | 'pushedBy'>): 'author' | 'committer' | 'pusher' | undefined {
  const mine = identitiesOf(person);
  const is = (...names: (string | undefined)[]) => names.some((name) => mine.has(normalized(name)));
  const { author, committer } = change.commit;
  if (is(author.name, author.email)) return 'author';
  if (committer && is(committer.name, committer.email)) return 'committer';
  if (is(change.pushedBy)) return 'pusher';
  return undefined;
}

const normalized = (value: string | undefined) => (value ?? '').trim().toLowerCase();

/** The names a person goes by in a message: the whole text, and for "Name <email>" the name and the email too. */
function identitiesOf(person: string): Set<string> {
  const mine = new Set([normalized(person)]);
  const named = /^(.*)<([^>]+)>\s*$/.exec(person);
  if (named) [named[1], named[2]].forEach((part) => mine.add(normalized(part)));
  mine.delete('');
  return mine;
}

/** Are two people named in messages the same one (by any name they go by)? */
export function samePerson(a: string, b: string): boolean {
  const theirs = identitiesOf(b);
  return [...identitiesOf(a)].some((name) => theirs.has(name));
}

function short(sha: string): string {
  return sha.slice(0, 7);
}
