import { isGrpcServiceError, type Client } from '@temporalio/client';
import { rolloutStateQuery, supersedeRolloutSignal, WorkflowType } from '../common/messages';
import { shortSha } from '../common/names';
import type { Plan, PlannedEnvironment } from '../common/plan';
import { hoistShared, RolloutStatus, rolloutWorkflowId, type RolloutInput, type RolloutMember, type RolloutState } from '../common/rollout';
import type { GitReader } from './git';

/** Where a rollout stands, for `status`: the wave running and how many there are. */
export interface RolloutProgress {
  workflowId: string;
  commit: string;
  wave: number;
  waves: number;
  /** The wave of each environment in it. */
  waveOf: Map<string, number>;
  /** When it started (visibility's start time). */
  startedAt?: number;
  /** Ended: the environments it halted, each with the reason. Absent while it runs. */
  halted?: Map<string, string>;
}

/** One line of a rollout's start, as `start` reports it (a subset of the starter's StartEntry). */
export interface RolloutEntryReport {
  environment: string;
  status: string;
  message?: string;
  error?: string;
}

/** The query of running rollouts, newest first. */
const RUNNING_ROLLOUTS = `WorkflowType = '${WorkflowType.Rollout}' AND ExecutionStatus = 'Running'`;
/** Ended rollouts `status` looks at for environments they halted: the newest few of the last week. */
const ENDED_ROLLOUTS_LIMIT = 5;
const ENDED_ROLLOUTS_WINDOW_MS = 7 * 86_400_000;

/**
 * Results of ended rollouts by run: they never change, and the server reads status every few
 * seconds, so each is fetched from history once. Bounded: only the newest few are ever asked for.
 */
const endedResults = new Map<string, RolloutState>();
const ENDED_RESULTS_CACHED = ENDED_ROLLOUTS_LIMIT * 10;

/** An ended rollout's result, from the cache or its history. */
async function endedResult(client: Client, workflowId: string, runId: string): Promise<RolloutState> {
  const key = `${workflowId} ${runId}`;
  const known = endedResults.get(key);
  if (known) return known;
  const state = (await client.workflow.getHandle(workflowId, runId).result()) as RolloutState;
  if (endedResults.size >= ENDED_RESULTS_CACHED) endedResults.delete(endedResults.keys().next().value!);
  endedResults.set(key, state);
  return state;
}

/** The push commit of a rollout workflow id, or undefined for other ids. */
function commitOf(workflowId: string): string | undefined {
  return /^cfn-gitops-rollout\/([0-9a-f]{40})$/.exec(workflowId)?.[1];
}

/**
 * Starts the rollout workflow of a push (`cfn-gitops-rollout/<sha>`; a re-run of the same push
 * finds the running one) after telling the rollouts of older pushes still running that this one
 * supersedes them. Older means an ancestor on git: a push arriving late does not halt a newer one.
 * @returns the rollout's workflow id and notes for the report.
 */
