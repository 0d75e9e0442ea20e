import { WithStartWorkflowOperation, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { mapLimit } from '../common/concurrency';
import { ORDER_CONFLICT, submitUpdate, stateQuery, WATCH_REFUSED, watchRequestUpdate, WorkflowType } from '../common/messages';
import { environmentWorkflowId, shortSha } from '../common/names';
import { plan as makePlan, type Plan, type PlannedEnvironment } from '../common/plan';
import { ENVIRONMENT } from '../common/search-attributes';
import { requestRecord } from '../common/sync';
import { DeployPhase, DeploymentResult, WatchOutcome, type Action, type EnvironmentState, type PhaseStep, type WatchAnswer } from '../common/types';
import { readPush, type GitReader } from './git';
import { checkOrder } from './order';
import { entryOutcome, startRollout, waitForRollout } from './rollout';
import { storeTemplates } from './templates';

/** How one environment fared in `start`. */
export interface StartEntry {
  environment: string;
  action: Action;
  workflowId: string;
  /**
   * `invalid` (config error), `error` (could not submit), the workflow's answer (`accepted`,
   * `duplicate`, `stale`, `expired`), or with --wait the final result (`Succeeded`, `Failed`, …;
   * a duplicate keeps its status unless the deployment it repeats failed).
   */
  status: string;
  reason: string;
  appVersion?: string;
  commit: string;
  message?: string;
  error?: string;
  /** For invalid configs: where to look. */
  file?: string;
  line?: number;
}

/** What `start` did for a push. */
export interface StartReport {
  before?: string;
  after: string;
  notes: string[];
  environments: StartEntry[];
}

/** Options of {@link startPush}. */
export interface StartOptions {
  client: Client;
  git: GitReader;
  taskQueue: string;
  push: { before?: string; after: string };
  /** The branch whose history decides "no going back" after a force push (default `main`). */
  branch?: string;
  /** Who pushed (the push event's pusher, `GITHUB_ACTOR` in Actions): they may not approve the change. */
  pushedBy?: string;
  /** Wait for every accepted deployment to end. */
  wait?: boolean;
  /** Called on each phase change while waiting. */
  onProgress?: (environment: string, phase: string, detail?: string) => void;
  /** How many environments are submitted at once. */
  concurrency?: number;
  /** Poll interval of --wait on an environment workflow whose build has no watch Update. */
  pollMs?: number;
}

/**
 * Reads the push from git, plans it and hands each environment's desired state to its
 * workflow with update-with-start, concurrently. A re-run of the same push is answered
 * `duplicate`; an older push arriving late, `stale`.
 * @example const report = await startPush({ client, git, taskQueue: 'cfn-gitops', push: { before, after } });
 */
export async function startPush(options: StartOptions): Promise<{ plan: Plan; report: StartReport }> {
  const plan = makePlan(await readPush(options.git, options.push));
  if (options.pushedBy) for (const planned of plan.environments) if (planned.desired) planned.desired.pushedBy = options.pushedBy;
  // An environment the previous push changed has taken that push's `after`, this one's `before`:
  // submitting as following it saves a round trip (the workflow still checks).
  const guess = plan.before && (await options.git.isAncestor(plan.before, plan.after)) ? plan.before : null;
  const unstored = await storeTemplates(options.client, options.taskQueue, plan.environments);
  if (plan.rollout) return { plan, report: await rollOut(options, { ...plan, rollout: plan.rollout }, guess, unstored) };
  const entries = await mapLimit(plan.environments, options.concurrency ?? 32, (planned) => submit(options, planned, plan.after, guess, unstored.get(planned)));
  if (options.wait) {
    // A duplicate is waited for too: a re-run of `start --wait` (CI re-running the job) while the
    // deployment runs or waits for approval ends when it does, with its outcome.
    await Promise.all(entries.map((entry) => (entry.status === 'accepted' || entry.status === 'duplicate' ? waitFor(options, entry) : Promise.resolve())));
  }
  return { plan, report: { before: plan.before, after: plan.after, notes: plan.notes, environments: entries } };
}

/**
 * With `waves:`: one rollout workflow submits the environments wave by wave; `start` reports
 * each environment's wave, and with --wait each one's end (Succeeded, Failed, Halted, …).
 */
async function rollOut(options: StartOptions, plan: Plan & { rollout: NonNullable<Plan['rollout']> }, guess: string | null, unstored: Map<PlannedEnvironment, string>): Promise<StartReport> {
  const { workflowId, notes } = await startRollout({ client: options.client, git: options.git, taskQueue: options.taskQueue, plan, follows: guess, unstored });
  const waveOf = new Map(plan.rollout.waves.flatMap((wave, index) => wave.map((environment) => [environment, index + 1] as const)));
  const waves = plan.rollout.waves.length;
  const entries: StartEntry[] = plan.environments.map((planned) => {
    const base = { environment: planned.environment, action: planned.action, workflowId: environmentWorkflowId(planned.environment), reason: planned.reason, commit: plan.after, appVersion: planned.desired?.config?.appVersion };
    if (!planned.desired) return { ...base, status: 'invalid', error: planned.error?.message, file: planned.error?.file, line: planned.error?.line };
    const problem = unstored.get(planned);
    if (problem) return { ...base, status: 'error', error: problem };
    return { ...base, status: 'rollout', message: `wave ${waveOf.get(planned.environment)} of ${waves} of ${workflowId}` };
  });
  if (options.wait) {
    try {
      const state = await waitForRollout(options.client, workflowId);
      for (const entry of entries) {
        const outcome = entryOutcome(state, entry.environment);
        if (!outcome || entry.status === 'invalid') continue;
        entry.status = outcome.status;
        entry.message = outcome.message;
        if (outcome.error) entry.error = outcome.error;
      }
    } catch (error) {
      for (const entry of entries) if (entry.status === 'rollout') lostTrack(entry, error);
    }
  }
  return { before: plan.before, after: plan.after, notes: [...plan.notes, ...notes], environments: entries };
}

async function submit(options: StartOptions, planned: PlannedEnvironment, after: string, guess: string | null, unstored?: string): Promise<StartEntry> {
  const workflowId = environmentWorkflowId(planned.environment);
  const base = {
    environment: planned.environment,
    action: planned.action,
    workflowId,
    reason: planned.reason,
    commit: after,
    appVersion: planned.desired?.config?.appVersion,
  };
  if (!planned.desired) {
    return { ...base, status: 'invalid', error: planned.error?.message, file: planned.error?.file, line: planned.error?.line };
  }
  if (unstored) return { ...base, status: 'error', error: unstored };
  // Compare-and-set: submit as following the guess; when the workflow answers that it has taken
  // another commit, check that one by git ancestry and submit again as following it.
  let follows: string | null = guess;
  let note: string | undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await options.client.workflow.executeUpdateWithStart(submitUpdate, {
        args: [{ ...planned.desired, follows }],
        startWorkflowOperation: new WithStartWorkflowOperation(WorkflowType.Environment, {
          workflowId,
          taskQueue: options.taskQueue,
          args: [{ environment: planned.environment }],
          workflowIdConflictPolicy: 'USE_EXISTING',
          typedSearchAttributes: [{ key: ENVIRONMENT, value: planned.environment }],
          staticSummary: `environment ${planned.environment}`,
          staticDetails: `Environment workflow of **${planned.environment}**: takes desired states from git main and runs one deployment at a time.`,
        }),
      });
      return { ...base, status: result.outcome, message: note ? `${result.message} (${note})` : result.message };
    } catch (error) {
      const newest = orderConflictOf(error);
      if (newest === undefined || attempt >= MAX_ORDER_ATTEMPTS) {
        return { ...base, status: 'error', error: `${planned.environment}: could not submit to ${workflowId}: ${(error as Error).message}` };
      }
      const verdict = await checkOrder(options.git, { environment: planned.environment, after, newest, branch: options.branch ?? 'main' });
      if (!verdict.ahead) return { ...base, status: 'stale', message: verdict.message };
      follows = newest;
      note = verdict.note;
    }
  }
}