export async function startRollout(options: {
  client: Client;
  git: GitReader;
  taskQueue: string;
  plan: Plan & { rollout: NonNullable<Plan['rollout']> };
  /** The compare-and-set guess of every submit: the push's `before` when it is an ancestor. */
  follows: string | null;
  /** Why an environment's desired state could not be prepared (templates not stored). */
  unstored: Map<PlannedEnvironment, string>;
}): Promise<{ workflowId: string; notes: string[] }> {
  const { client, plan } = options;
  const byName = new Map(plan.environments.map((planned) => [planned.environment, planned]));
  const problemOf = (planned: PlannedEnvironment) =>
    planned.error ? `${planned.error.file}${planned.error.line ? `:${planned.error.line}` : ''}: ${planned.error.message}` : options.unstored.get(planned);
  const submittable = plan.environments.filter((planned) => !problemOf(planned));
  const { shared, members } = hoistShared(submittable.map((planned) => planned.desired!));
  const ownPart = new Map(submittable.map((planned, index) => [planned, members[index]!]));
  const member = (environment: string): RolloutMember => {
    const planned = byName.get(environment)!;
    const problem = problemOf(planned);
    return { environment, action: planned.action, follows: options.follows, ...(problem ? { error: problem } : { desired: ownPart.get(planned)! }) };
  };
  const input: RolloutInput = { commit: plan.after, waves: plan.rollout.waves.map((wave) => wave.map(member)), bakeMs: plan.rollout.bakeMs, shared };
  const oversize = tooLarge(input);
  if (oversize) throw oversize;
  const notes = await supersedeOlder(client, options.git, plan.after);
  const workflowId = rolloutWorkflowId(plan.after);
  try {
    await client.workflow.start(WorkflowType.Rollout, {
      workflowId,
      taskQueue: options.taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      staticSummary: `rollout of ${shortSha(plan.after)}: ${input.waves.length} wave(s), ${plan.environments.length} environment(s)`,
      staticDetails: input.waves.map((wave, index) => `wave ${index + 1}: ${wave.map((m) => m.environment).join(', ')}`).join('\n'),
    });
  } catch (error) {
    const refusal = sizeRefusal(error);
    throw refusal === undefined ? error : tooLarge(input, refusal)!;
  }
  notes.push(`rollout ${workflowId}: ${input.waves.map((wave, index) => `wave ${index + 1} ${wave.map((m) => m.environment).join(', ')}`).join('; ')}${input.bakeMs ? `; bake ${input.bakeMs / 1000}s between waves` : ''}`);
  return { workflowId, notes };
}

/** Temporal's default limit on one payload (the server's `limit.blobSize.error`; Temporal Cloud's too). */
const PAYLOAD_LIMIT_BYTES = 2 * 2 ** 20;
/** gRPC status codes of a refused size: the payload limit, and the frontend's message limit (4 MB) above it. */
const INVALID_ARGUMENT = 3;
const RESOURCE_EXHAUSTED = 8;

/**
 * The rollout's input is one payload, and Temporal refuses one over its limit: thousands of
 * environments, or tens with large parameters. Where the SDK says only "Failed to start
 * Workflow", this says how large, the limit, and what to do. Checked before anything happens
 * (an older rollout is not told it is superseded by one that cannot start), and from the
 * server's refusal where its limit is set lower.
 */
function tooLarge(input: RolloutInput, refusal?: string): Error | undefined {
  const bytes = Buffer.byteLength(JSON.stringify(input));
  if (refusal === undefined && bytes <= PAYLOAD_LIMIT_BYTES) return undefined;
  const members = input.waves.reduce((sum, wave) => sum + wave.length, 0);
  const size = `its input of ${members} environments is ${(bytes / 2 ** 20).toFixed(1)} MB`;
  return new Error(
    `rollout of ${shortSha(input.commit)}: ${refusal === undefined ? `${size}, above the ${PAYLOAD_LIMIT_BYTES / 2 ** 20} MB Temporal takes in one payload; nothing was started` : `${size}, and Temporal refused it (${refusal.replace(/\.$/, '')})`}: ` +
      `split the change over several pushes, or keep large values out of the environments' config.yaml (CloudFormation parameters from SSM, or an S3 object the template reads)`,
  );
}

/** Why the server refused a request for its size (its limit set lower than the default), or undefined. */
function sizeRefusal(error: unknown): string | undefined {
  const cause = (error as { cause?: unknown }).cause;
  if (!isGrpcServiceError(cause)) return undefined;
  const refused = (cause.code === INVALID_ARGUMENT && /blob data size exceeds limit/i.test(cause.details)) || (cause.code === RESOURCE_EXHAUSTED && /larger than max/i.test(cause.details));
  return refused ? cause.details : undefined;
}

/** Signals the running rollouts of older pushes that `after` supersedes them; notes what it did. */
async function supersedeOlder(client: Client, git: GitReader, after: string): Promise<string[]> {
  const notes: string[] = [];
  for await (const execution of client.workflow.list({ query: RUNNING_ROLLOUTS })) {
    const commit = commitOf(execution.workflowId);
    if (!commit || commit === after || !(await git.isAncestor(commit, after).catch(() => false))) continue;
    try {
      await client.workflow.getHandle(execution.workflowId).signal(supersedeRolloutSignal, { by: after });
      notes.push(`supersedes the rollout of ${shortSha(commit)} (${execution.workflowId})`);
    } catch (error) {
      notes.push(`could not supersede ${execution.workflowId}: ${(error as Error).message}`);
    }
  }
  return notes;
}