/** Submits per environment before giving up on a workflow that keeps taking newer commits. */
const MAX_ORDER_ATTEMPTS = 5;

/** The newest commit an environment has taken, when its workflow refused a submit for it. */
function orderConflictOf(error: unknown): string | undefined {
  if (!(error instanceof WorkflowUpdateFailedError)) return undefined;
  const cause = error.cause;
  if (!(cause instanceof ApplicationFailure) || cause.type !== ORDER_CONFLICT) return undefined;
  const newest = cause.details?.[0];
  return typeof newest === 'string' ? newest : undefined;
}

/**
 * Waits for the entry's request to end on the deployment itself: the environment workflow's
 * watch Update answers when the request has ended and, when phases are printed, at each new
 * phase, so nothing is asked while nothing happens. A workflow on a build without the Update
 * refuses it, and is polled as before; so is one that has as many watches waiting as it allows.
 */
async function waitFor(options: StartOptions, entry: StartEntry): Promise<void> {
  const handle = options.client.workflow.getHandle(entry.workflowId);
  const follow = options.onProgress !== undefined;
  let seen = 0;
  for (;;) {
    let answer: WatchAnswer;
    try {
      answer = await handle.executeUpdate(watchRequestUpdate, { args: [{ commit: entry.commit, action: entry.action, ...(follow ? { seenPhases: seen } : {}) }] });
    } catch (error) {
      if (pollInstead(error)) return pollFor(options, entry);
      return lostTrack(entry, error);
    }
    for (const step of answer.phases) options.onProgress?.(entry.environment, step.phase, phaseDetail(entry, step));
    seen += answer.phases.length;
    if (answer.outcome === WatchOutcome.Ended) return settle(entry, answer.result!, answer.message);
    if (answer.outcome === WatchOutcome.Unknown) return requestGone(entry);
    // New phases, or the run continues as new: ask again (the next run answers).
  }
}

/**
 * Should the wait poll the state instead: is this the refusal of a workflow that has no handler
 * for the watch Update (a build before it: the SDK's plain failure, type `Error`), or of one
 * that has as many watches waiting as it allows (WATCH_BUSY)? Only WATCH_REFUSED says the watch
 * itself is wrong. Polling works on any build, so any other refusal is taken as one of those.
 */
function pollInstead(error: unknown): boolean {
  return error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure && error.cause.type !== WATCH_REFUSED;
}

function lostTrack(entry: StartEntry, error: unknown): void {
  const cause = error instanceof WorkflowUpdateFailedError && error.cause ? `: ${error.cause.message}` : '';
  entry.status = 'error';
  entry.error = `${entry.environment}: lost track of ${entry.workflowId}: ${(error as Error).message}${cause}`;
}

/** The workflow no longer lists the entry's request: a duplicate repeats one that ended long ago; anything else is lost. */
function requestGone(entry: StartEntry): void {
  if (entry.status === 'duplicate') return;
  entry.status = 'error';
  entry.error = `${entry.environment}: ${entry.workflowId} holds no ${entry.action} of ${shortSha(entry.commit)} any more`;
}

/**
 * The entry takes its request's result. A duplicate stays one when the deployment it repeats
 * succeeded or gave way to a newer one (nothing went wrong, and nothing new ran); it takes any
 * other end, so that a re-run reports a failure as the first run did.
 */
function settle(entry: StartEntry, result: DeploymentResult, message?: string): void {
  if (entry.status === 'duplicate' && (result === DeploymentResult.Succeeded || result === DeploymentResult.Superseded)) {
    entry.message = `${entry.message}; ${result}${message ? `: ${message}` : ''}`;
    return;
  }
  entry.status = result;
  entry.message = message;
  if (result === 'Failed') entry.error = message;
}

/** What a progress line says beside the phase: the pipeline execution once there is one, else the commit. */
function phaseDetail(entry: StartEntry, step: PhaseStep): string {
  return step.pipelineExecutionId ? `execution ${step.pipelineExecutionId}` : `commit ${shortSha(entry.commit)}`;
}

/** `--wait` on a workflow whose build has no watch Update: its state, queried every `pollMs`. */
async function pollFor(options: StartOptions, entry: StartEntry): Promise<void> {
  const handle = options.client.workflow.getHandle(entry.workflowId);
  let lastPhase = '';
  for (;;) {
    let state: EnvironmentState;
    try {
      state = await handle.query(stateQuery);
    } catch (error) {
      return lostTrack(entry, error);
    }
    const record = requestRecord(state, entry);
    if (!record) return requestGone(entry);
    if (record.result) return settle(entry, record.result, record.message);
    const phase = record === state.current ? state.phase : DeployPhase.Queued;
    if (phase !== lastPhase) {
      lastPhase = phase;
      options.onProgress?.(entry.environment, phase, phaseDetail(entry, { phase, pipelineExecutionId: record.pipelineExecutionId }));
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 1000));
  }
}