/**
 * `start --wait` of a rollout: waits for the rollout workflow's result and gives each
 * environment its end (Succeeded, Failed, Halted, …).
 */
export async function waitForRollout(client: Client, workflowId: string): Promise<RolloutState> {
  return client.workflow.getHandle(workflowId).result();
}

/** The status line of an environment in a rollout: `Halted`, `Failed`, …, or the deployment's error. */
export function entryOutcome(state: RolloutState, environment: string): RolloutEntryReport | undefined {
  const entry = state.entries.find((e) => e.environment === environment);
  if (!entry) return undefined;
  const failed = entry.status !== 'Succeeded' && entry.status !== RolloutStatus.Running && entry.status !== RolloutStatus.Waiting;
  const message = entry.message ?? entry.status;
  return { environment, status: entry.status, message: entry.message, ...(failed ? { error: message.startsWith(`${environment}:`) ? message : `${environment}: ${message}` } : {}) };
}

/**
 * The running rollouts and where they stand (one list and one query per running rollout,
 * usually none or one), for `status`'s `wave 2 of 3`. A rollout whose query fails is left out.
 */
export async function runningRollouts(client: Client): Promise<RolloutProgress[]> {
  const found: RolloutProgress[] = [];
  for await (const execution of client.workflow.list({ query: RUNNING_ROLLOUTS })) {
    try {
      const state = await client.workflow.getHandle(execution.workflowId).query(rolloutStateQuery);
      // Visibility may list a rollout that has just ended as running; its query says it is done.
      if (state.done) continue;
      found.push({ ...progressOf(execution.workflowId, state), startedAt: execution.startTime.getTime() });
    } catch {
      // A rollout ending between the list and the query has nothing to show.
    }
  }
  return found;
}

/**
 * The running rollouts and the newest few that ended in the last week (their result, read from
 * history: no worker needed), for `status`: `wave 2 of 3`, or `Halted` with the reason for an
 * environment a failed wave held back.
 */
export async function recentRollouts(client: Client, now = Date.now()): Promise<RolloutProgress[]> {
  const since = new Date(now - ENDED_ROLLOUTS_WINDOW_MS).toISOString();
  const query = `WorkflowType = '${WorkflowType.Rollout}' AND ExecutionStatus = 'Completed' AND CloseTime > '${since}'`;
  const ended: { workflowId: string; runId: string; startedAt: number }[] = [];
  for await (const execution of client.workflow.list({ query })) {
    ended.push({ workflowId: execution.workflowId, runId: execution.runId, startedAt: execution.startTime.getTime() });
    if (ended.length >= ENDED_ROLLOUTS_LIMIT * 4) break;
  }
  const newest = ended.sort((a, b) => b.startedAt - a.startedAt).slice(0, ENDED_ROLLOUTS_LIMIT);
  const [running, results] = await Promise.all([
    runningRollouts(client),
    Promise.all(
      newest.map(async ({ workflowId, runId, startedAt }) => {
        try {
          const state = await endedResult(client, workflowId, runId);
          const halted = new Map(state.entries.filter((e) => e.status === RolloutStatus.Halted).map((e) => [e.environment, e.message ?? state.haltReason ?? 'halted']));
          return { ...progressOf(workflowId, state), startedAt, halted };
        } catch {
          return undefined;
        }
      }),
    ),
  ]);
  return [...running, ...results.filter((r): r is NonNullable<typeof r> => r !== undefined)].sort((a, b) => (b.startedAt ?? 0) - (a.startedAt ?? 0));
}

function progressOf(workflowId: string, state: RolloutState): RolloutProgress {
  return { workflowId, commit: state.commit, wave: state.wave, waves: state.waves, waveOf: new Map(state.entries.map((e) => [e.environment, e.wave])) };
}
